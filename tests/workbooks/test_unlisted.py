"""An unlisted workbook (Workbook.listed off, by staff in the admin: the demo's examples) opens for
everyone from its link, and from a collection that holds it, but leaves every list, count, feed,
search and announcement, kept copies of pages included, at once; listed again, it is back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from search.models import Entry
from social import email_selectors
from social import selectors as social_selectors
from social import services as social_services
from social.models import Notification, Verb
from tests.accounts.helpers import api_client_for
from tests.factories import (
    BROWSER,
    PUBLIC_EMBED,
    CollectionFactory,
    FeaturedFactory,
    ModeratorFactory,
    UserFactory,
    WorkbookFactory,
)
from tests.workbooks.markup import page
from tests.workbooks.places import (
    PLACES,
    TITLE,
    everywhere,
    finance_count,
    public_places,
    warm_readers,
)
from tests.workbooks.test_admin import WORKBOOKS_URL, split, workbook_form
from workbooks import selectors, services
from workbooks.cache import depends_on
from workbooks.demo import DEMO_UNLISTED
from workbooks.models import Workbook

# Where an unlisted workbook stays: a collection is its owner's pick, opened from its link too.
STILL_SHOWN = {"collection"}


def unlisted_places() -> dict[str, bool]:
    return {place: place in STILL_SHOWN for place in PLACES}


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", full_name="Ada Lovelace")


@pytest.fixture
def workbook(ada, django_capture_on_commit_callbacks) -> Workbook:
    """The places' workbook (tests.workbooks.places): Ada's "Revenue by region" (finance), featured,
    trending, beside her "Revenue forecast" (finance), in a public collection of someone else's."""
    with django_capture_on_commit_callbacks(execute=True):
        shown = WorkbookFactory(author=ada, title=TITLE, tags=["finance"], trending_score=5.0)
        WorkbookFactory(author=ada, title="Revenue forecast", tags=["finance"])
    FeaturedFactory(workbook=shown)
    CollectionFactory(owner=UserFactory(username="curious"), slug="picks", workbooks=[shown])
    return shown


@pytest.fixture
def moderator_client(db) -> Client:
    client = Client()
    client.force_login(ModeratorFactory(username="mod"))
    return client


