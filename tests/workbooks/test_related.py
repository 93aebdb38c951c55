"""Related workbooks are computed when tags or visibility change, not per view.

The workbook page reads its suggestions from the precomputed rows (one indexed query, a handful of
rows); a task queued on commit of each change keeps them current. Whatever the rows hold, the read
never shows a draft or a hidden workbook.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import BROWSER, UserFactory, WorkbookFactory
from tests.workbooks.markup import page
from tests.workbooks.test_admin import WORKBOOKS_URL, workbook_form
from workbooks import selectors, services, tasks
from workbooks.models import RelatedWorkbook, Tag, Workbook


def related_titles(client, workbook: Workbook) -> list[str]:
    """The titles the workbook page suggests, checking how it read them: from the precomputed rows
    in one query, never by counting shared tags over every workbook that has one."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(workbook.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    sql = [query["sql"] for query in captured.captured_queries]
    assert len([q for q in sql if "workbooks_relatedworkbook" in q]) == 1, sql
    assert not [q for q in sql if "workbooks_workbook_tags" in q and "COUNT(" in q.upper()], sql
    sections = page(response).find_all("section", aria_labelledby="related-title")
    return [
        title.text.strip()
        for section in sections
        for title in section.find_all("h3", class_="wb-card__title")
    ]


