"""The gallery's HTML pages: home, explore, a workbook, an author, a tag; publishing, editing, deleting."""

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from tests.factories import (
    BROWSER,
    PRIVATE_WORKBOOK,
    FeaturedFactory,
    ModeratorFactory,
    UserFactory,
    WorkbookFactory,
)
from tests.workbooks.markup import page, parse
from workbooks import services
from workbooks.models import Tag, Workbook

# The short embed secret of the tests would be too weak for a real deployment, and PyJWT says so.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
SANDBOX = {
    "allow-scripts",
    "allow-same-origin",
    "allow-popups",
    "allow-popups-to-escape-sandbox",
    "allow-downloads",
}


def card_titles(element) -> list[str]:
    return [title.text.strip() for title in element.find_all("h3", class_="wb-card__title")]


def section(response, labelled_by: str):
    return page(response).find("section", aria_labelledby=labelled_by)


def sections(response) -> set[str]:
    return {element.attrs.get("aria-labelledby") for element in page(response).find_all("section")}


# --- Home ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_home_page_shows_the_open_featured_picks_in_curated_order(client):
    now = timezone.now()
    FeaturedFactory(position=3, workbook__title="Third pick")
    FeaturedFactory(position=1, workbook__title="First pick", note="Look at the maps.")
    FeaturedFactory(position=2, workbook__title="Second pick")
    FeaturedFactory(
        position=0,
        workbook__title="Ended pick",
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=1),
    )
    FeaturedFactory(position=0, workbook__title="Future pick", starts_at=now + timedelta(hours=1))
    FeaturedFactory(position=0, workbook__title="Draft pick", workbook__status="draft")

    response = client.get("/")

    assert response.status_code == 200
    spotlight = section(response, "wotd-title")
    assert spotlight.find("h3").text == "First pick"
    assert spotlight.find("blockquote").text == "Look at the maps."
    assert card_titles(section(response, "featured-title")) == ["Second pick", "Third pick"]


@pytest.mark.django_db
def test_a_pick_whose_window_closed_leaves_the_home_page(client):
    now = timezone.now()
    FeaturedFactory(
        workbook__title="Yesterday's pick",
        starts_at=now - timedelta(days=1),
        ends_at=now - timedelta(seconds=1),
    )

    response = client.get("/")

    assert {"wotd-title", "featured-title"}.isdisjoint(sections(response))
    assert card_titles(section(response, "latest-title")) == ["Yesterday's pick"]


@pytest.mark.django_db
def test_the_home_page_shows_trending_workbooks_by_score(client):
    WorkbookFactory(title="Warm", trending_score=3.5)
    WorkbookFactory(title="Hot", trending_score=12)
    WorkbookFactory(title="Cold", trending_score=0)
    WorkbookFactory(title="Hidden", trending_score=50, status="draft")

    response = client.get("/")

    assert card_titles(section(response, "trending-title")) == ["Hot", "Warm"]


@pytest.mark.django_db
def test_the_home_page_shows_the_twelve_latest_workbooks_newest_first(client, user):
    now = timezone.now()
    for days in range(13):
        WorkbookFactory(title=f"Day {days}", published_at=now - timedelta(days=days))
    WorkbookFactory(author=user, title="A draft", status="draft")

    response = client.get("/")

    assert card_titles(section(response, "latest-title")) == [f"Day {n}" for n in range(12)]
    assertNotContains(response, "A draft")
    assert "trending-title" not in sections(response)


@pytest.mark.django_db
def test_the_home_page_invites_to_publish(client, user):
    anonymous = client.get("/")
    client.force_login(user)
    member = client.get("/")

    assertContains(anonymous, 'href="/accounts/signup/"')
    assertContains(member, 'href="/w/new/"')
    assertContains(anonymous, 'href="/feeds/latest/"')


