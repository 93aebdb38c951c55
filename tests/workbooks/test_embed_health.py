"""Embed health: readers' pages report how the frame fared, counted per workbook per day; the author
is warned on the edit page and told once a day by a notification when the frame is failing."""

from __future__ import annotations

import itertools
import time
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from social.models import MutedVerb, Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from workbooks import embed_health
from workbooks.embed_health import Outcome, failed_share, reporter_key
from workbooks.models import EmbedHealth, Workbook
from workbooks.signals import embed_failing

pytestmark = pytest.mark.django_db


def outcome_url(workbook: Workbook) -> str:
    return reverse("workbooks:embed-outcome", args=[workbook.slug])


def counts(workbook: Workbook) -> list[tuple[date, int, int, int]]:
    return list(
        EmbedHealth.objects.filter(workbook=workbook)
        .order_by("day")
        .values_list("day", "loads", "errors", "timeouts")
    )


# Every report through the endpoint comes from one of the site's own pages, as a browser says.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}

_addresses = (
    f"192.0.2.{n % 250}" if n < 250 else f"198.51.100.{n % 250}" for n in itertools.count()
)


@pytest.fixture
def client():
    return Client(headers=SAME_ORIGIN)


def record(workbook: Workbook, outcome: Outcome, day: date | None = None) -> None:
    """A report from a reader not seen before (reporters are told apart by address)."""
    embed_health.record_outcome(workbook, outcome, day, reporter=reporter_key(next(_addresses)))


@pytest.fixture
def workbook():
    return WorkbookFactory(author=UserFactory(username="ada"), title="Revenue by region")


@pytest.fixture
def small_window(settings):
    settings.EMBED_FAILING_WINDOW = 4
    settings.EMBED_FAILING_SHARE = 0.5


# --- The endpoint ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "expected"), [("loaded", (1, 0, 0)), ("error", (0, 1, 0)), ("timeout", (0, 0, 1))]
)
def test_each_outcome_is_counted_in_its_column_for_today(client, workbook, outcome, expected):
    response = client.post(outcome_url(workbook), {"outcome": outcome})

    assert response.status_code == 204
    assert counts(workbook) == [(timezone.now().date(), *expected)]


def test_a_report_needs_no_cookie_nor_csrf_token_and_sets_none(workbook):
    client = Client(enforce_csrf_checks=True, headers=SAME_ORIGIN)
    response = client.post(outcome_url(workbook), {"outcome": "error"})

    assert response.status_code == 204
    assert not response.cookies
    assert counts(workbook)[0][1:] == (0, 1, 0)


@pytest.mark.parametrize("body", [{}, {"outcome": ""}, {"outcome": "LOADED"}, {"outcome": "ok"}])
def test_an_unknown_outcome_is_a_400_and_counts_nothing(client, workbook, body):
    response = client.post(outcome_url(workbook), body)

    assert response.status_code == 400
    assert not EmbedHealth.objects.exists()


def test_an_unknown_workbook_is_a_404(client):
    response = client.post(
        reverse("workbooks:embed-outcome", args=["nothing-here"]), {"outcome": "error"}
    )

    assert response.status_code == 404


def test_a_draft_counts_for_nobody_not_even_its_author(client):
    draft = WorkbookFactory(status=Workbook.Status.DRAFT)
    client.force_login(draft.author)

    response = client.post(outcome_url(draft), {"outcome": "error"})

    assert response.status_code == 404
    assert not EmbedHealth.objects.exists()


def test_only_post_is_answered(client, workbook):
    assert client.get(outcome_url(workbook), {"outcome": "error"}).status_code == 405
    assert not EmbedHealth.objects.exists()


def test_an_address_is_counted_once_per_workbook_per_period(client, workbook):
    other = WorkbookFactory()
    assert client.post(outcome_url(workbook), {"outcome": "error"}).status_code == 204

    # Answered like the first (a reload is no misuse, and a 429 is an error in the reader's console),
    # but not counted.
    assert client.post(outcome_url(workbook), {"outcome": "error"}).status_code == 204
    assert counts(workbook)[0][1:] == (0, 1, 0)
    # Another workbook from the same address, and the same workbook from another address, are not.
    assert client.post(outcome_url(other), {"outcome": "error"}).status_code == 204
    elsewhere = client.post(outcome_url(workbook), {"outcome": "error"}, REMOTE_ADDR="192.0.2.7")
    assert elsewhere.status_code == 204
    assert counts(workbook)[0][1:] == (0, 2, 0)