def set_listed(client, workbook, listed: bool, capture) -> None:
    """Through the admin's change form, as staff do it."""
    form = workbook_form(workbook)
    form.pop("listed", None)
    if listed:
        form["listed"] = "on"
    with capture(execute=True):  # the related lists are made again once committed
        response = client.post(f"{WORKBOOKS_URL}{workbook.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    workbook.refresh_from_db()
    assert workbook.listed is listed


def test_unlisted_in_the_admin_it_leaves_every_list_at_once_kept_copies_included(
    workbook, moderator_client, django_capture_on_commit_callbacks
):
    visitor, member = warm_readers()

    set_listed(moderator_client, workbook, False, django_capture_on_commit_callbacks)

    assert public_places(visitor) == unlisted_places()
    assert public_places(member) == unlisted_places()
    assert finance_count() == 1
    # Still opened from its link, by anyone, on the site and in the API.
    for client in (visitor, member):
        assert client.get(workbook.get_absolute_url(), HTTP_USER_AGENT=BROWSER).status_code == 200
        assert client.get(f"/api/v1/workbooks/{workbook.pk}/").status_code == 200


def test_listed_again_it_is_back_everywhere(
    workbook, moderator_client, django_capture_on_commit_callbacks
):
    visitor = Client()
    set_listed(moderator_client, workbook, False, django_capture_on_commit_callbacks)
    assert public_places(visitor) == unlisted_places()  # kept so

    set_listed(moderator_client, workbook, True, django_capture_on_commit_callbacks)

    assert public_places(visitor) == everywhere(True)
    assert finance_count() == 2


def kept_page_tokens(workbook) -> dict[str, str] | None:
    """The tokens the kept copies of the workbook's page and its author's profile are kept with."""
    return depends_on(("workbook", workbook.pk), ("user", workbook.author_id))


@pytest.mark.parametrize("listed", [False, True])
def test_unlisted_or_listed_again_in_the_admin_its_page_and_its_authors_are_kept_afresh(
    listed, workbook, moderator_client, django_capture_on_commit_callbacks
):
    # The admin copies the form's values onto the workbook before saving it: the change is still
    # told from the stored one, so the copies that show the workbook or its author are retired.
    if listed:
        services.update_workbook(workbook, listed=False)
    before = kept_page_tokens(workbook)

    set_listed(moderator_client, workbook, listed, django_capture_on_commit_callbacks)

    after = kept_page_tokens(workbook)
    assert before is not None
    assert after is not None
    assert {key for key in before if before[key] != after[key]} == set(before)


def featuring_row(**fields) -> dict:
    return {
        "featurings-TOTAL_FORMS": 1,
        "featurings-0-position": 7,
        "featurings-0-starts_at_0": "2026-01-01",
        "featurings-0-starts_at_1": "00:00:00",
    } | {f"featurings-0-{name}": value for name, value in fields.items()}


@pytest.mark.parametrize("unlisted_before", [True, False])
def test_the_admin_refuses_to_feature_an_unlisted_workbook_on_its_own_page(
    unlisted_before, workbook, admin_client
):
    # Unlisted already, or unlisted in the same submission: either way the rail would never show it.
    if unlisted_before:
        services.update_workbook(workbook, listed=False)
    workbook.refresh_from_db()
    form = workbook_form(workbook) | featuring_row(note="Again")
    form.pop("listed", None)

    response = admin_client.post(f"{WORKBOOKS_URL}{workbook.pk}/change/", form)

    assert response.status_code == 200
    assert "Only a published, listed workbook can be featured" in response.content.decode()
    assert not workbook.featurings.filter(note="Again").exists()
    workbook.refresh_from_db()
    assert workbook.listed is not unlisted_before  # nothing of the refused submission is saved


def kept_featuring_row(entry) -> dict:
    """The workbook admin page's Featured inline holding `entry`, as the page sends it back."""
    return {
        "featurings-TOTAL_FORMS": 1,
        "featurings-INITIAL_FORMS": 1,
        "featurings-0-id": entry.pk,
        "featurings-0-workbook": entry.workbook_id,
        "featurings-0-position": entry.position,
        "featurings-0-starts_at_0": split(entry.starts_at)[0],
        "featurings-0-starts_at_1": split(entry.starts_at)[1],
    }


def test_a_featured_workbook_can_still_be_unlisted_in_the_admin_its_entry_left_as_it_is(
    workbook, admin_client, django_capture_on_commit_callbacks
):
    entry = workbook.featurings.get()
    form = (
        workbook_form(workbook)
        | kept_featuring_row(entry)
        | {
            # What the page holds of its start as loaded (its default is a callable: the admin keeps it).
            "initial-featurings-0-starts_at_0": split(entry.starts_at)[0],
            "initial-featurings-0-starts_at_1": split(entry.starts_at)[1],
            "featurings-0-note": entry.note,
        }
    )
    form.pop("listed")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{WORKBOOKS_URL}{workbook.pk}/change/", form)

    assert response.status_code == 302, response.context["errors"]
    workbook.refresh_from_db()
    assert not workbook.listed
    assert workbook not in selectors.featured_workbooks()


def test_an_unlisted_workbooks_featured_entry_can_be_deleted_in_the_admin(
    workbook, admin_client, django_capture_on_commit_callbacks
):
    services.update_workbook(workbook, listed=False)
    workbook.refresh_from_db()
    entry = workbook.featurings.get()
    form = (
        workbook_form(workbook)
        | kept_featuring_row(entry)
        | {
            "featurings-0-DELETE": "on",
        }
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{WORKBOOKS_URL}{workbook.pk}/change/", form)

    assert response.status_code == 302, response.context["errors"]
    assert not workbook.featurings.exists()


def test_the_featured_lists_form_refuses_an_unlisted_workbook(workbook, admin_client):
    services.update_workbook(workbook, listed=False)

    response = admin_client.post(
        "/admin/workbooks/featured/add/",
        {"workbook": workbook.pk, "position": 7, "starts_at_0": "2026-01-01",
         "starts_at_1": "00:00:00", "note": "Again"},
    )  # fmt: skip

    assert response.status_code == 200
    assert "workbook" in response.context["adminform"].form.errors
    assert not workbook.featurings.filter(note="Again").exists()


def robots(response) -> list[str]:
    return [meta.attrs["content"] for meta in page(response).find_all("meta", name="robots")]


def test_its_page_asks_search_engines_not_to_index_it(workbook, ada):
    # The same for every reader (so for the copy kept for visitors too) and its author alike.
    member, author = Client(), Client()
    member.force_login(UserFactory(username="someone"))
    author.force_login(ada)
    assert robots(Client().get(workbook.get_absolute_url(), HTTP_USER_AGENT=BROWSER)) == []

    services.update_workbook(workbook, listed=False)

    for client in (Client(), member, author):
        response = client.get(workbook.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 200
        assert robots(response) == ["noindex"]


def test_it_leaves_the_featured_rail_trending_and_the_api_featured_list(
    workbook, django_capture_on_commit_callbacks
):
    assert workbook in selectors.featured_workbooks()
    assert workbook in selectors.trending()
    with django_capture_on_commit_callbacks(execute=True):
        services.update_workbook(workbook, listed=False)

    assert workbook not in selectors.featured_workbooks()
    assert workbook not in selectors.trending()
    assert workbook not in selectors.latest()
    featured = Client().get("/api/v1/featured/").json()["results"]
    assert TITLE not in [row["title"] for row in featured]
    # Nor can it be featured again while unlisted: the rail would never show it.
    workbook.refresh_from_db()
    assert services.feature([workbook], UserFactory(username="cur")) == []


def test_its_words_suggest_no_correction_and_its_only_tag_has_no_page(
    workbook, ada, django_capture_on_commit_callbacks
):
    lone = WorkbookFactory(author=ada, title="Quokka census", tags=["marsupials"])
    assert selectors.did_you_mean("quoka") == "quokka"
    with django_capture_on_commit_callbacks(execute=True):
        services.update_workbook(lone, listed=False)

    assert selectors.did_you_mean("quoka") == ""
    assert Client().get("/tags/marsupials/").status_code == 404
    assert "marsupials" not in [tag.slug for tag in selectors.popular_tags()]
    tags = Client().get("/api/v1/tags/").json()["results"]
    assert "marsupials" not in [tag["slug"] for tag in tags]


def test_its_author_sees_it_on_their_profile_marked_unlisted_and_nobody_else_does(
    workbook, ada, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_workbook(workbook, listed=False)
    author = Client()
    author.force_login(ada)

    own = page(author.get("/u/ada/", HTTP_USER_AGENT=BROWSER))
    cards = [card for card in own.find_all("article") if "wb-card" in card.classes]
    marked = [card for card in cards if card.find_all(data_testid="unlisted-badge")]
    assert [card.find("h3").text for card in marked] == [TITLE]
    assert len(cards) == 2  # and the listed one, unmarked
    # The collection that holds it shows it to everyone, without the author's badge.
    collection = Client().get("/u/curious/c/picks/", HTTP_USER_AGENT=BROWSER).content.decode()
    assert TITLE in collection
    assert 'data-testid="unlisted-badge"' not in collection


def test_its_author_is_not_offered_to_pin_it_and_a_pin_from_before_leaves_the_profile(
    workbook, ada, django_capture_on_commit_callbacks
):
    author = Client()
    author.force_login(ada)
    assert author.post(f"{workbook.get_absolute_url()}pin/").status_code == 302
    ada.refresh_from_db()
    assert selectors.pinned(ada) == [workbook]
    with django_capture_on_commit_callbacks(execute=True):
        services.update_workbook(workbook, listed=False)

    assert selectors.pinned(ada) == []
    own_page = author.get(workbook.get_absolute_url(), HTTP_USER_AGENT=BROWSER).content.decode()
    assert "Pin to profile" not in own_page
    assert "Unpin from profile" not in own_page
    assert author.post(f"{workbook.get_absolute_url()}pin/").status_code == 404


def test_an_unlisted_workbook_is_announced_to_no_follower_nor_shown_in_their_feed(
    ada, django_capture_on_commit_callbacks
):
    follower = UserFactory(username="fan")
    social_services.follow(follower, ada)

    with django_capture_on_commit_callbacks(execute=True):
        unlisted = services.create_workbook(
            ada, title="Demo only", embed_url=PUBLIC_EMBED.format("DemoOnly01"),
            status=Workbook.Status.PUBLISHED, listed=False,
        )  # fmt: skip
        listed = WorkbookFactory(author=ada, title="For everyone")

    told = Notification.objects.filter(recipient=follower, verb=Verb.PUBLISHED)
    assert [n.workbook_id for n in told] == [listed.pk]
    assert [row.workbook_id for row in social_selectors.feed_for(follower)] == [listed.pk]
    assert unlisted.pk not in social_selectors.unfinished_fan_outs(
        published_after=unlisted.published_at.replace(year=2000),
        published_before=unlisted.published_at.replace(year=2100),
    )


def test_it_may_be_favorited_from_its_page_but_no_favorites_list_shows_it(workbook, ada):
    fan = UserFactory(username="fan")
    services.update_workbook(workbook, listed=False)
    social_services.favorite(fan, workbook)  # from its page, which opens from its link
    social_services.favorite(fan, Workbook.objects.get(title="Revenue forecast"))

    api = Client().get("/api/v1/users/fan/favorites/").json()["results"]
    shown = Client().get("/u/fan/favorites/", HTTP_USER_AGENT=BROWSER)

    assert [row["title"] for row in api] == ["Revenue forecast"]
    assert shown.status_code == 200
    assert "Revenue forecast" in shown.content.decode()
    assert TITLE not in shown.content.decode()


def test_the_weekly_digest_tells_of_no_unlisted_workbook(ada):
    follower = UserFactory(username="fan")
    social_services.follow(follower, ada)
    listed = WorkbookFactory(author=ada, title="For everyone")
    unlisted = WorkbookFactory(author=ada, title="Demo only")
    services.update_workbook(unlisted, listed=False)
    next_week = email_selectors.week_of(listed.published_at) + timedelta(days=7)

    told = email_selectors.digest_workbooks(follower, next_week, limit=10)

    assert told == [listed]


def test_authors_cannot_list_or_unlist_through_the_api_or_the_edit_form(workbook, ada):
    api = api_client_for(ada).patch(
        f"/api/v1/workbooks/{workbook.pk}/", {"listed": False}, format="json"
    )
    assert api.status_code == 200
    assert "listed" not in api.json()
    author = Client()
    author.force_login(ada)
    author.post(
        f"{workbook.get_absolute_url()}edit/",
        {"title": TITLE, "embed_url": workbook.embed_url, "description": "", "tags": "finance",
         "status": "published", "listed": ""},
    )  # fmt: skip
    workbook.refresh_from_db()
    assert workbook.listed


def test_the_admin_shows_filters_and_lists_by_it(workbook, moderator_client):
    services.update_workbook(workbook, listed=False)

    unlisted = moderator_client.get(f"{WORKBOOKS_URL}?listed__exact=0")
    everyone = moderator_client.get(WORKBOOKS_URL)

    assert [w.title for w in unlisted.context["cl"].result_list] == [TITLE]
    assert "listed" in everyone.context["cl"].list_display
    change = moderator_client.get(f"{WORKBOOKS_URL}{workbook.pk}/change/").content.decode()
    assert 'name="listed"' in change
    # Staff are told what unlisting does not do: a draft is what keeps a workbook from everyone.
    assert "Unlisted is not private: anyone with the link opens it" in change
    assert "make it a draft" in change


@pytest.mark.postgres
def test_its_search_entry_leaves_the_index_range_and_comes_back(
    workbook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_workbook(workbook, listed=False)
    assert Entry.objects.get(workbook=workbook).published_at is None
    assert not list(selectors.search(selectors.Search(query="region")))

    with django_capture_on_commit_callbacks(execute=True):
        services.update_workbook(workbook, listed=True)
    assert Entry.objects.get(workbook=workbook).published_at == workbook.published_at


# --- The demo -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_seeds_its_failing_example_unlisted_and_unlists_it_in_an_older_demo(settings):
    settings.DEBUG = True  # seed_demo refuses to make known-password accounts otherwise
    call_command("seed_demo", verbosity=0)
    examples = Workbook.objects.filter(title__in=DEMO_UNLISTED)
    assert {"A workbook that fails to load"} == DEMO_UNLISTED
    assert [w.listed for w in examples] == [False]
    assert not Workbook.objects.listed().filter(title__in=DEMO_UNLISTED).exists()
    assert Workbook.objects.listed().count() == Workbook.objects.count() - 1
    # A demo database seeded before examples were unlisted is brought up to date by a re-run.
    services.update_workbook(examples.get(), listed=True)

    call_command("seed_demo", verbosity=0)

    assert [w.listed for w in Workbook.objects.filter(title__in=DEMO_UNLISTED)] == [False]
    home = Client().get("/", HTTP_USER_AGENT=BROWSER).content.decode()
    assert "A workbook that fails to load" not in home
    example = examples.get()
    assert example.slug == "a-workbook-that-fails-to-load"  # the address the README gives
    assert Client().get(example.get_absolute_url(), HTTP_USER_AGENT=BROWSER).status_code == 200
