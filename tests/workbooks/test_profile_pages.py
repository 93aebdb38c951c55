"""The profile page: pinned workbooks first, links, organisation and location, the counts; the
author's drafts with a Draft badge and a Drafts tab that nobody else sees; the settings form that
edits them. Profiles are kept and shared (docs/page-caching.md): a change shows at once, and no
copy others get holds a draft."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from tests.factories import BROWSER, ModeratorFactory, UserFactory, WorkbookFactory
from workbooks import services
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db

BADGE = '<span class="badge badge--draft">Draft</span>'


@pytest.fixture(autouse=True)
def _one_minute(one_minute):
    """Kept copies are keyed by the minute: the test sees one."""


@pytest.fixture
def ada():
    return UserFactory(username="ada", full_name="Ada Lovelace")


def visit(url: str, client: Client | None = None):
    response = (client or Client()).get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200, url
    return response.content.decode()


def update(user, **fields):
    names = {"full_name": user.full_name, "bio": user.bio, "website": user.website}
    return account_services.update_profile(user, **(names | fields))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pinned_section(page: str) -> str:
    match = re.search(r'<section aria-labelledby="pinned-title">(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


# --- What the profile shows ------------------------------------------------------------------------


def test_pinned_workbooks_come_first_in_the_order_pinned(ada):
    older, newer, _unpinned = (WorkbookFactory(author=ada, title=f"Engine {n}") for n in "ABC")
    update(ada, pinned_workbook_ids=[older.pk, newer.pk])

    page = visit("/u/ada/")

    pinned = pinned_section(page)
    assert pinned.index("Engine A") < pinned.index("Engine B")
    assert "Engine C" not in pinned
    assert page.index('id="pinned-title"') < page.index('id="published-title"')


def test_without_pins_there_is_no_pinned_section(ada):
    WorkbookFactory(author=ada)

    assert 'id="pinned-title"' not in visit("/u/ada/")


def test_links_organisation_and_location_are_shown_with_rel_me(ada):
    update(
        ada,
        website="https://ada.example",
        organisation="Analytical Engines Ltd",
        location="London",
        links=[
            {"kind": "github", "url": "https://github.com/ada"},
            {"kind": "bluesky", "url": "https://bsky.app/profile/ada.example"},
        ],
    )

    page = visit("/u/ada/")

    assert "Analytical Engines Ltd" in page
    assert "London" in page
    links = re.findall(r'<a href="([^"]+)"\s+rel="([^"]+)"', page)
    rels = dict(links)
    for url in (
        "https://ada.example",
        "https://github.com/ada",
        "https://bsky.app/profile/ada.example",
    ):
        assert {"me", "noopener"} <= set(rels[url].split()), url
    assert ">GitHub</a>" in page
    assert ">Bluesky</a>" in page


def test_the_header_counts_published_workbooks_followers_following_and_favorites(ada):
    for _ in range(3):
        WorkbookFactory(author=ada)
    WorkbookFactory(author=ada, status="draft")
    WorkbookFactory(author=UserFactory())

    counts = re.search(r'<ul class="profile__counts".*?</ul>', visit("/u/ada/"), re.S).group(0)

    text = re.sub(r"<[^>]+>|\s+", " ", counts)
    assert (
        re.sub(r"\s+", " ", text).split()
        == "3 workbooks 0 followers 0 following 0 favorites".split()
    )


def test_the_count_is_of_all_published_workbooks_on_every_page(ada):
    for _ in range(30):
        WorkbookFactory(author=ada)

    first = visit("/u/ada/")
    second = visit("/u/ada/?page=2")

    assert "<strong>30</strong> workbooks" in first
    assert "<strong>30</strong> workbooks" in second
    assert 'id="pinned-title"' not in second


@pytest.mark.parametrize("reader", ["visitor", "member"])
def test_a_new_pin_or_link_shows_at_once_to_readers_of_the_kept_copy(ada, reader):
    workbook = WorkbookFactory(author=ada, title="Difference engine")
    client = Client() if reader == "visitor" else signed_in(UserFactory())
    for _ in range(3):  # made, then kept (a member's copy from their second miss on)
        assert "Difference engine" not in pinned_section(visit("/u/ada/", client))

    update(ada, pinned_workbook_ids=[workbook.pk])
    assert "Difference engine" in pinned_section(visit("/u/ada/", client))

    update(ada, links=[{"kind": "github", "url": "https://github.com/ada"}])
    assert "https://github.com/ada" in visit("/u/ada/", client)

    update(ada, pinned_workbook_ids=[])
    assert 'id="pinned-title"' not in visit("/u/ada/", client)


def test_a_pinned_workbook_unpublished_leaves_the_kept_copy(ada):
    workbook = WorkbookFactory(author=ada, title="Difference engine")
    update(ada, pinned_workbook_ids=[workbook.pk])
    assert "Difference engine" in visit("/u/ada/")

    services.update_workbook(workbook, status="draft")

    assert "Difference engine" not in visit("/u/ada/")


# --- Drafts in plain sight, to their author alone ----------------------------------------------------


def test_the_authors_own_profile_badges_their_drafts_and_only_them(ada):
    WorkbookFactory(author=ada, title="Published engine")
    WorkbookFactory(author=ada, title="Secret engine", status="draft")

    page = visit("/u/ada/", signed_in(ada))

    assert page.count(BADGE) == 1
    draft_card = re.search(
        r'<article class="wb-card">((?:(?!</article>).)*Secret engine.*?)</article>', page, re.S
    )
    assert BADGE in draft_card.group(1)
    assert '<a href="/u/ada/drafts/"' in page


@pytest.mark.parametrize("reader", ["visitor", "member", "moderator"])
def test_nobody_else_sees_a_draft_or_a_badge_even_after_the_author_looked(ada, reader):
    WorkbookFactory(author=ada, title="Published engine")
    WorkbookFactory(author=ada, title="Secret engine", status="draft")
    client = {
        "visitor": Client(),
        "member": signed_in(UserFactory()),
        "moderator": signed_in(ModeratorFactory()),
    }[reader]
    author = signed_in(ada)

    for _ in range(3):  # the author first each time: nothing of theirs may reach a kept copy
        visit("/u/ada/", author)
        page = visit("/u/ada/", client)
        assert "Secret engine" not in page
        assert BADGE not in page
        assert "/u/ada/drafts/" not in page
        assert "Published engine" in page


@pytest.mark.parametrize("url", ["/u/ada/favorites/", "/u/ada/followers/", "/u/ada/following/"])
def test_the_drafts_tab_shows_on_no_kept_profile_list_others_get(ada, url):
    author, visitor, member = signed_in(ada), Client(), signed_in(UserFactory())

    for _ in range(3):
        visit(url, author)
        assert "/u/ada/drafts/" not in visit(url, visitor)
        assert "/u/ada/drafts/" not in visit(url, member)


def test_the_drafts_tab_lists_the_authors_drafts_last_changed_first(ada):
    WorkbookFactory(author=ada, title="Published engine")
    WorkbookFactory(author=ada, title="Older draft", status="draft")
    WorkbookFactory(author=ada, title="Newer draft", status="draft")
    WorkbookFactory(author=UserFactory(), title="Someone else's draft", status="draft")

    page = visit("/u/ada/drafts/", signed_in(ada))

    assert page.index("Newer draft") < page.index("Older draft")
    assert page.count(BADGE) == 2
    assert "Published engine" not in page
    assert "Someone else" not in page
    assert 'aria-current="page">Drafts</a>' in page


@pytest.mark.parametrize("reader", ["visitor", "member", "moderator"])
def test_the_drafts_tab_is_a_404_to_anyone_but_its_author(ada, reader):
    WorkbookFactory(author=ada, title="Secret engine", status="draft")
    client = {
        "visitor": Client(),
        "member": signed_in(UserFactory()),
        "moderator": signed_in(ModeratorFactory()),
    }[reader]

    response = client.get("/u/ada/drafts/", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 404
    assert "Secret engine" not in response.content.decode()


def test_the_drafts_tab_under_another_spelling_of_the_name_redirects(ada):
    response = signed_in(ada).get("/u/ADA/drafts/")

    assert response.status_code == 301
    assert response["Location"] == "/u/ada/drafts/"


def test_the_drafts_tab_is_paged(ada):
    for n in range(30):
        WorkbookFactory(author=ada, title=f"Draft {n:02d}", status="draft")
    client = signed_in(ada)

    first = visit("/u/ada/drafts/", client)
    older = re.search(r'href="\?([^"]+)">Older', first).group(1).replace("&amp;", "&")
    second = visit(f"/u/ada/drafts/?{older}", client)

    assert first.count(BADGE) == 24
    assert second.count(BADGE) == 6


# --- Query counts --------------------------------------------------------------------------------


def grow(ada, total: int) -> None:
    """Published workbooks up to `total` (half of them ada's) and one more draft of ada's."""
    have = Workbook.objects.filter(status="published").count()
    for n in range(have, total):
        WorkbookFactory(author=ada if n % 2 else UserFactory())
    WorkbookFactory(author=ada, status="draft")


def queries(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, HTTP_USER_AGENT=BROWSER).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize(
    ("url", "who", "expected"),
    [
        # The member, read again after its token; a page of their workbooks with the count; the pins.
        ("/u/ada/", "visitor", 4),
        # The member signed in, the member shown, the page with the count, the pins, the drafts.
        ("/u/ada/", "author", 5),
        # The member signed in, a page of their drafts.
        ("/u/ada/drafts/", "author", 2),
    ],
)
def test_a_profile_with_pins_and_the_drafts_tab_cost_the_same_for_3_and_30_workbooks(
    ada, url, who, expected
):
    client = Client()
    if who == "author":
        client.force_login(ada)
        client.get("/settings/")  # the session's first page: its cached copy is vouched for
    grow(ada, 6)
    update(
        ada,
        pinned_workbook_ids=list(
            ada.workbooks.filter(status="published").values_list("pk", flat=True)[:3]
        ),
    )
    few = queries(client, url)
    grow(ada, 30)
    many = queries(client, url)

    assert len(few) == len(many) == expected, "\n".join(many)


# --- Editing the profile in the settings ------------------------------------------------------------


def profile_form(user, **fields) -> dict:
    return {
        "full_name": user.full_name,
        "bio": "",
        "website": "",
        "organisation": "",
        "location": "",
    } | fields


def test_the_settings_form_saves_links_and_pins_in_the_order_chosen(ada):
    first, second = (
        WorkbookFactory(author=ada, title="First"),
        WorkbookFactory(author=ada, title="Second"),
    )
    client = signed_in(ada)

    response = client.post(
        "/settings/",
        profile_form(
            ada,
            organisation="Analytical Engines Ltd",
            location="London",
            link_github="github.com/ada",
            pin_1=second.pk,
            pin_2="",
            pin_3=first.pk,
        ),
    )

    assert response.status_code == 302, response.content.decode()
    ada.refresh_from_db()
    assert (ada.organisation, ada.location) == ("Analytical Engines Ltd", "London")
    assert ada.links == [{"kind": "github", "url": "https://github.com/ada"}]
    assert ada.pinned_workbook_ids == [second.pk, first.pk]
    page = visit("/settings/", client)
    assert 'value="https://github.com/ada"' in page
    assert re.search(rf'<option value="{second.pk}" selected>Second</option>', page)


def test_the_settings_form_offers_only_the_members_published_workbooks_to_pin(ada):
    WorkbookFactory(author=ada, title="Mine, published")
    WorkbookFactory(author=ada, title="Mine, a draft", status="draft")
    WorkbookFactory(author=UserFactory(), title="Someone else's")

    page = visit("/settings/", signed_in(ada))

    assert "Mine, published" in page
    assert "Mine, a draft" not in page
    assert "Someone else" not in page


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("a GitHub link elsewhere", "A GitHub link is an address on github.com."),
        ("an http link", "Use an address starting with https://."),
        ("the same pin twice", "Pin each workbook once."),
        ("someone else's pin", "Select a valid choice."),
    ],
)
def test_the_settings_form_refuses_bad_links_and_pins_and_saves_nothing(ada, case, message):
    mine, theirs = WorkbookFactory(author=ada), WorkbookFactory(author=UserFactory())
    fields = {
        "a GitHub link elsewhere": {"link_github": "https://gitlab.com/ada"},
        "an http link": {"link_x": "http://x.com/ada"},
        "the same pin twice": {"pin_1": mine.pk, "pin_2": mine.pk},
        "someone else's pin": {"pin_1": theirs.pk},
    }[case]

    response = signed_in(ada).post("/settings/", profile_form(ada, location="Paris", **fields))

    assert response.status_code == 400
    assert message in response.content.decode()
    ada.refresh_from_db()
    assert (ada.location, ada.links, ada.pinned_workbook_ids) == ("", [], [])


# --- "Pin to profile" on the author's own workbook ------------------------------------------------


def test_the_author_pins_and_unpins_from_their_workbooks_page(ada):
    workbook = WorkbookFactory(author=ada, title="Difference engine")
    client = signed_in(ada)
    url = workbook.get_absolute_url()
    assert ">Pin to profile</button>" in visit(url, client)

    response = client.post(f"/w/{workbook.slug}/pin/")

    assert response.status_code == 302
    assert response["Location"] == url
    ada.refresh_from_db()
    assert ada.pinned_workbook_ids == [workbook.pk]
    page = visit(url, client)
    assert "Pinned to your profile." in page
    assert ">Unpin from profile</button>" in page
    assert "Difference engine" in pinned_section(visit("/u/ada/"))

    client.post(f"/w/{workbook.slug}/pin/", {"pinned": "0"})

    ada.refresh_from_db()
    assert ada.pinned_workbook_ids == []
    assert 'id="pinned-title"' not in visit("/u/ada/")


def test_a_fourth_pin_is_refused_with_a_reason(ada):
    pinned = [WorkbookFactory(author=ada) for _ in range(3)]
    update(ada, pinned_workbook_ids=[workbook.pk for workbook in pinned])
    fourth = WorkbookFactory(author=ada)

    response = signed_in(ada).post(f"/w/{fourth.slug}/pin/")

    assert response.status_code == 400
    assert "You have pinned 3 workbooks already: unpin one first." in response.content.decode()
    ada.refresh_from_db()
    assert ada.pinned_workbook_ids == [workbook.pk for workbook in pinned]


def test_a_pin_no_longer_published_makes_room_for_a_new_one(ada):
    pinned = [WorkbookFactory(author=ada) for _ in range(3)]
    update(ada, pinned_workbook_ids=[workbook.pk for workbook in pinned])
    services.update_workbook(pinned[0], status="draft")
    fourth = WorkbookFactory(author=ada)

    assert signed_in(ada).post(f"/w/{fourth.slug}/pin/").status_code == 302

    ada.refresh_from_db()
    assert ada.pinned_workbook_ids == [pinned[1].pk, pinned[2].pk, fourth.pk]


@pytest.mark.parametrize("whose", ["someone else's", "a draft of mine"])
def test_someone_elses_workbook_or_a_draft_cannot_be_pinned(ada, whose):
    workbook = (
        WorkbookFactory(author=UserFactory())
        if whose == "someone else's"
        else WorkbookFactory(author=ada, status="draft")
    )

    response = signed_in(ada).post(f"/w/{workbook.slug}/pin/")

    assert response.status_code == 404
    ada.refresh_from_db()
    assert ada.pinned_workbook_ids == []


def test_only_the_author_sees_the_pin_button(ada):
    workbook = WorkbookFactory(author=ada)
    draft = WorkbookFactory(author=ada, status="draft")

    assert "Pin to profile" not in visit(workbook.get_absolute_url())
    assert "Pin to profile" not in visit(workbook.get_absolute_url(), signed_in(ModeratorFactory()))
    assert "Pin to profile" not in visit(draft.get_absolute_url(), signed_in(ada))