def test_an_address_is_counted_again_once_the_period_is_over(client, workbook, monkeypatch):
    monkeypatch.setattr(embed_health, "REPORT_PERIOD", 1)
    assert client.post(outcome_url(workbook), {"outcome": "error"}).status_code == 204
    assert client.post(outcome_url(workbook), {"outcome": "error"}).status_code == 204
    assert counts(workbook)[0][1:] == (0, 1, 0)

    time.sleep(1.2)

    assert client.post(outcome_url(workbook), {"outcome": "loaded"}).status_code == 204
    assert counts(workbook)[0][1:] == (1, 1, 0)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", True),  # one /64
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),  # the next /64
        ("::ffff:192.0.2.1", "192.0.2.1", True),  # IPv4, mapped or not
        ("192.0.2.1", "192.0.2.2", False),
    ],
)
def test_an_ipv6_address_is_limited_by_its_64(client, workbook, first, second, same):
    assert (
        client.post(outcome_url(workbook), {"outcome": "error"}, REMOTE_ADDR=first).status_code
        == 204
    )

    response = client.post(outcome_url(workbook), {"outcome": "error"}, REMOTE_ADDR=second)

    assert response.status_code == 204
    assert counts(workbook)[0][1:] == (0, 1 if same else 2, 0)
    assert (reporter_key(first) == reporter_key(second)) is same


def test_the_reporter_is_kept_only_as_a_salted_hash(settings):
    key = reporter_key("192.0.2.1")
    assert "192.0.2" not in key
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert reporter_key("192.0.2.1") != key


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "none"},
        # Sec-Fetch-Site decides when present: a matching Origin does not overrule it.
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
        {"Origin": "https://testserver"},  # another scheme is another origin
        {},  # no browser posting from our page sends neither
    ],
)
def test_a_report_from_another_site_is_refused_and_counts_nothing(workbook, headers):
    response = Client(headers=headers).post(outcome_url(workbook), {"outcome": "error"})

    assert response.status_code == 403
    assert not EmbedHealth.objects.exists()


def test_without_sec_fetch_site_a_report_from_this_sites_origin_is_taken(workbook):
    client = Client(headers={"Origin": "http://testserver"})

    assert client.post(outcome_url(workbook), {"outcome": "error"}).status_code == 204
    assert counts(workbook)[0][1:] == (0, 1, 0)


def test_the_workbook_page_gives_its_frame_the_report_address_and_a_draft_none(client, settings):
    settings.SIGMA_EMBED_STANDIN = True
    published = WorkbookFactory()
    draft = WorkbookFactory(status=Workbook.Status.DRAFT)

    page = client.get(published.get_absolute_url()).content.decode()
    assert f'data-outcome-url="{outcome_url(published)}"' in page

    client.force_login(draft.author)
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "data-sigma-embed" in page
    assert "data-outcome-url" not in page


# --- Counting -------------------------------------------------------------------------------------


def test_outcomes_add_up_per_workbook_per_day(workbook):
    today = timezone.now().date()
    yesterday = today - timedelta(days=1)
    other = WorkbookFactory()
    for outcome in (Outcome.LOADED, Outcome.LOADED, Outcome.ERROR, Outcome.TIMEOUT):
        embed_health.record_outcome(workbook, outcome)
    embed_health.record_outcome(workbook, Outcome.ERROR, day=yesterday)
    embed_health.record_outcome(other, Outcome.LOADED)

    assert counts(workbook) == [(yesterday, 0, 1, 0), (today, 2, 1, 1)]
    assert counts(other) == [(today, 1, 0, 0)]


def test_counting_a_days_later_outcome_is_one_update(workbook):
    embed_health.record_outcome(workbook, Outcome.LOADED)

    with CaptureQueriesContext(connection) as queries:
        embed_health.record_outcome(workbook, Outcome.LOADED)
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]

    # A load reads nothing: one UPDATE ... SET loads = loads + 1.
    assert len(statements) == 1
    assert statements[0].startswith('UPDATE "workbooks_embedhealth"')