# --- Explore ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_explore_searches_and_filters_by_tag(client, user):
    WorkbookFactory(author=user, title="Revenue by region", tags=["finance"])
    WorkbookFactory(author=user, title="Revenue forecast", tags=["sales"])
    WorkbookFactory(author=user, title="Churn", tags=["finance"])

    by_query = client.get("/explore/", {"q": "revenue"})
    by_tag = client.get("/explore/", {"tag": "finance"})
    both = client.get("/explore/", {"q": "revenue", "tag": "finance"})

    results = "results-title"
    assert set(card_titles(section(by_query, results))) == {"Revenue by region", "Revenue forecast"}
    assert set(card_titles(section(by_tag, results))) == {"Revenue by region", "Churn"}
    assert card_titles(section(both, results)) == ["Revenue by region"]
    tag_option = page(by_tag).find("select", id="explore-tag").find("option", value="finance")
    assert "selected" in tag_option.attrs


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        pytest.param("", ["Newest", "Most viewed", "Most loved", "Trendy"], id="latest"),
        pytest.param("latest", ["Newest", "Most viewed", "Most loved", "Trendy"], id="latest"),
        pytest.param("views", ["Most viewed", "Most loved", "Trendy", "Newest"], id="views"),
        pytest.param(
            "favorites", ["Most loved", "Trendy", "Most viewed", "Newest"], id="favorites"
        ),
        pytest.param("trending", ["Trendy", "Newest", "Most loved", "Most viewed"], id="trending"),
        pytest.param("bogus", ["Newest", "Most viewed", "Most loved", "Trendy"], id="unknown sort"),
    ],
)
@pytest.mark.django_db
def test_explore_sorts(client, sort, expected):
    now = timezone.now()
    WorkbookFactory(title="Trendy", trending_score=9, favorite_count=2, view_count=3,
                    published_at=now - timedelta(days=4))  # fmt: skip
    WorkbookFactory(title="Most loved", trending_score=1, favorite_count=9, view_count=4,
                    published_at=now - timedelta(days=3))  # fmt: skip
    WorkbookFactory(title="Most viewed", trending_score=0.5, favorite_count=1, view_count=90,
                    published_at=now - timedelta(days=2))  # fmt: skip
    WorkbookFactory(title="Newest", trending_score=2, published_at=now - timedelta(days=1))

    # `sort=` (the default) is redirected to the clean address first.
    response = client.get("/explore/", {"sort": sort}, follow=True)

    assert card_titles(section(response, "results-title")) == expected


@pytest.mark.django_db
def test_explore_pages_by_24(client, user):
    now = timezone.now()
    for n in range(30):
        WorkbookFactory(author=user, title=f"Revenue {n:02}", published_at=now - timedelta(hours=n))

    first = client.get("/explore/", {"q": "revenue", "sort": "latest"})
    second = client.get("/explore/", {"q": "revenue", "sort": "latest", "page": "2"})

    assert card_titles(section(first, "results-title")) == [f"Revenue {n:02}" for n in range(24)]
    assert card_titles(section(second, "results-title")) == [
        f"Revenue {n:02}" for n in range(24, 30)
    ]
    first_pager = page(first).find("nav", class_="pager")
    second_pager = page(second).find("nav", class_="pager")
    assert [link.attrs["rel"] for link in first_pager.find_all("a")] == ["next"]
    assert first_pager.find("a").attrs["href"] == "?q=revenue&sort=latest&page=2"
    assert [link.attrs["rel"] for link in second_pager.find_all("a")] == ["prev"]
    assert second_pager.find("a").attrs["href"] == "?q=revenue&sort=latest&page=1"


@pytest.mark.django_db
def test_explore_shows_no_pager_for_one_page_and_answers_a_bad_page_number_with_a_400(client):
    WorkbookFactory(title="Only one")

    response = client.get("/explore/", {"page": "1"})
    bad = client.get("/explore/", {"page": "not-a-number"})
    beyond = client.get("/explore/", {"page": "50"})

    assert card_titles(section(response, "results-title")) == ["Only one"]
    assert bad.status_code == 400
    assert "The page must be a number." in bad.content.decode()
    assert page(response).find_all("nav", class_="pager") == []
    assert beyond.status_code == 200
    assert card_titles(section(beyond, "results-title")) == []


