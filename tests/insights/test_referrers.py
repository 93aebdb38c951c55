"""Where counted views come from: the Referer's domain alone is kept with a counted view, never the
address, never this site, and the view flush adds the domains up per workbook and day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from tests.factories import WorkbookFactory
from workbooks import services
from workbooks.models import DailyActivity, DailyReferrer, PendingView

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


def domain_of(referer: str | None, host: str = "gallery.test") -> str:
    request = RequestFactory().get("/w/x/", HTTP_HOST=host)
    if referer is not None:
        request.META["HTTP_REFERER"] = referer
    return services.referrer_domain(request)


@pytest.mark.parametrize(
    ("referer", "domain"),
    [
        ("https://News.Example.com/story/42?user=ann&token=s3cret#c", "news.example.com"),
        ("http://blog.example:8080/post", "blog.example"),
        ("https://bücher.example/liste", "xn--bcher-kva.example"),
        ("https://gallery.test/explore/", ""),  # this site
        ("https://gallery.test:8443/", ""),
        ("android-app://com.example/", ""),
        ("javascript:alert(1)", ""),
        ("https://exa mple.com/", ""),
        ("https://[::1]/", ""),
        ("not a url", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_only_the_referring_domain_is_kept(settings, referer, domain):
    settings.ALLOWED_HOSTS = ["gallery.test"]
    assert domain_of(referer) == domain


def test_the_sites_own_address_is_never_a_referrer(settings):
    settings.ALLOWED_HOSTS = ["internal.test"]
    settings.SITE_URL = "https://gallery.example"
    assert domain_of("https://gallery.example/w/x/", host="internal.test") == ""


@pytest.mark.django_db
def test_a_counted_view_keeps_its_referring_domain_and_the_flush_adds_them_up(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the flush below, not on commit
    workbook = WorkbookFactory()
    for n, referer in enumerate(
        ["https://news.example/a?x=1", "https://news.example/b", None, "http://testserver/"]
    ):
        client.cookies.clear()
        headers = {"HTTP_REFERER": referer} if referer else {}
        client.get(workbook.get_absolute_url(), HTTP_USER_AGENT=f"{BROWSER} {n}", **headers)

    assert sorted(PendingView.objects.values_list("referrer_domain", flat=True)) == [
        "", "", "news.example", "news.example",
    ]  # fmt: skip
    assert services.flush_pending_views() == 4
    today = timezone.now().date()
    assert list(DailyReferrer.objects.values_list("workbook_id", "day", "domain", "views")) == [
        (workbook.pk, today, "news.example", 2)
    ]
    assert DailyActivity.objects.get(workbook=workbook).views == 4

    PendingView.objects.create(workbook=workbook, referrer_domain="news.example")
    services.flush_pending_views()
    assert DailyReferrer.objects.get().views == 3


@pytest.mark.django_db
def test_trending_drops_referrers_older_than_the_insights_keep():
    workbook = WorkbookFactory()
    today = timezone.now().date()
    kept = DailyReferrer.objects.create(
        workbook=workbook, day=today - timedelta(days=80), domain="a.example", views=1
    )
    DailyReferrer.objects.create(
        workbook=workbook, day=today - timedelta(days=91), domain="a.example", views=1
    )

    services.refresh_trending()

    assert list(DailyReferrer.objects.all()) == [kept]


@pytest.mark.django_db
def test_a_workbook_keeps_a_capped_number_of_domains_a_day_and_counts_the_rest_as_other(
    settings,
):
    """A visitor making up a Referer per request cannot add a row per made-up domain."""
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the flushes below, not on commit
    cap = services.REFERRER_DOMAINS_PER_DAY
    workbook = WorkbookFactory()
    other_workbook = WorkbookFactory()
    for _ in range(3):  # the most viewed of the batch are kept first
        PendingView.objects.create(workbook=workbook, referrer_domain="zz-news.example")
    PendingView.objects.bulk_create(
        PendingView(workbook=workbook, referrer_domain=f"made-up-{n:03}.example")
        for n in range(cap + 10)
    )
    PendingView.objects.create(workbook=other_workbook, referrer_domain="made-up-999.example")

    services.flush_pending_views()

    rows = dict(DailyReferrer.objects.filter(workbook=workbook).values_list("domain", "views"))
    assert len(rows) == cap + 1
    assert rows["zz-news.example"] == 3
    assert rows[services.OTHER_REFERRERS] == 11
    assert sum(rows.values()) == cap + 13
    assert "made-up-999.example" not in rows
    # The cap is per workbook: another's domains have their own room.
    assert DailyReferrer.objects.filter(workbook=other_workbook).count() == 1

    # A later flush: domains already kept keep counting, new ones go to the others.
    for domain in ("made-up-000.example", "late.example", "later.example"):
        PendingView.objects.create(workbook=workbook, referrer_domain=domain)
    services.flush_pending_views()

    rows = dict(DailyReferrer.objects.filter(workbook=workbook).values_list("domain", "views"))
    assert len(rows) == cap + 1
    assert rows["made-up-000.example"] == 2
    assert rows[services.OTHER_REFERRERS] == 13


@pytest.mark.django_db
def test_a_new_day_has_room_for_new_domains():
    cap = services.REFERRER_DOMAINS_PER_DAY
    workbook = WorkbookFactory()
    yesterday = timezone.now().date() - timedelta(days=1)
    DailyReferrer.objects.bulk_create(
        DailyReferrer(workbook=workbook, day=yesterday, domain=f"d{n}.example", views=1)
        for n in range(cap)
    )
    PendingView.objects.create(workbook=workbook, referrer_domain="fresh.example")

    services.flush_pending_views()

    assert DailyReferrer.objects.get(workbook=workbook, domain="fresh.example").views == 1
    assert not DailyReferrer.objects.filter(domain=services.OTHER_REFERRERS).exists()


def test_no_made_up_referrer_is_taken_for_the_other_domains():
    assert not services.DOMAIN_PATTERN.match(services.OTHER_REFERRERS)


@pytest.mark.django_db
def test_the_referrers_table_has_no_index_its_unique_constraint_already_serves():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, DailyReferrer._meta.db_table)
    indexed = [
        details["columns"]
        for details in constraints.values()
        if details["index"] or details["unique"]
    ]
    assert ["workbook_id", "day", "domain"] in indexed
    assert ["workbook_id"] not in indexed
