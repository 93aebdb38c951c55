"""The workbooks API: lists and filters, writes by the author or a moderator, tags,
featured workbooks and the embed source. Favorites, comments and thumbnails come later."""

from datetime import timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import (
    PRIVATE_WORKBOOK,
    FeaturedFactory,
    UserFactory,
    WorkbookFactory,
)
from workbooks import services
from workbooks.models import Workbook

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

LIST = "/api/v1/workbooks/"
EMBED = "https://app.sigmacomputing.com/embed/1-CloudSpend04"
WORKBOOK_FIELDS = {
    "id", "slug", "url", "title", "description", "description_html", "embed_url", "embed_kind",
    "author", "tags", "status", "published_at", "updated_at", "view_count", "favorite_count",
    "comment_count", "is_favorited", "thumbnail",
}  # fmt: skip


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def outsider_client(other_user):
    return client_for(other_user)


@pytest.fixture
def staff_client(staff):
    """Staff who may change and delete any workbook."""
    return client_for(staff)


@pytest.fixture
def curator_client(curator):
    """Staff only to enter the admin and curate: no rights over anyone's workbook."""
    return client_for(curator)


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["results"]]


def detail_url(workbook) -> str:
    return f"{LIST}{workbook.pk}/"


# --- Reading ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_workbook_has_exactly_the_documented_fields(api_client, user):
    workbook = WorkbookFactory(
        author=user,
        title="Cloud spend",
        description="Spend per **team**.",
        embed_url=EMBED,
        tags=["finops", "Finance"],
        view_count=7,
    )

    body = api_client.get(detail_url(workbook)).json()

    assert set(body) == WORKBOOK_FIELDS
    assert set(body["author"]) == {"username", "full_name", "avatar"}
    assert body["author"]["username"] == "owner"
    assert body["author"]["full_name"] == user.full_name
    assert body["id"] == workbook.pk
    assert body["slug"] == "cloud-spend"
    assert body["url"] == "http://testserver/w/cloud-spend/"
    assert body["description"] == "Spend per **team**."
    assert body["description_html"] == "<p>Spend per <strong>team</strong>.</p>"
    assert body["embed_url"] == EMBED
    assert body["embed_kind"] == "public"
    assert sorted(body["tags"]) == ["Finance", "finops"]
    assert body["status"] == "published"
    assert body["published_at"].endswith("Z")
    assert body["updated_at"].endswith("Z")
    assert (body["view_count"], body["favorite_count"], body["comment_count"]) == (7, 0, 0)
    assert body["is_favorited"] is False
    assert body["thumbnail"] is None


@pytest.mark.django_db
def test_the_list_is_published_workbooks_newest_first_without_drafts(auth_client, user):
    now = timezone.now()
    WorkbookFactory(author=user, title="Older", published_at=now - timedelta(days=2))
    WorkbookFactory(author=user, title="Newer", published_at=now - timedelta(days=1))
    WorkbookFactory(author=user, title="My draft", status="draft")

    response = auth_client.get(LIST)

    assert titles(response) == ["Newer", "Older"]
    assert set(response.json()) == {"next", "previous", "results"}
    assert set(response.json()["results"][0]) == WORKBOOK_FIELDS


@pytest.fixture
def gallery(db):
    now = timezone.now()
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    grace = UserFactory(username="grace", full_name="Grace Hopper")
    WorkbookFactory(author=ada, title="Revenue by region", tags=["finance"], view_count=5,
                    favorite_count=1, trending_score=2, published_at=now - timedelta(days=3))  # fmt: skip
    WorkbookFactory(author=grace, title="Churn", tags=["saas"], view_count=50,
                    favorite_count=0, trending_score=9, published_at=now - timedelta(days=2))  # fmt: skip
    WorkbookFactory(author=ada, title="Cloud costs", tags=["finance", "saas"], view_count=1,
                    favorite_count=8, trending_score=0, published_at=now - timedelta(days=1))  # fmt: skip
    WorkbookFactory(author=ada, title="Revenue draft", tags=["finance"], status="draft")
    return ada


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"q": "revenue"}, ["Revenue by region"], id="q"),
        pytest.param({"q": "reven"}, ["Revenue by region"], id="q prefix"),
        pytest.param({"q": "lovelace"}, ["Cloud costs", "Revenue by region"], id="q author"),
        pytest.param({"tag": "finance"}, ["Cloud costs", "Revenue by region"], id="tag"),
        pytest.param({"author": "GRACE"}, ["Churn"], id="author"),
        pytest.param({"author": "nobody"}, [], id="unknown author"),
        pytest.param({"tag": "saas", "author": "ada"}, ["Cloud costs"], id="tag and author"),
        pytest.param({"ordering": "-published_at"}, ["Cloud costs", "Churn", "Revenue by region"],
                     id="-published_at"),
        pytest.param({"ordering": "-view_count"}, ["Churn", "Revenue by region", "Cloud costs"],
                     id="-view_count"),
        pytest.param({"ordering": "-favorite_count"}, ["Cloud costs", "Revenue by region", "Churn"],
                     id="-favorite_count"),
        pytest.param({"ordering": "trending"}, ["Churn", "Revenue by region", "Cloud costs"],
                     id="trending"),
        pytest.param({"q": "finance", "ordering": "-view_count"},
                     ["Revenue by region", "Cloud costs"], id="q and ordering"),
    ],
)  # fmt: skip
def test_the_list_filters_and_orders(api_client, gallery, params, expected):
    response = api_client.get(LIST, params)

    if params.get("q") and "ordering" not in params:
        assert sorted(titles(response)) == sorted(expected)  # by relevance on PostgreSQL
    else:
        assert titles(response) == expected