@pytest.mark.django_db
def test_explore_lists_people_only_for_a_search(client):
    UserFactory(username="ada", full_name="Ada Lovelace")

    browsing = client.get("/explore/")
    searching = client.get("/explore/", {"q": "ada"})

    assert "people-title" not in sections(browsing)
    assert section(searching, "people-title").find_all("a", href="/u/ada/")


# --- A workbook's page -----------------------------------------------------------------------------


@pytest.fixture
def public(user):
    return WorkbookFactory(
        author=user,
        title="Quarterly revenue",
        description="Revenue per **region** and quarter.",
        embed_url="https://app.sigmacomputing.com/embed/1-Quarterly01?theme=dark",
        tags=["finance", "regions"],
    )


def lazy_frame(response):
    """The frame the page's script loads when near the viewport (not the <noscript> fallback)."""
    [frame] = [f for f in page(response).find_all("iframe") if "data-src" in f.attrs]
    return frame


@pytest.mark.django_db
def test_a_workbook_page_frames_a_public_embed_lazily_in_a_sandbox(client, public):
    response = client.get(public.get_absolute_url())

    assert response.status_code == 200
    frame = lazy_frame(response)
    assert "src" not in frame.attrs
    assert frame.attrs["data-src"] == (
        "https://app.sigmacomputing.com/embed/1-Quarterly01?responsive_height=true&theme=dark"
    )
    assert set(frame.attrs["sandbox"].split()) == SANDBOX
    assert frame.attrs["referrerpolicy"] == "strict-origin-when-cross-origin"
    embed = page(response).find("section", class_="embed")
    assert embed.attrs["data-origins"] == "https://app.sigmacomputing.com"
    assert "data-expires-at" not in embed.attrs


@pytest.mark.django_db
def test_a_workbook_page_has_open_graph_and_twitter_meta(client, public):
    response = client.get(public.get_absolute_url())

    document = page(response)
    meta = {
        element.attrs.get("property") or element.attrs.get("name"): element.attrs["content"]
        for element in document.find_all("meta")
        if "content" in element.attrs
    }
    url = "http://testserver/w/quarterly-revenue/"
    assert meta["og:type"] == "article"
    assert meta["og:title"] == meta["twitter:title"] == "Quarterly revenue"
    assert (
        meta["og:description"] == meta["twitter:description"] == "Revenue per region and quarter."
    )
    assert meta["og:url"] == url
    assert meta["twitter:card"] == "summary"
    assert "robots" not in meta
    assert document.find("link", rel="canonical").attrs["href"] == url


@pytest.mark.django_db
def test_a_workbook_page_offers_its_link_and_an_embed_snippet(client, public):
    response = client.get(public.get_absolute_url())

    document = page(response)
    assert document.find("input", id="share-link").attrs["value"] == (
        "http://testserver/w/quarterly-revenue/"
    )
    [snippet] = parse(document.find("textarea", id="embed-snippet").text).find_all("iframe")
    assert snippet.attrs["src"] == "https://app.sigmacomputing.com/embed/1-Quarterly01?theme=dark"
    assert snippet.attrs["title"] == "Quarterly revenue"


@pytest.mark.django_db
def test_a_private_workbook_is_shared_as_a_link_not_a_frame(client, user):
    workbook = WorkbookFactory(author=user, title="Plan", embed_url=PRIVATE_WORKBOOK)

    response = client.get(workbook.get_absolute_url())

    snippet = parse(page(response).find("textarea", id="embed-snippet").text)
    assert snippet.find_all("iframe") == []
    assert snippet.find("a").attrs["href"] == f"http://testserver{workbook.get_absolute_url()}"