@pytest.mark.django_db
def test_the_page_suggests_precomputed_workbooks_sharing_the_most_tags(
    client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        main = WorkbookFactory(author=user, title="Main", tags=["finance", "saas", "forecasting"])
        WorkbookFactory(title="Shares one", tags=["finance"])
        WorkbookFactory(title="Shares three", tags=["forecasting", "saas", "finance", "extra"])
        WorkbookFactory(title="Shares two", tags=["saas", "finance"])
        WorkbookFactory(title="Shares none", tags=["transport"])

    assert related_titles(client, main) == ["Shares three", "Shares two", "Shares one"]
    # Kept per set of tags, at most RELATED_KEPT rows each.
    assert RelatedWorkbook.objects.count() <= services.RELATED_KEPT * Workbook.objects.count()


@pytest.mark.django_db
def test_suggestions_follow_tag_changes_once_the_task_has_run(
    client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        main = WorkbookFactory(author=user, title="Main", tags=["finance", "saas"])
        one = WorkbookFactory(title="One", tags=["finance"])
        later = WorkbookFactory(title="Later", tags=["energy"])
    assert related_titles(client, main) == ["One"]

    with django_capture_on_commit_callbacks(execute=True):  # Later enters Main's list, first
        services.update_workbook(later, tags=["saas", "finance", "energy"])
    assert related_titles(client, main) == ["Later", "One"]

    with django_capture_on_commit_callbacks(execute=True):  # One leaves it
        services.update_workbook(one, tags=["energy"])
    assert related_titles(client, main) == ["Later"]
    assert related_titles(client, one) == ["Later"]

    with django_capture_on_commit_callbacks(execute=True):  # Main's own tags change
        services.update_workbook(main, tags=["energy"])
    assert related_titles(client, main) == ["Later", "One"]


@pytest.mark.django_db
def test_a_workbook_enters_the_lists_it_now_ranks_in_and_lists_it_leaves_are_refilled(
    client, user, django_capture_on_commit_callbacks
):
    """The lists of other sets of tags are kept too: a workbook published with tags {a, b, c, d}
    enters the list of {a, b, c} (it shares three there, more than any other), and a list it leaves
    takes the next candidate, so it still shows four."""
    with django_capture_on_commit_callbacks(execute=True):
        main = WorkbookFactory(author=user, title="Main", tags=["a", "b", "c"])
        others = [WorkbookFactory(title=f"Two {n}", tags=["a", "b", f"x{n}"]) for n in range(10)]
    assert len(related_titles(client, main)) == selectors.RELATED_SHOWN

    with django_capture_on_commit_callbacks(execute=True):
        WorkbookFactory(title="Three", tags=["a", "b", "c", "d"])
    shown = related_titles(client, main)
    assert shown[0] == "Three"
    assert len(shown) == selectors.RELATED_SHOWN

    before = set(shown)
    with django_capture_on_commit_callbacks(execute=True):
        for workbook in others:
            if workbook.title in before:
                services.update_workbook(workbook, tags=["elsewhere"])
    shown = related_titles(client, main)
    assert shown[0] == "Three"
    assert len(shown) == selectors.RELATED_SHOWN
    assert not (set(shown) - {"Three"}) & before


@pytest.mark.django_db
def test_drafts_and_hidden_workbooks_are_never_suggested(
    client, user, django_capture_on_commit_callbacks
):
    hidden_author = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        main = WorkbookFactory(author=user, title="Main", tags=["finance"])
        WorkbookFactory(title="Draft", tags=["finance"], status="draft")
        WorkbookFactory(title="Visible", tags=["finance"])
        moderated = WorkbookFactory(title="Moderated", tags=["finance"])
        WorkbookFactory(title="Deactivated", author=hidden_author, tags=["finance"])
        unpublished = WorkbookFactory(title="Unpublished", tags=["finance"])
    assert set(related_titles(client, main)) == {
        "Visible", "Moderated", "Deactivated", "Unpublished"
    }  # fmt: skip

    # Hidden before any task has run: the read itself leaves them out.
    services.unpublish(Workbook.objects.filter(pk=moderated.pk))
    hidden_author.is_active = False
    hidden_author.save()
    Workbook.objects.filter(pk=unpublished.pk).update(status="draft")
    assert related_titles(client, main) == ["Visible"]

    # And once the tasks have run, their rows are gone too.
    with django_capture_on_commit_callbacks(execute=True):
        services.unpublish(Workbook.objects.filter(pk=moderated.pk))
        hidden_author.save()
        services.update_workbook(unpublished, status="draft")
    assert related_titles(client, main) == ["Visible"]
    listed = set(RelatedWorkbook.objects.values_list("workbook__title", flat=True))
    assert listed == {"Main", "Visible"}

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_workbook(Workbook.objects.get(title="Visible"))
    assert related_titles(client, main) == []


@pytest.mark.django_db
def test_the_backfill_fills_every_list_and_drops_unused_ones(
    client, user, django_capture_on_commit_callbacks
):
    main = WorkbookFactory(author=user, title="Main", tags=["finance", "saas"])
    WorkbookFactory(title="Both", tags=["saas", "finance"])
    WorkbookFactory(title="One", tags=["finance"])
    RelatedWorkbook.objects.all().delete()
    RelatedWorkbook.objects.create(tag_set="999999", workbook=main, shared=1)  # no one has it
    assert related_titles(client, main) == []

    call_command("refresh_related", "--batch", "1", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert related_titles(client, main) == ["Both", "One"]
    assert not RelatedWorkbook.objects.filter(tag_set="999999").exists()


@pytest.mark.django_db
def test_beat_recomputes_every_list_nightly_as_a_safety_net_under_lost_refreshes(client, user):
    from sigma_playground.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["rebuild-related"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    # Once a day at a quiet hour (03:30 UTC), whenever beat started: not an interval from its start.
    schedule = entry["schedule"]
    assert (schedule.hour, schedule.minute) == ({3}, {30})
    assert schedule.remaining_estimate(timezone.now()) <= timedelta(hours=24)
    # A run keeps to the usual limit however large the gallery: it ranks for a slice, then hands
    # the rest on (below), so the broker's visibility timeout stays short.
    task = app.tasks[entry["task"]]
    assert tasks.REBUILD_RELATED_SLICE_SECONDS < task.soft_time_limit < task.time_limit <= 300
    main = WorkbookFactory(author=user, title="Main", tags=["finance"])
    WorkbookFactory(title="Lost", tags=["finance"])
    RelatedWorkbook.objects.all().delete()  # the change's refresh_related never ran
    assert related_titles(client, main) == []

    app.tasks[entry["task"]].apply().get()

    assert related_titles(client, main) == ["Lost"]


@pytest.mark.django_db
def test_a_rebuild_out_of_time_hands_the_sets_after_its_last_to_a_new_run(client, monkeypatch):
    """Each run stops once its slice of time is spent and queues the next from the set after its
    last; together they recompute every set once, and only the first drops unused lists."""
    workbooks = {
        name: WorkbookFactory(title=name.title(), tags=tag_names)
        for name, tag_names in [
            ("first", ["finance", "sales"]), ("second", ["finance"]), ("third", ["sales"]),
            ("fourth", ["finance", "ops"]), ("fifth", ["ops"]),
        ]
    }  # fmt: skip
    RelatedWorkbook.objects.all().delete()
    RelatedWorkbook.objects.create(tag_set="999999", workbook=workbooks["first"], shared=1)
    monkeypatch.setattr(tasks, "REBUILD_RELATED_SLICE_SECONDS", -1)  # out of time at once
    runs = []
    real = services.rebuild_related

    def counted(*args, **kwargs):
        runs.append(kwargs.get("after", ""))
        return real(*args, **{**kwargs, "batch": 1})

    monkeypatch.setattr(services, "rebuild_related", counted)

    tasks.rebuild_related.apply().get()  # eager: each run's hand-on runs at once

    sets = {services.related_key([tag.pk for tag in w.tags.all()]) for w in workbooks.values()}
    assert len(runs) == len(sets)  # one set a run, each once
    assert runs[0] == ""
    assert runs[1:] == sorted(sets)[:-1]
    assert set(RelatedWorkbook.objects.values_list("tag_set", flat=True)) == sets
    assert related_titles(client, workbooks["first"]) != []


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_related_query_reads_a_handful_of_rows_however_many_share_a_tag(user):
    """2,000 workbooks, each with 3 of 6 tags: a thousand share each tag. The page's query reads
    the kept list by its index, and per row its workbook and author, nothing more."""
    tags = [Tag.objects.create(name=f"tag{n}", slug=f"tag{n}") for n in range(6)]
    rng = random.Random(7)  # noqa: S311 - test data
    now = timezone.now()
    workbooks = Workbook.objects.bulk_create(
        Workbook(
            author=user, title=f"Bulk {n}", slug=f"bulk-{n}", status="published",
            embed_url=f"https://app.sigmacomputing.com/embed/1-Bulk{n}", embed_kind="public",
            sigma_id=f"1-Bulk{n}", published_at=now - timedelta(minutes=n),
            trending_score=rng.random() * 100,
        )
        for n in range(2000)
    )  # fmt: skip
    through = Workbook.tags.through
    through.objects.bulk_create(
        through(workbook_id=workbook.pk, tag_id=tag.pk)
        for workbook in workbooks
        for tag in rng.sample(tags, 3)
    )
    services.rebuild_related()
    main = selectors.detail(workbooks[0].slug, AnonymousUser())
    queryset = selectors.related_queryset(main)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workbooks_relatedworkbook, workbooks_workbook, accounts_user")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    scans = [n for n in nodes(plan[0]["Plan"]) if "Relation Name" in n]
    assert "workbooks_workbook_tags" not in {n["Relation Name"] for n in scans}, plan
    read = sum(n["Actual Rows"] * n["Actual Loops"] for n in scans)
    assert read <= 3 * services.RELATED_KEPT, plan
    assert len(list(queryset)) == selectors.RELATED_SHOWN


@pytest.mark.django_db
def test_tags_changed_or_deleted_in_the_admin_move_the_suggestions(
    admin_client, client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        main = WorkbookFactory(author=user, title="Main", tags=["finance", "saas"])
        other = WorkbookFactory(title="Other", tags=["energy"])
        WorkbookFactory(title="Finance", tags=["finance"])
    assert related_titles(client, main) == ["Finance"]

    with django_capture_on_commit_callbacks(execute=True):
        saas = Tag.objects.get(slug="saas")
        response = admin_client.post(
            f"{WORKBOOKS_URL}{other.pk}/change/", workbook_form(other, tags=[saas.pk])
        )
    assert response.status_code == 302
    assert related_titles(client, main) == ["Finance", "Other"]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/workbooks/tag/{saas.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert related_titles(client, main) == ["Finance"]
