"""Workbook services: publishing, tags, counting views, trending and curation."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from tests.factories import (
    BROWSER,
    CuratorFactory,
    FeaturedFactory,
    TagFactory,
    UserFactory,
    WorkbookFactory,
)
from workbooks import selectors, services
from workbooks.models import DailyActivity, Featured, PendingView, Tag, Workbook

EMBED = "https://app.sigmacomputing.com/embed/1-Quarterly01"


def create(author, **fields):
    values = {"title": "Quarterly revenue", "embed_url": EMBED} | fields
    return services.create_workbook(author, **values)


# --- Creating and editing --------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_makes_the_slug_from_the_title(user):
    workbook = create(user, title="Quarterly Revenue: 2025, by Region!", status="published")

    assert workbook.slug == "quarterly-revenue-2025-by-region"
    assert workbook.get_absolute_url() == "/w/quarterly-revenue-2025-by-region/"


@pytest.mark.django_db
def test_it_keeps_the_slug_when_the_title_changes(user):
    workbook = create(user, title="Quarterly revenue", status="published")

    services.update_workbook(workbook, title="Revenue per quarter")

    workbook.refresh_from_db()
    assert workbook.title == "Revenue per quarter"
    assert workbook.slug == "quarterly-revenue"


@pytest.mark.django_db
def test_it_adds_a_unique_suffix_when_the_slug_is_taken(user, other_user):
    first = create(user, title="Quarterly revenue", status="published")
    second = create(other_user, title="Quarterly  Revenue", status="published")
    third = create(user, title="quarterly revenue", status="published")

    assert first.slug == "quarterly-revenue"
    assert second.slug.startswith("quarterly-revenue-")
    assert third.slug.startswith("quarterly-revenue-")
    assert len({first.slug, second.slug, third.slug}) == 3


@pytest.mark.django_db
def test_it_falls_back_to_a_generic_slug_for_a_title_without_letters(user):
    workbook = create(user, title="📈 ✨", status="published")

    assert workbook.slug == "workbook"


@pytest.mark.django_db
def test_it_renders_the_description_and_normalises_the_url_on_save(user):
    workbook = create(
        user,
        description="Revenue by **region**",
        embed_url=f"{EMBED}?theme=dark&utm_source=x#top",
    )

    assert workbook.description_html == "<p>Revenue by <strong>region</strong></p>"
    assert workbook.description_text == "Revenue by region"
    assert workbook.embed_url == f"{EMBED}?theme=dark"
    assert workbook.embed_kind == "public"
    assert workbook.sigma_id == "1-Quarterly01"


@pytest.mark.django_db
def test_it_refuses_a_url_that_is_not_sigma(user):
    with pytest.raises(ValidationError) as error:
        create(user, embed_url="https://evil.example/embed/1-Quarterly01")

    assert error.value.code == "invalid_sigma_url"
    assert not Workbook.objects.exists()


# --- Tags ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_reuses_a_tag_whatever_the_case(user):
    first = create(user, tags=["Finance"])
    second = create(user, title="Other", tags=["finance", "FINANCE ", " fiNance"])

    assert Tag.objects.count() == 1
    tag = Tag.objects.get()
    assert tag.name == "Finance"
    assert tag.slug == "finance"
    assert list(first.tags.all()) == list(second.tags.all()) == [tag]


@pytest.mark.django_db
def test_it_keeps_the_first_spelling_of_a_tag_and_trims_spaces(user):
    workbook = create(user, tags=["  Supply   Chain ", "supply chain", "SaaS"])

    assert sorted(tag.name for tag in workbook.tags.all()) == ["SaaS", "Supply Chain"]
    assert Tag.objects.get(name="Supply Chain").slug == "supply-chain"


@pytest.mark.django_db
def test_it_gives_tags_whose_slugs_clash_different_slugs(user):
    workbook = create(user, tags=["C", "C#", "c++"])

    slugs = [tag.slug for tag in workbook.tags.all()]
    assert len(set(slugs)) == 3
    assert "c" in slugs


@pytest.mark.django_db
def test_it_replaces_the_tags_on_update_and_leaves_them_when_not_given(user):
    workbook = create(user, tags=["finance", "sales"])

    services.update_workbook(workbook, title="Renamed")
    assert sorted(tag.name for tag in workbook.tags.all()) == ["finance", "sales"]

    services.update_workbook(workbook, tags=["Sales", "forecasting"])
    assert sorted(tag.name for tag in workbook.tags.all()) == ["forecasting", "sales"]


@pytest.mark.django_db
def test_it_refuses_more_than_eight_tags_and_saves_nothing(user):
    with pytest.raises(ValidationError) as error:
        create(user, tags=[f"tag{n}" for n in range(services.MAX_TAGS + 1)])

    assert error.value.code == "too_many_tags"
    assert not Workbook.objects.exists()
    assert not Tag.objects.exists()


@pytest.mark.django_db
def test_it_accepts_eight_tags(user):
    workbook = create(user, tags=[f"tag{n}" for n in range(services.MAX_TAGS)])

    assert workbook.tags.count() == services.MAX_TAGS


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("<b>bold</b>", id="markup"),
        pytest.param("-leading", id="starts with a sign"),
        pytest.param("x" * 41, id="too long"),
        pytest.param("a/b", id="slash"),
        pytest.param("日本", id="no letter a slug can keep"),
    ],
)
@pytest.mark.django_db
def test_it_refuses_an_invalid_tag(user, name):
    with pytest.raises(ValidationError) as error:
        create(user, tags=["fine", name])

    assert error.value.code == "invalid_tag"
    assert not Workbook.objects.exists()


@pytest.mark.django_db
def test_it_ignores_empty_tag_names(user):
    workbook = create(user, tags=["", "  ", "finance"])

    assert [tag.name for tag in workbook.tags.all()] == ["finance"]


# --- Publishing ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_draft_has_no_publication_date_and_is_listed_nowhere(user):
    draft = create(user, title="Secret plan", status="draft", tags=["finance"])

    assert draft.published_at is None
    assert draft not in selectors.latest()
    assert draft not in selectors.search(selectors.Search(query="secret"))
    assert draft not in selectors.search(selectors.Search(tag="finance"))
    assert draft not in selectors.by_author(user)
    assert not selectors.tags_with_counts().exists()


@pytest.mark.django_db
def test_it_sets_the_publication_date_on_the_first_publication_only(user):
    workbook = create(user, status="draft")
    before = timezone.now()

    services.update_workbook(workbook, status="published")
    first_published = workbook.published_at
    services.update_workbook(workbook, title="Edited later")
    services.update_workbook(workbook, status="draft")
    services.update_workbook(workbook, status="published")

    assert before <= first_published <= timezone.now()
    workbook.refresh_from_db()
    assert workbook.published_at == first_published


@pytest.mark.django_db
def test_it_dates_a_workbook_published_at_once(user):
    workbook = create(user, status="published")

    assert workbook.published_at is not None
    assert workbook in selectors.latest()


@pytest.mark.django_db
def test_it_deletes_a_workbook_with_its_featurings(user):
    featuring = FeaturedFactory(workbook__author=user)

    services.delete_workbook(featuring.workbook)

    assert not Workbook.objects.exists()
    assert not Featured.objects.exists()


# --- Counting views --------------------------------------------------------------------------------


@pytest.fixture
def viewing(rf):
    """A GET of a workbook page by someone: a user, a session, or an address and browser."""

    def make(*, user=None, session=None, address="203.0.113.7", agent=BROWSER):
        request = rf.get("/w/x/", REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
        request.user = user or AnonymousUser()
        request.session = session or SessionStore()
        return request

    return make


def saved_session() -> SessionStore:
    session = SessionStore()
    session.create()
    return session


@pytest.fixture
def published(db):
    return WorkbookFactory()


@pytest.mark.django_db
def test_it_counts_one_view_per_member_per_workbook(viewing, published, user, other_user):
    first = services.record_view(viewing(user=user), published)
    again = services.record_view(viewing(user=user, address="198.51.100.9"), published)
    other = services.record_view(viewing(user=other_user), published)

    assert (first, again, other) == (True, False, True)
    assert PendingView.objects.filter(workbook=published).count() == 2


@pytest.mark.django_db
def test_it_counts_a_member_again_on_another_workbook(viewing, published, user):
    second = WorkbookFactory()

    assert services.record_view(viewing(user=user), published)
    assert services.record_view(viewing(user=user), second)


@pytest.mark.django_db
def test_it_counts_one_view_per_anonymous_session(viewing, published):
    session, other_session = saved_session(), saved_session()

    first = services.record_view(viewing(session=session), published)
    # Same session, new address: the same viewer.
    again = services.record_view(viewing(session=session, address="198.51.100.9"), published)
    other = services.record_view(viewing(session=other_session), published)

    assert (first, again, other) == (True, False, True)


@pytest.mark.django_db
def test_it_counts_one_view_per_address_and_browser_without_a_session(viewing, published):
    first = services.record_view(viewing(), published)
    again = services.record_view(viewing(), published)
    other_address = services.record_view(viewing(address="198.51.100.9"), published)
    other_browser = services.record_view(viewing(agent=f"{BROWSER} Firefox/133.0"), published)

    assert (first, again, other_address, other_browser) == (True, False, True, True)


@pytest.mark.django_db
def test_it_remembers_a_viewer_for_24_hours(viewing, published, monkeypatch):
    timeouts = []
    real_add = cache.add

    def add(key, value, timeout=None, **kwargs):
        timeouts.append(timeout)
        return real_add(key, value, timeout=timeout, **kwargs)

    monkeypatch.setattr(cache, "add", add)

    services.record_view(viewing(), published)

    assert timeouts == [24 * 60 * 60]


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "facebookexternalhit/1.1",
        "Slackbot-LinkExpanding 1.0",
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/131.0",
        "",
    ],
)
@pytest.mark.django_db
def test_it_does_not_count_bots(viewing, published, agent):
    counted = services.record_view(viewing(agent=agent), published)

    assert counted is False
    assert not PendingView.objects.exists()


@pytest.mark.django_db
def test_it_does_not_count_views_of_a_draft(viewing, user):
    draft = WorkbookFactory(author=user, status="draft")

    assert services.record_view(viewing(user=user), draft) is False
    assert not PendingView.objects.exists()


def workbook_updates(queries) -> list[str]:
    return [
        query["sql"]
        for query in queries
        if query["sql"].lstrip().upper().startswith("UPDATE")
        and "workbooks_workbook" in query["sql"]
    ]


@pytest.mark.django_db
def test_a_page_view_never_updates_the_workbook_row(
    client, settings, published, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.get(published.get_absolute_url(), HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 200
    assert PendingView.objects.filter(workbook=published).count() == 1
    assert workbook_updates(queries) == []
    published.refresh_from_db()
    assert published.view_count == 0


@pytest.mark.django_db
def test_without_a_worker_a_view_is_flushed_once_the_request_commits(
    client, published, django_capture_on_commit_callbacks
):
    # The embedded default (CELERY_TASK_ALWAYS_EAGER) has no beat: counts move at once.
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.get(published.get_absolute_url(), HTTP_USER_AGENT=BROWSER)

    assert len(workbook_updates(queries)) == 1
    published.refresh_from_db()
    assert published.view_count == 1
    assert not PendingView.objects.exists()


@pytest.mark.django_db
def test_flushing_adds_pending_views_to_the_counters_and_the_daily_activity(published):
    other = WorkbookFactory(view_count=10)
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    DailyActivity.objects.create(workbook=other, day=now.date(), views=3)
    for workbook, viewed_at in [
        (published, now),
        (published, now),
        (published, yesterday),
        (other, now),
    ]:
        PendingView.objects.create(workbook=workbook, viewed_at=viewed_at)

    flushed = services.flush_pending_views()

    assert flushed == 4
    published.refresh_from_db()
    other.refresh_from_db()
    assert (published.view_count, other.view_count) == (3, 11)
    activity = {(row.workbook_id, row.day): row.views for row in DailyActivity.objects.all()}
    assert activity == {
        (published.pk, now.date()): 2,
        (published.pk, yesterday.date()): 1,
        (other.pk, now.date()): 4,
    }
    assert not PendingView.objects.exists()
    assert services.flush_pending_views() == 0


# --- Trending --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_trending_weighs_recent_activity_more_with_a_daily_decay():
    today = timezone.now().date()
    old_hit = WorkbookFactory(title="Old hit")
    fresh = WorkbookFactory(title="Fresh")
    loved = WorkbookFactory(title="Loved")
    forgotten = WorkbookFactory(title="Forgotten", trending_score=99)
    quiet = WorkbookFactory(title="Quiet")
    DailyActivity.objects.bulk_create(
        [
            DailyActivity(workbook=old_hit, day=today - timedelta(days=6), views=10),
            DailyActivity(workbook=fresh, day=today, views=4),
            DailyActivity(workbook=fresh, day=today - timedelta(days=1), views=2),
            DailyActivity(workbook=loved, day=today - timedelta(days=2), views=1, favorites=1),
            DailyActivity(workbook=forgotten, day=today - timedelta(days=7), views=500),
        ]
    )

    services.refresh_trending()

    scores = dict(Workbook.objects.values_list("title", "trending_score"))
    assert scores["Fresh"] == pytest.approx(4 + 2 * 0.7)
    assert scores["Loved"] == pytest.approx((1 + 5) * 0.7**2)
    assert scores["Old hit"] == pytest.approx(10 * 0.7**6, abs=1e-4)
    assert scores["Forgotten"] == 0
    assert scores["Quiet"] == 0
    assert [workbook.title for workbook in selectors.trending()] == ["Fresh", "Loved", "Old hit"]
    assert quiet not in selectors.trending()


@pytest.mark.django_db
def test_trending_leaves_drafts_out_of_the_list(user):
    draft = WorkbookFactory(author=user, status="draft")
    DailyActivity.objects.create(workbook=draft, day=timezone.now().date(), views=5)

    services.refresh_trending()

    assert selectors.trending() == []


@pytest.mark.django_db
def test_trending_drops_activity_older_than_the_insights_keep():
    workbook = WorkbookFactory()
    today = timezone.now().date()
    kept = DailyActivity.objects.create(workbook=workbook, day=today - timedelta(days=20), views=1)
    # Authors' insights show up to 90 days: a day of two months ago is still theirs to see.
    also_kept = DailyActivity.objects.create(
        workbook=workbook, day=today - timedelta(days=60), views=1
    )
    DailyActivity.objects.create(workbook=workbook, day=today - timedelta(days=91), views=1)

    services.refresh_trending()

    assert set(DailyActivity.objects.all()) == {kept, also_kept}


# --- Curation --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_featuring_puts_workbooks_after_the_current_picks_from_now():
    curator = CuratorFactory()
    FeaturedFactory(position=4)
    first, second = WorkbookFactory(), WorkbookFactory()
    draft = WorkbookFactory(status="draft")
    before = timezone.now()

    created = services.feature([first, draft, second], curator, note="Great maps")

    assert [(f.workbook, f.position) for f in created] == [(first, 5), (second, 7)]
    for featuring in created:
        assert featuring.curated_by == curator
        assert featuring.note == "Great maps"
        assert featuring.ends_at is None
        assert before <= featuring.starts_at <= timezone.now()
    assert draft not in selectors.featured_workbooks()
    assert selectors.featured_workbooks()[-2:] == [first, second]


@pytest.mark.django_db
def test_unfeaturing_ends_the_open_featurings_now_and_keeps_the_history():
    open_now = FeaturedFactory()
    ended = FeaturedFactory(
        workbook=open_now.workbook,
        starts_at=timezone.now() - timedelta(days=10),
        ends_at=timezone.now() - timedelta(days=9),
    )
    other = FeaturedFactory()

    count = services.unfeature(Workbook.objects.filter(pk=open_now.workbook.pk))

    assert count == 1
    open_now.refresh_from_db()
    ended_before = ended.ends_at
    ended.refresh_from_db()
    assert open_now.ends_at is not None
    assert open_now.ends_at <= timezone.now()
    assert ended.ends_at == ended_before
    assert selectors.featured_workbooks() == [other.workbook]


@pytest.mark.django_db
def test_unpublishing_makes_a_draft_and_unfeatures_it(user):
    featuring = FeaturedFactory(workbook__author=user)
    kept = WorkbookFactory()
    workbook = featuring.workbook

    count = services.unpublish(Workbook.objects.filter(pk__in=[workbook.pk]))

    assert count == 1
    workbook.refresh_from_db()
    assert workbook.status == "draft"
    assert workbook not in selectors.latest()
    assert selectors.featured_workbooks() == []
    assert selectors.latest() == [kept]
    assert services.unpublish(Workbook.objects.filter(pk=workbook.pk)) == 0


@pytest.mark.django_db
def test_a_deactivated_authors_workbooks_are_not_listed():
    author = UserFactory()
    WorkbookFactory(author=author, tags=["finance"])
    account_services.set_active(author, False)

    assert selectors.latest() == []
    assert not selectors.tags_with_counts().exists()


@pytest.mark.django_db
def test_tag_counts_include_only_published_workbooks(user):
    finance = TagFactory(name="finance")
    WorkbookFactory(author=user, tags=["finance"])
    WorkbookFactory(author=user, tags=["Finance", "sales"])
    WorkbookFactory(author=user, tags=["finance"], status="draft")

    counts = {tag.name: tag.workbook_count for tag in selectors.tags_with_counts()}

    assert counts == {finance.name: 2, "sales": 1}