@pytest.mark.django_db
def test_a_workbook_page_shows_its_counts_tags_and_description(client, user):
    workbook = WorkbookFactory(
        author=user,
        description="Revenue per **region**.",
        tags=["finance"],
        view_count=12,
        favorite_count=1,
        comment_count=0,
    )

    response = client.get(workbook.get_absolute_url())

    document = page(response)
    counts = document.find("p", class_="workbook__counts").text
    assert counts == "12 views · 1 favorite · 0 comments"
    assert [tag.attrs["href"] for tag in document.find_all("a", class_="tag")] == ["/tags/finance/"]
    assert document.find("div", class_="prose").find("strong").text == "region"


@pytest.mark.django_db
def test_a_workbook_page_suggests_published_workbooks_sharing_the_most_tags(
    client, user, django_capture_on_commit_callbacks
):
    # Suggestions are computed by a task on commit of each change (tests/workbooks/test_related.py).
    with django_capture_on_commit_callbacks(execute=True):
        workbook = WorkbookFactory(
            author=user, title="Main", tags=["finance", "saas", "forecasting"]
        )
        WorkbookFactory(title="Shares one", tags=["finance"])
        WorkbookFactory(title="Shares three", tags=["forecasting", "saas", "finance", "extra"])
        WorkbookFactory(title="Shares two", tags=["saas", "finance"])
        WorkbookFactory(title="Shares none", tags=["transport"])
        WorkbookFactory(title="Shares as a draft", tags=["finance"], status="draft")

    response = client.get(workbook.get_absolute_url())

    related = section(response, "related-title")
    assert card_titles(related) == ["Shares three", "Shares two", "Shares one"]


@pytest.mark.django_db
def test_a_workbook_page_without_tags_suggests_nothing(client, user):
    workbook = WorkbookFactory(author=user)
    WorkbookFactory()

    response = client.get(workbook.get_absolute_url())

    assert "related-title" not in sections(response)