def test_a_days_first_outcome_is_added_to_the_row_a_rival_report_inserted_meanwhile(
    workbook, monkeypatch
):
    """Two first reports of the day at once: both find no row to update, the rival inserts it
    first, and this one's INSERT fails on the unique constraint: its outcome is added instead."""
    today = timezone.now().date()
    real_update = QuerySet.update
    calls = []

    def update_while_a_rival_inserts(self, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:  # no row yet; the rival's commits just after
            EmbedHealth.objects.create(workbook=workbook, day=today, loads=1)
            return 0
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update_while_a_rival_inserts)

    embed_health.record_outcome(workbook, Outcome.ERROR)

    assert len(calls) == 2
    assert counts(workbook) == [(today, 1, 1, 0)]


# --- Failing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "window", "share"),
    [
        ([], 4, None),
        ([(1, 1, 1)], 4, None),  # three outcomes are not the last four yet
        ([(2, 1, 1)], 4, 0.5),
        ([(0, 2, 0), (1, 0, 1)], 4, 0.75),  # newest day first, then the day before
        ([(0, 2, 0), (10, 10, 0)], 4, 0.75),  # half of the older day's two in the window failed
        ([(0, 0, 4), (100, 0, 0)], 4, 1.0),
        ([(0, 0, 0), (2, 2, 0)], 4, 0.5),  # a day without outcomes takes no room
    ],
)
def test_the_failed_share_is_that_of_the_last_outcomes_newest_day_first(days, window, share):
    assert failed_share(days, window) == share


def test_a_workbook_is_failing_only_above_the_share_once_the_window_is_full(workbook, small_window):
    for outcome in (Outcome.ERROR, Outcome.ERROR, Outcome.TIMEOUT):
        record(workbook, outcome)
    assert embed_health.failing_now(workbook) is None  # three of four

    record(workbook, Outcome.LOADED)
    failing = embed_health.failing_now(workbook)
    assert failing is not None
    assert (failing.share, failing.window, failing.percent) == (0.75, 4, 75)

    record(workbook, Outcome.LOADED)
    # The last four are now whatever share of today's five: 3/5 of 4 failed = 0.6, still above.
    assert embed_health.failing_now(workbook).share == pytest.approx(0.6)

    for _ in range(3):
        record(workbook, Outcome.LOADED)
    assert embed_health.failing_now(workbook) is None  # 3 of 8: 0.375


def test_exactly_the_share_is_not_failing(workbook, small_window):
    for outcome in (Outcome.ERROR, Outcome.TIMEOUT, Outcome.LOADED, Outcome.LOADED):
        record(workbook, outcome)

    assert embed_health.failing_now(workbook) is None


def test_the_signal_is_sent_with_a_failure_that_leaves_the_workbook_failing(workbook, small_window):
    sent = []

    def receiver(sender, **kwargs):
        sent.append((kwargs["workbook"].pk, kwargs["share"], kwargs["window"]))

    embed_failing.connect(receiver)
    try:
        for outcome in (Outcome.LOADED, Outcome.ERROR, Outcome.ERROR, Outcome.ERROR):
            record(workbook, outcome)
        record(workbook, Outcome.LOADED)  # a load sends nothing
    finally:
        embed_failing.disconnect(receiver)

    assert sent == [(workbook.pk, 0.75, 4)]


# --- The edit page's warning ----------------------------------------------------------------------


def test_the_edit_page_warns_the_author_while_the_frame_is_failing(client, workbook, small_window):
    client.force_login(workbook.author)
    edit = reverse("workbooks:edit", args=[workbook.slug])
    for outcome in (Outcome.LOADED, Outcome.LOADED, Outcome.ERROR):
        record(workbook, outcome)
    assert 'data-testid="embed-failing"' not in client.get(edit).content.decode()

    for outcome in (Outcome.TIMEOUT, Outcome.ERROR):
        record(workbook, outcome)
    page = client.get(edit).content.decode()

    assert 'data-testid="embed-failing"' in page
    assert "failed to load for readers 60% of the last 4 times" in page