@pytest.mark.django_db
def test_the_list_filters_the_featured_workbooks_now(api_client):
    now = timezone.now()
    FeaturedFactory(workbook__title="Picked")
    FeaturedFactory(
        workbook__title="Was picked", starts_at=now - timedelta(2), ends_at=now - timedelta(1)
    )
    WorkbookFactory(title="Never picked")

    featured = api_client.get(LIST, {"featured": "true"})
    everything = api_client.get(LIST, {"featured": "false"})

    assert titles(featured) == ["Picked"]
    assert len(titles(everything)) == 3


@pytest.mark.parametrize(
    "params",
    [
        {"ordering": "title"},
        {"ordering": "published_at"},
        {"ordering": "-trending"},
        {"featured": "maybe"},
        {"tag": "not a slug!"},
    ],
)
@pytest.mark.django_db
def test_a_bad_filter_is_a_400_naming_the_parameter(api_client, params):
    response = api_client.get(LIST, params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


@pytest.mark.django_db
def test_the_list_pages_by_24_with_next_and_previous_links(api_client, user):
    now = timezone.now()
    for n in range(30):
        WorkbookFactory(
            author=user, title=f"Workbook {n:02}", published_at=now - timedelta(hours=n)
        )

    first = api_client.get(LIST).json()
    second = api_client.get(first["next"]).json()

    assert [item["title"] for item in first["results"]] == [f"Workbook {n:02}" for n in range(24)]
    assert first["previous"] is None
    # The next page is reached by an opaque cursor, never by a page number (an OFFSET).
    link = urlsplit(first["next"])
    assert link.path == "/api/v1/workbooks/"
    assert list(parse_qs(link.query)) == ["cursor"]
    assert [item["title"] for item in second["results"]] == [
        f"Workbook {n:02}" for n in range(24, 30)
    ]
    assert second["next"] is None
    assert list(parse_qs(urlsplit(second["previous"]).query)) == ["cursor"]
    back = api_client.get(second["previous"]).json()
    assert back["results"] == first["results"]
    assert back["previous"] is None
    assert back["next"] is not None


@pytest.mark.django_db
def test_the_page_size_is_chosen_up_to_100(api_client, user):
    now = timezone.now()
    Workbook.objects.bulk_create(
        Workbook(
            author=user,
            title=f"Workbook {n}",
            slug=f"workbook-{n}",
            embed_url=EMBED,
            embed_kind="public",
            sigma_id="1-CloudSpend04",
            status="published",
            published_at=now - timedelta(minutes=n),
        )
        for n in range(101)
    )

    small = api_client.get(LIST, {"page_size": 5, "q": ""}).json()
    large = api_client.get(LIST, {"page_size": 500}).json()

    assert len(small["results"]) == 5
    query = parse_qs(urlsplit(small["next"]).query, keep_blank_values=True)
    assert sorted(query) == ["cursor", "page_size", "q"]
    assert query["page_size"] == ["5"]
    assert [w["title"] for w in api_client.get(small["next"]).json()["results"]] == [
        f"Workbook {n}" for n in range(5, 10)
    ]
    assert len(large["results"]) == 100
    assert large["next"] is not None


@pytest.mark.django_db
def test_a_draft_is_a_404_to_everyone_but_its_author_and_staff(
    api_client, auth_client, outsider_client, staff_client, user
):
    draft = WorkbookFactory(author=user, status="draft")

    assert api_client.get(detail_url(draft)).status_code == 404
    assert outsider_client.get(detail_url(draft)).status_code == 404
    assert auth_client.get(detail_url(draft)).json()["status"] == "draft"
    assert staff_client.get(detail_url(draft)).status_code == 200


@pytest.mark.django_db
def test_an_unknown_or_malformed_id_is_a_404(api_client):
    assert api_client.get(f"{LIST}999999/").status_code == 404
    assert api_client.get(f"{LIST}not-an-id/").status_code == 404


# --- Writing ---------------------------------------------------------------------------------------


def new(**overrides):
    return {
        "title": "Cloud spend by team",
        "description": "Where the bill goes.",
        "embed_url": f"{EMBED}?theme=dark&utm_source=newsletter",
        "tags": ["finance", "FinOps"],
        "status": "published",
    } | overrides


@pytest.mark.django_db
def test_a_member_creates_a_workbook_as_its_author(auth_client, user):
    response = auth_client.post(LIST, new(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == WORKBOOK_FIELDS
    assert body["author"]["username"] == "owner"
    assert body["slug"] == "cloud-spend-by-team"
    assert body["embed_url"] == f"{EMBED}?theme=dark"
    assert sorted(body["tags"]) == ["FinOps", "finance"]
    assert body["status"] == "published"
    assert body["published_at"] is not None
    workbook = Workbook.objects.get(pk=body["id"])
    assert workbook.author == user


@pytest.mark.django_db
def test_the_author_cannot_be_chosen_by_the_caller(auth_client, user, other_user):
    response = auth_client.post(LIST, new(author={"username": "outsider"}), format="json")

    assert response.status_code == 201
    assert Workbook.objects.get().author == user


@pytest.mark.django_db
def test_a_workbook_created_without_a_status_is_a_draft(auth_client, api_client):
    payload = {key: value for key, value in new().items() if key != "status"}
    response = auth_client.post(LIST, payload, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "draft"
    assert response.json()["published_at"] is None
    assert titles(api_client.get(LIST)) == []


@pytest.mark.parametrize(
    "embed_url",
    [
        "https://evil.example/embed/1-CloudSpend04",
        "http://app.sigmacomputing.com/embed/1-CloudSpend04",
        "javascript:alert(1)",
        "https://app.sigmacomputing.com/settings/profile",
        "",
    ],
)
@pytest.mark.django_db
def test_a_bad_sigma_url_is_a_400_that_shows_a_good_one(auth_client, embed_url):
    response = auth_client.post(LIST, new(embed_url=embed_url), format="json")

    assert response.status_code == 400
    [message] = response.json()["embed_url"]
    if embed_url:
        assert "https://app.sigmacomputing.com/embed/" in message
    assert not Workbook.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("title", "", id="empty title"),
        pytest.param("title", "x" * 121, id="long title"),
        pytest.param("tags", [f"t{n}" for n in range(9)], id="too many tags"),
        pytest.param("tags", ["<b>"], id="invalid tag"),
        pytest.param("tags", "finance", id="tags not a list"),
        pytest.param("status", "secret", id="unknown status"),
    ],
)
@pytest.mark.django_db
def test_invalid_input_is_a_400_naming_the_field(auth_client, field, value):
    response = auth_client.post(LIST, new(**{field: value}), format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Workbook.objects.exists()


@pytest.mark.django_db
def test_creating_needs_a_signed_in_member(api_client):
    response = api_client.post(LIST, new(), format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not Workbook.objects.exists()


@pytest.fixture
def published(user):
    return WorkbookFactory(author=user, title="Mine", tags=["finance"])


@pytest.mark.django_db
def test_the_author_changes_a_workbook(auth_client, published):
    response = auth_client.patch(
        detail_url(published), {"title": "Renamed", "tags": ["sales"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"
    assert response.json()["tags"] == ["sales"]
    assert response.json()["slug"] == "mine"
    published.refresh_from_db()
    assert published.title == "Renamed"


@pytest.mark.django_db
def test_a_patch_without_tags_keeps_them(auth_client, published):
    response = auth_client.patch(detail_url(published), {"description": "New"}, format="json")

    assert response.json()["tags"] == ["finance"]
    assert response.json()["description_html"] == "<p>New</p>"


@pytest.mark.django_db
def test_publishing_a_draft_through_the_api_dates_it(auth_client, user):
    draft = WorkbookFactory(author=user, status="draft")

    response = auth_client.patch(detail_url(draft), {"status": "published"}, format="json")

    assert response.json()["status"] == "published"
    assert response.json()["published_at"] is not None


@pytest.mark.django_db
def test_a_bad_patch_is_a_400_and_changes_nothing(auth_client, published):
    response = auth_client.patch(detail_url(published), {"embed_url": "https://x.example/"})

    assert response.status_code == 400
    assert "embed_url" in response.json()
    published.refresh_from_db()
    assert published.embed_url.startswith("https://app.sigmacomputing.com/")


@pytest.mark.django_db
def test_an_outsider_gets_a_403_on_a_published_workbook(outsider_client, published):
    patch = outsider_client.patch(detail_url(published), {"title": "Hijacked"}, format="json")
    delete = outsider_client.delete(detail_url(published))

    assert (patch.status_code, delete.status_code) == (403, 403)
    assert patch.json()["code"] == "permission_denied"
    published.refresh_from_db()
    assert published.title == "Mine"


@pytest.mark.django_db
def test_an_outsider_gets_a_404_on_a_draft(outsider_client, user):
    draft = WorkbookFactory(author=user, title="Secret", status="draft")

    patch = outsider_client.patch(detail_url(draft), {"title": "Hijacked"}, format="json")
    delete = outsider_client.delete(detail_url(draft))

    assert (patch.status_code, delete.status_code) == (404, 404)
    assert Workbook.objects.filter(pk=draft.pk, title="Secret").exists()


@pytest.mark.django_db
def test_anonymous_callers_cannot_change_or_delete(api_client, published):
    patch = api_client.patch(detail_url(published), {"title": "Hijacked"}, format="json")
    delete = api_client.delete(detail_url(published))

    assert (patch.status_code, delete.status_code) == (401, 401)
    assert Workbook.objects.filter(pk=published.pk, title="Mine").exists()


@pytest.mark.django_db
def test_staff_may_change_and_delete_any_workbook(staff_client, published, user):
    patch = staff_client.patch(detail_url(published), {"title": "Moderated"}, format="json")
    draft = WorkbookFactory(author=user, status="draft")
    delete = staff_client.delete(detail_url(draft))

    assert patch.status_code == 200
    assert patch.json()["author"]["username"] == "owner"
    assert delete.status_code == 204
    assert not Workbook.objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize(
    ("status", "answers"),
    [
        pytest.param("published", (200, 403, 403), id="published"),
        # Curators curate what is published: a member's draft does not exist for them.
        pytest.param("draft", (404, 404, 404), id="draft"),
    ],
)
@pytest.mark.django_db
def test_a_curator_cannot_change_or_delete_a_workbook_nor_read_a_draft(
    curator_client, user, status, answers
):
    workbook = WorkbookFactory(author=user, title="Mine", status=status)

    read = curator_client.get(detail_url(workbook))
    patch = curator_client.patch(detail_url(workbook), {"title": "Curated"}, format="json")
    delete = curator_client.delete(detail_url(workbook))

    assert (read.status_code, patch.status_code, delete.status_code) == answers
    assert Workbook.objects.filter(pk=workbook.pk, title="Mine").exists()


@pytest.mark.django_db
def test_the_author_deletes_a_workbook(auth_client, published):
    response = auth_client.delete(detail_url(published))

    assert response.status_code == 204
    assert not Workbook.objects.exists()
    assert auth_client.get(detail_url(published)).status_code == 404


@pytest.mark.django_db
def test_put_is_not_offered(auth_client, published):
    response = auth_client.put(detail_url(published), new(), format="json")

    assert response.status_code == 405


# --- Tags and featured -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_tags_are_listed_with_their_published_counts(api_client, gallery):
    response = api_client.get("/api/v1/tags/")
    fin = api_client.get("/api/v1/tags/", {"q": "FIN"})

    assert response.status_code == 200
    assert set(response.json()) == {"next", "previous", "results"}
    assert response.json()["results"] == [
        {"name": "finance", "slug": "finance", "workbook_count": 2},
        {"name": "saas", "slug": "saas", "workbook_count": 2},
    ]
    assert fin.json()["results"] == [{"name": "finance", "slug": "finance", "workbook_count": 2}]


@pytest.mark.django_db
def test_a_tag_only_on_drafts_is_not_listed(api_client, user):
    WorkbookFactory(author=user, tags=["secret"], status="draft")

    assert api_client.get("/api/v1/tags/").json()["results"] == []


@pytest.mark.django_db
def test_featured_lists_the_open_picks_in_curated_order(api_client):
    now = timezone.now()
    FeaturedFactory(position=2, workbook__title="Second")
    FeaturedFactory(position=1, workbook__title="First")
    FeaturedFactory(position=0, workbook__title="Ended", starts_at=now - timedelta(2),
                    ends_at=now - timedelta(1))  # fmt: skip
    FeaturedFactory(position=0, workbook__title="Later", starts_at=now + timedelta(hours=1))
    FeaturedFactory(position=0, workbook__title="Unpublished", workbook__status="draft")

    response = api_client.get("/api/v1/featured/")

    assert titles(response) == ["First", "Second"]
    assert set(response.json()["results"][0]) == WORKBOOK_FIELDS


@pytest.mark.django_db
def test_a_workbook_featured_twice_is_listed_once(api_client):
    featuring = FeaturedFactory(position=5, workbook__title="Twice")
    FeaturedFactory(
        position=1, workbook=featuring.workbook, starts_at=timezone.now() - timedelta(2)
    )
    FeaturedFactory(position=3, workbook__title="Once")

    assert titles(api_client.get("/api/v1/featured/")) == ["Twice", "Once"]


# --- The embed source ------------------------------------------------------------------------------


def embed(client, workbook):
    response = client.get(f"{detail_url(workbook)}embed/")
    assert response.status_code == 200
    assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}
    body = response.json()
    assert set(body) == {"src", "expires_at", "open_url", "reason"}
    return body


@pytest.mark.django_db
def test_the_embed_of_a_public_workbook_is_its_url(api_client, published):
    body = embed(api_client, published)

    assert body["src"] == f"{published.embed_url}?responsive_height=true"
    assert body["expires_at"] is None
    assert body["open_url"] == published.embed_url
    assert body["reason"] == ""


@pytest.mark.django_db
def test_the_embed_of_a_private_workbook_is_signed_for_the_caller_each_call(
    outsider_client, other_user, user, superuser, secure_embedding
):
    private = WorkbookFactory(author=user, embed_url=PRIVATE_WORKBOOK)
    services.approve_secure_embed({private.pk: private.embed_url}, superuser)

    first, second = embed(outsider_client, private), embed(outsider_client, private)

    tokens = [dict(parse_qsl(urlsplit(body["src"]).query))[":jwt"] for body in (first, second)]
    claims = [jwt.decode(token, "s3cret", algorithms=["HS256"]) for token in tokens]
    assert jwt.get_unverified_header(tokens[0])["kid"] == "client"
    assert claims[0]["sub"] == f"member-{other_user.pk}@embed.playground.example"
    assert claims[0]["jti"] != claims[1]["jti"]
    assert first["expires_at"].endswith("Z")
    assert first["open_url"] == PRIVATE_WORKBOOK


@pytest.mark.django_db
def test_the_embed_of_a_private_workbook_is_a_reason_for_anonymous_callers(
    api_client, user, superuser, secure_embedding
):
    private = WorkbookFactory(author=user, embed_url=PRIVATE_WORKBOOK)
    services.approve_secure_embed({private.pk: private.embed_url}, superuser)

    body = embed(api_client, private)

    assert body == {
        "src": None,
        "expires_at": None,
        "open_url": PRIVATE_WORKBOOK,
        "reason": "Sign in to view it here.",
    }


@pytest.mark.django_db
def test_the_embed_of_a_draft_is_a_404_to_others(outsider_client, auth_client, user):
    draft = WorkbookFactory(author=user, status="draft")

    assert outsider_client.get(f"{detail_url(draft)}embed/").status_code == 404
    assert auth_client.get(f"{detail_url(draft)}embed/").status_code == 200


@pytest.mark.django_db
def test_the_embed_of_a_workbook_whose_host_is_no_longer_allowed_is_a_reason(
    api_client, published, settings
):
    settings.SIGMA_EMBED_HOSTS = ["app.eu.sigmacomputing.com"]

    body = embed(api_client, published)

    assert body["src"] is None
    assert body["open_url"] == published.embed_url
    assert body["reason"]


@pytest.mark.parametrize("query", ["_", "___", "①②"])
@pytest.mark.parametrize("ordering", ["", "-view_count", "trending", "-published_at"])
def test_a_search_of_no_searchable_word_is_an_empty_list_in_any_ordering(
    db, api_client, query, ordering
):
    # Text with no word in it makes no search at all: an empty list, paged like any other.
    WorkbookFactory(title="Revenue by region")
    params = {"q": query, **({"ordering": ordering} if ordering else {})}

    response = api_client.get(LIST, params)

    assert response.status_code == 200, response.content
    assert response.json() == {"next": None, "previous": None, "results": []}