@pytest.mark.django_db
def test_a_workbook_page_counts_a_browser_view(client, public, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.get(public.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(public.get_absolute_url(), HTTP_USER_AGENT=BROWSER)

    public.refresh_from_db()
    assert public.view_count == 1


@pytest.mark.django_db
def test_an_unknown_workbook_is_a_404(client):
    assert client.get("/w/no-such-workbook/").status_code == 404


@pytest.mark.django_db
def test_the_author_and_staff_see_edit_and_delete_links(client, public, other_user, staff, curator):
    links = {"/w/quarterly-revenue/edit/", "/w/quarterly-revenue/delete/"}

    def hrefs():
        return {
            a.attrs.get("href") for a in page(client.get(public.get_absolute_url())).find_all("a")
        }

    assert links.isdisjoint(hrefs())
    client.force_login(other_user)
    assert links.isdisjoint(hrefs())
    client.force_login(public.author)
    assert links <= hrefs()
    client.force_login(staff)
    assert links <= hrefs()
    client.force_login(curator)
    assert links.isdisjoint(hrefs())


# --- Drafts ----------------------------------------------------------------------------------------


@pytest.fixture
def draft(user):
    return WorkbookFactory(author=user, title="Secret plan", status="draft")


@pytest.mark.django_db
def test_a_draft_is_a_404_to_anonymous_visitors_and_outsiders(client, draft, other_user):
    anonymous = client.get(draft.get_absolute_url())
    client.force_login(other_user)
    outsider = client.get(draft.get_absolute_url())

    assert anonymous.status_code == 404
    assert outsider.status_code == 404
    assertNotContains(outsider, "Secret plan", status_code=404)


@pytest.mark.parametrize("who", ["author", "moderator", "superuser"])
@pytest.mark.django_db
def test_a_draft_is_visible_to_its_author_and_moderators(client, draft, who):
    viewers = {
        "author": lambda: draft.author,
        "moderator": ModeratorFactory,
        "superuser": lambda: UserFactory(is_staff=True, is_superuser=True),
    }
    client.force_login(viewers[who]())

    response = client.get(draft.get_absolute_url())

    assert response.status_code == 200
    assertContains(response, "Draft: only you can see it")
    assert page(response).find("meta", name="robots").attrs["content"] == "noindex"
    assert "share-title" not in sections(response)


# --- Signed and unsigned frames --------------------------------------------------------------------


@pytest.fixture
def private(user, superuser):
    """A workbook URL that staff have approved for secure embedding."""
    workbook = WorkbookFactory(author=user, title="Sales plan", embed_url=PRIVATE_WORKBOOK)
    services.approve_secure_embed({workbook.pk: workbook.embed_url}, superuser)
    workbook.refresh_from_db()
    return workbook


def claims_of(src: str) -> tuple[dict, dict]:
    token = dict(parse_qsl(urlsplit(src).query))[":jwt"]
    return jwt.get_unverified_header(token), jwt.decode(token, "s3cret", algorithms=["HS256"])


def card(response):
    return page(response).find("section", class_="embed--card")


@pytest.mark.django_db
def test_a_private_workbook_is_framed_through_a_url_signed_for_the_viewer(
    client, secure_embedding, private, other_user
):
    client.force_login(other_user)

    first = client.get(private.get_absolute_url())
    second = client.get(private.get_absolute_url())

    src = lazy_frame(first).attrs["data-src"]
    assert src.startswith(f"{PRIVATE_WORKBOOK}?")
    header, claims = claims_of(src)
    assert header["kid"] == "client"
    assert claims["sub"] == f"member-{other_user.pk}@embed.playground.example"
    assert claims["iss"] == "client"
    assert 0 < claims["exp"] - claims["iat"] <= 30 * 24 * 3600
    _, again = claims_of(lazy_frame(second).attrs["data-src"])
    assert again["jti"] != claims["jti"]
    for response in (first, second):
        directives = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives
    embed = page(first).find("section", class_="embed")
    assert embed.attrs["data-refresh-url"] == f"/api/v1/workbooks/{private.pk}/embed/"
    assert int(embed.attrs["data-expires-at"]) == claims["exp"]


@pytest.mark.django_db
def test_a_private_workbook_shows_anonymous_visitors_an_open_in_sigma_card(
    client, secure_embedding, private
):
    response = client.get(private.get_absolute_url())

    assert page(response).find_all("iframe") == []
    assert ":jwt" not in response.content.decode()
    assert "Sign in to view it here." in card(response).text
    assert card(response).find("a", class_="button").attrs["href"] == PRIVATE_WORKBOOK


@pytest.mark.django_db
def test_a_guest_email_signs_frames_for_anonymous_visitors(
    client, secure_embedding, settings, private
):
    settings.SIGMA_EMBED_GUEST_EMAIL = "guest@example.com"

    response = client.get(private.get_absolute_url())

    _, claims = claims_of(lazy_frame(response).attrs["data-src"])
    assert claims["sub"] == "guest@example.com"


@pytest.mark.django_db
def test_without_embed_credentials_a_private_workbook_is_a_card(client, private, other_user):
    client.force_login(other_user)

    response = client.get(private.get_absolute_url())

    assert page(response).find_all("iframe") == []
    assert "private to its Sigma organisation" in card(response).text
    assert card(response).find("a", class_="button").attrs["href"] == PRIVATE_WORKBOOK
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_a_workbook_whose_host_is_no_longer_allowed_is_a_card_not_an_error(
    client, public, settings
):
    settings.SIGMA_EMBED_HOSTS = ["app.eu.sigmacomputing.com"]

    response = client.get(public.get_absolute_url())

    assert response.status_code == 200
    assert page(response).find_all("iframe") == []
    assert "no longer shows workbooks from its Sigma host" in card(response).text


@pytest.mark.django_db
def test_a_public_embed_is_never_signed(client, secure_embedding, public, other_user):
    client.force_login(other_user)

    response = client.get(public.get_absolute_url())

    assert ":jwt" not in lazy_frame(response).attrs["data-src"]
    assert "no-store" not in response.get("Cache-Control", "")


# --- An author's page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_author_page_lists_their_published_workbooks_newest_first(client, user):
    now = timezone.now()
    WorkbookFactory(author=user, title="Older", published_at=now - timedelta(days=2))
    WorkbookFactory(author=user, title="Newer", published_at=now - timedelta(days=1))
    WorkbookFactory(title="Someone else's")

    response = client.get("/u/owner/")

    assert card_titles(section(response, "published-title")) == ["Newer", "Older"]
    alternate = page(response).find("link", rel="alternate")
    assert alternate.attrs["href"] == "/feeds/u/owner/"


@pytest.mark.parametrize("typed", ["OWNER", "Owner"])
@pytest.mark.django_db
def test_an_author_page_redirects_another_case_to_the_username(client, user, typed):
    assertRedirects(client.get(f"/u/{typed}/"), "/u/owner/", status_code=301)


@pytest.mark.django_db
def test_an_author_page_shows_drafts_to_their_owner_only(client, draft, other_user, staff):
    anonymous = client.get("/u/owner/")
    client.force_login(other_user)
    outsider = client.get("/u/owner/")
    client.force_login(staff)
    staffer = client.get("/u/owner/")
    client.force_login(draft.author)
    owner = client.get("/u/owner/")

    assert card_titles(section(owner, "drafts-title")) == ["Secret plan"]
    for response in (anonymous, outsider, staffer):
        assert "drafts-title" not in sections(response)
        assertNotContains(response, "Secret plan")


@pytest.mark.django_db
def test_an_author_page_is_a_404_for_an_unknown_or_deactivated_member(client):
    UserFactory(username="gone", is_active=False)

    assert client.get("/u/nobody/").status_code == 404
    assert client.get("/u/gone/").status_code == 404


# --- Tag pages -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tag_page_lists_the_published_workbooks_with_that_tag(client, user):
    WorkbookFactory(author=user, title="Tagged", tags=["Finance"])
    WorkbookFactory(author=user, title="Tagged too", tags=["finance", "sales"])
    WorkbookFactory(author=user, title="Draft tagged", tags=["finance"], status="draft")
    WorkbookFactory(author=user, title="Other tag", tags=["sales"])

    response = client.get("/tags/finance/")

    assert response.status_code == 200
    assert page(response).find("h1").text.strip() == "Workbooks tagged Finance"
    assert card_titles(page(response)) == ["Tagged too", "Tagged"]
    assert page(response).find("link", rel="alternate").attrs["href"] == "/feeds/tags/finance/"


@pytest.mark.django_db
def test_an_unknown_tag_is_a_404(client):
    assert client.get("/tags/nothing/").status_code == 404


# --- Publishing ------------------------------------------------------------------------------------


def form_data(**overrides):
    return {
        "title": "Cloud spend by team",
        "embed_url": "https://app.sigmacomputing.com/embed/1-CloudSpend04",
        "description": "Where the bill goes.",
        "tags": "finance, FinOps",
        "status": "published",
    } | overrides


def field_errors(response, name: str) -> list[str]:
    errors = page(response).find_all("div", id=f"id_{name}_error")
    return [p.text for error in errors for p in error.find_all("p")]


@pytest.mark.django_db
def test_publishing_needs_a_signed_in_member(client):
    get = client.get("/w/new/")
    post = client.post("/w/new/", form_data())

    assertRedirects(get, "/accounts/login/?next=/w/new/")
    assertRedirects(post, "/accounts/login/?next=/w/new/")
    assert not Workbook.objects.exists()


@pytest.mark.django_db
def test_a_member_publishes_a_workbook(client, user):
    client.force_login(user)

    response = client.post("/w/new/", form_data(), follow=True)

    workbook = Workbook.objects.get()
    assertRedirects(response, "/w/cloud-spend-by-team/")
    assert workbook.author == user
    assert workbook.status == "published"
    assert sorted(tag.name for tag in workbook.tags.all()) == ["FinOps", "finance"]
    assertContains(response, "“Cloud spend by team” is published.")


@pytest.mark.django_db
def test_a_member_saves_a_draft(client, user):
    client.force_login(user)

    response = client.post("/w/new/", form_data(status="draft"), follow=True)

    assert Workbook.objects.get().status == "draft"
    assertContains(response, "is saved as a draft. Only you can see it.")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param("embed_url", "https://evil.example/embed/1-CloudSpend04",
                     "The URL must be on app.sigmacomputing.com", id="another host"),
        pytest.param("embed_url", "http://app.sigmacomputing.com/embed/1-CloudSpend04",
                     "The URL must start with https://", id="http"),
        pytest.param("embed_url", "https://app.sigmacomputing.com/settings",
                     "This is not the address of a Sigma workbook", id="not a workbook"),
        pytest.param("title", "", "This field is required.", id="empty title"),
        pytest.param("tags", ", ".join(f"t{n}" for n in range(9)), "Use at most 8 tags.",
                     id="too many tags"),
        pytest.param("tags", "fine, <b>", "is not a valid tag", id="invalid tag"),
    ],
)  # fmt: skip
@pytest.mark.django_db
def test_an_invalid_form_is_a_400_with_the_error_by_its_field(client, user, field, value, message):
    client.force_login(user)

    response = client.post("/w/new/", form_data(**{field: value}))

    assert response.status_code == 400
    [error] = field_errors(response, field)
    assert message in error
    field_input = page(response).find(id=f"id_{field}")
    assert f"id_{field}_error" in field_input.attrs["aria-describedby"]
    assert not Workbook.objects.exists()