def test_the_warning_costs_the_edit_page_one_query(client, workbook, small_window):
    """Measured against a page without the include's query: the warning adds exactly one."""
    client.force_login(workbook.author)
    edit = reverse("workbooks:edit", args=[workbook.slug])
    client.get(edit)
    for _ in range(5):
        record(workbook, Outcome.ERROR)
    record(workbook, Outcome.ERROR, day=timezone.now().date() - timedelta(1))

    with CaptureQueriesContext(connection) as queries:
        client.get(edit)
    health = [q for q in queries.captured_queries if "workbooks_embedhealth" in q["sql"]]

    assert len(health) == 1


# --- The notification -----------------------------------------------------------------------------


def fail(workbook: Workbook, times: int) -> None:
    for _ in range(times):
        record(workbook, Outcome.ERROR)


def embed_notifications(workbook: Workbook):
    return Notification.objects.filter(verb=Verb.EMBED_FAILING, workbook=workbook)


def test_the_author_is_told_once_a_day_when_the_frame_is_failing(workbook, small_window):
    fail(workbook, 3)
    assert not embed_notifications(workbook).exists()  # the window is not full yet

    fail(workbook, 5)

    told = embed_notifications(workbook).get()
    assert told.recipient_id == workbook.author_id
    assert told.actor_id is None
    assert not told.read


def test_the_author_is_told_again_on_another_day(workbook, small_window):
    fail(workbook, 4)
    embed_notifications(workbook).update(created_at=timezone.now() - timedelta(days=1))

    fail(workbook, 1)

    assert embed_notifications(workbook).count() == 2


def test_each_failing_workbook_is_told_of_on_its_own(small_window):
    ada = UserFactory()
    first, second = WorkbookFactory(author=ada), WorkbookFactory(author=ada)

    fail(first, 4)
    fail(second, 4)

    assert Notification.objects.filter(recipient=ada, verb=Verb.EMBED_FAILING).count() == 2


def test_an_author_who_muted_it_is_not_told(workbook, small_window):
    MutedVerb.objects.create(user=workbook.author, verb=Verb.EMBED_FAILING)

    fail(workbook, 6)

    assert not embed_notifications(workbook).exists()


def test_a_healthy_workbook_tells_nobody(workbook, small_window):
    for outcome in (Outcome.LOADED, Outcome.ERROR, Outcome.LOADED, Outcome.LOADED) * 3:
        record(workbook, outcome)

    assert not embed_notifications(workbook).exists()


def test_reports_through_the_endpoint_tell_the_author(client, workbook, small_window):
    for n in range(4):
        client.post(outcome_url(workbook), {"outcome": "timeout"}, REMOTE_ADDR=f"192.0.2.{n}")

    assert embed_notifications(workbook).count() == 1


def test_one_address_repeating_reports_cannot_make_a_workbook_failing(client, workbook, settings):
    """Within the window's size of reports, only the first counts."""
    settings.EMBED_FAILING_WINDOW = 1
    for _ in range(20):
        assert client.post(outcome_url(workbook), {"outcome": "error"}).status_code == 204

    assert counts(workbook)[0][1:] == (0, 1, 0)
    assert not embed_notifications(workbook).exists()


def test_failures_from_fewer_than_the_set_reporters_warn_nobody(client, workbook, small_window):
    """One reporter for every failure, or two: however high the share, nobody is warned or told."""
    client.force_login(workbook.author)
    edit = reverse("workbooks:edit", args=[workbook.slug])
    few = [reporter_key("192.0.2.1"), reporter_key("2001:db8::1")]
    for n in range(8):
        embed_health.record_outcome(workbook, Outcome.ERROR, reporter=few[n % 2])

    assert embed_health.failing_now(workbook) is None
    assert not embed_notifications(workbook).exists()
    assert 'data-testid="embed-failing"' not in client.get(edit).content.decode()

    embed_health.record_outcome(workbook, Outcome.ERROR, reporter=reporter_key("198.51.100.9"))

    assert embed_health.failing_now(workbook).share == 1.0
    assert embed_notifications(workbook).count() == 1
    assert 'data-testid="embed-failing"' in client.get(edit).content.decode()


def test_a_failure_without_a_known_reporter_names_nobody(workbook, small_window):
    for _ in range(8):
        embed_health.record_outcome(workbook, Outcome.ERROR)

    assert embed_health.failing_now(workbook) is None