@pytest.mark.django_db
def test_a_bad_sigma_url_error_shows_what_a_good_one_looks_like(client, user):
    client.force_login(user)

    response = client.post("/w/new/", form_data(embed_url="https://example.com/x"))

    [error] = field_errors(response, "embed_url")
    assert "https://app.sigmacomputing.com/embed/" in error


@pytest.mark.django_db
def test_the_form_says_before_saving_that_only_public_embeds_are_framed(client, user):
    client.force_login(user)

    response = client.get("/w/new/")

    help_text = page(response).find(id="id_embed_url_helptext").text
    assert "A public embed link (https://app.sigmacomputing.com/embed/…) shows the workbook" in (
        help_text
    )
    assert "shows as a card that opens it in Sigma" in help_text
    assert "no secure-embed credentials" in help_text


@pytest.mark.django_db
def test_the_form_says_private_urls_are_signed_when_credentials_are_set(
    client, user, secure_embedding
):
    client.force_login(user)

    response = client.get("/w/new/")

    help_text = page(response).find(id="id_embed_url_helptext").text
    assert "signed embed for each viewer" in help_text
    assert "no secure-embed credentials" not in help_text


# --- Editing ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_author_edits_a_workbook_and_its_address_stays(client, public):
    client.force_login(public.author)

    form = client.get("/w/quarterly-revenue/edit/")
    response = client.post(
        "/w/quarterly-revenue/edit/", form_data(title="Revenue per quarter", tags="sales")
    )

    assert page(form).find("input", id="id_tags").attrs["value"] == "finance, regions"
    assertRedirects(response, "/w/quarterly-revenue/")
    public.refresh_from_db()
    assert public.title == "Revenue per quarter"
    assert [tag.name for tag in public.tags.all()] == ["sales"]


@pytest.mark.django_db
def test_staff_may_edit_any_workbook(client, public, staff):
    client.force_login(staff)

    response = client.post("/w/quarterly-revenue/edit/", form_data(title="Fixed by staff"))

    assertRedirects(response, "/w/quarterly-revenue/")
    public.refresh_from_db()
    assert public.title == "Fixed by staff"
    assert public.author.username == "owner"


@pytest.mark.django_db
def test_an_invalid_edit_is_a_400_and_changes_nothing(client, public):
    client.force_login(public.author)

    response = client.post("/w/quarterly-revenue/edit/", form_data(title=""))

    assert response.status_code == 400
    assert field_errors(response, "title") == ["This field is required."]
    public.refresh_from_db()
    assert public.title == "Quarterly revenue"


@pytest.mark.parametrize("status", ["published", "draft"])
@pytest.mark.django_db
def test_an_outsider_cannot_edit_or_delete_someone_elses_workbook(client, user, other_user, status):
    workbook = WorkbookFactory(author=user, title="Mine", status=status)
    client.force_login(other_user)
    base = workbook.get_absolute_url()

    responses = [
        client.get(f"{base}edit/"),
        client.post(f"{base}edit/", form_data(title="Hijacked")),
        client.get(f"{base}delete/"),
        client.post(f"{base}delete/"),
    ]

    assert [response.status_code for response in responses] == [404] * 4
    workbook.refresh_from_db()
    assert workbook.title == "Mine"


@pytest.mark.parametrize("status", ["published", "draft"])
@pytest.mark.django_db
def test_a_curator_cannot_edit_or_delete_someone_elses_workbook(client, user, curator, status):
    workbook = WorkbookFactory(author=user, title="Mine", status=status)
    client.force_login(curator)
    base = workbook.get_absolute_url()

    responses = [
        client.get(f"{base}edit/"),
        client.post(f"{base}edit/", form_data(title="Curated")),
        client.get(f"{base}delete/"),
        client.post(f"{base}delete/"),
    ]

    # A member's draft does not exist for a curator, published work does.
    assert client.get(base).status_code == (200 if status == "published" else 404)
    assert [response.status_code for response in responses] == [404] * 4
    workbook.refresh_from_db()
    assert workbook.title == "Mine"


@pytest.mark.django_db
def test_a_superuser_may_edit_any_workbook(client, public):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post("/w/quarterly-revenue/edit/", form_data(title="Fixed"))

    assertRedirects(response, "/w/quarterly-revenue/")


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in_to_edit_or_delete(client, public):
    for path in ("/w/quarterly-revenue/edit/", "/w/quarterly-revenue/delete/"):
        assertRedirects(client.get(path), f"/accounts/login/?next={path}")
        assertRedirects(client.post(path, form_data()), f"/accounts/login/?next={path}")
    assert Workbook.objects.filter(pk=public.pk, title="Quarterly revenue").exists()


# --- Deleting --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_deleting_asks_for_confirmation_first(client, public):
    client.force_login(public.author)

    response = client.get("/w/quarterly-revenue/delete/")

    assert response.status_code == 200
    form = page(response).find("section", aria_labelledby="delete-title").find("form")
    assert form.find("button").text == "Delete it"
    assert Workbook.objects.filter(pk=public.pk).exists()


@pytest.mark.django_db
def test_the_author_deletes_a_workbook_with_a_post(client, public):
    client.force_login(public.author)

    response = client.post("/w/quarterly-revenue/delete/")

    assertRedirects(response, "/u/owner/")
    assert not Workbook.objects.exists()
    assert client.get("/w/quarterly-revenue/").status_code == 404
    assert Tag.objects.filter(name="finance").exists()


@pytest.mark.django_db
def test_staff_may_delete_any_workbook(client, public, staff):
    client.force_login(staff)

    response = client.post("/w/quarterly-revenue/delete/")

    assert response.status_code == 302
    assert not Workbook.objects.exists()
