"""What search keeps beside the entries: the typo vocabulary holds only words of published
workbooks, and a tag's workbooks are indexed again only when its name changes."""

import threading
import time

import pytest

from search.models import Lexeme
from tests.factories import WorkbookFactory
from workbooks import selectors, services
from workbooks.models import Tag, Workbook


def titles(query: str, **params) -> set[str]:
    return {w.title for w in selectors.search(selectors.Search(query=query, **params))}


@pytest.mark.django_db(transaction=True)  # the entries are made again once the change commits
def test_a_tag_saved_under_the_same_name_does_not_index_its_workbooks_again(monkeypatch):
    WorkbookFactory(title="Quarterly numbers", tags=["Zeppelin"])
    tag = Tag.objects.get(slug="zeppelin")
    refreshed = []
    monkeypatch.setattr(services, "refresh_search_entries", lambda w: refreshed.append(list(w)))

    tag.slug = "zeppelins"
    services.save_tag(tag)  # as the admin saves: every field, the name unchanged
    services.save_tag(Tag.objects.get(pk=tag.pk))
    assert refreshed == []

    tag.name = "Dirigible"
    services.save_tag(tag)
    assert [[w.title for w in workbooks] for workbooks in refreshed] == [["Quarterly numbers"]]


@pytest.mark.django_db(transaction=True)  # the entries are made again once the change commits
def test_a_tag_renamed_in_the_admin_indexes_its_workbooks_once(admin_client, monkeypatch):
    WorkbookFactory(title="Quarterly numbers", tags=["Zeppelin"])
    tag = Tag.objects.get(slug="zeppelin")
    refreshed = []
    monkeypatch.setattr(services, "refresh_search_entries", lambda w: refreshed.append(list(w)))

    response = admin_client.post(
        f"/admin/workbooks/tag/{tag.pk}/change/", {"name": "Dirigible", "slug": "zeppelin"}
    )

    assert response.status_code == 302
    assert Tag.objects.get(pk=tag.pk).name == "Dirigible"
    assert [[w.title for w in workbooks] for workbooks in refreshed] == [["Quarterly numbers"]]


def vocabulary(*words: str) -> set[str]:
    return set(Lexeme.objects.filter(lexeme__in=words).values_list("lexeme", flat=True))


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["unpublished", "deleted", "edited"])
def test_a_word_no_published_workbook_holds_leaves_the_vocabulary(db, how):
    WorkbookFactory(title="Pipeline forecast", description="Next quarter.")
    kept = WorkbookFactory(title="Zeppelin fleet", description="Next quarter.")
    gone = WorkbookFactory(title="Pipelinx secret plan", description="Zeppelin route.")
    assert vocabulary("pipelinx", "secret", "zeppelin", "quarter") == {
        "pipelinx", "secret", "zeppelin", "quarter",
    }  # fmt: skip
    # A known word: not corrected, so it finds only the workbook holding it.
    assert titles("pipelinx") == {"Pipelinx secret plan"}

    if how == "unpublished":
        services.unpublish(Workbook.objects.filter(pk=gone.pk))
    elif how == "deleted":
        services.delete_workbook(gone)
    else:
        services.update_workbook(gone, title="Route plan")

    # Its own words are gone; words another published workbook holds stay.
    assert vocabulary("pipelinx", "secret", "zeppelin", "quarter") == {"zeppelin", "quarter"}
    # A typo again: corrected to the word meant, and nothing tells that a workbook held it.
    assert titles("pipelinx") == {"Pipeline forecast"}
    assert titles("zeppelin") >= {kept.title}


@pytest.mark.postgres
def test_a_word_two_workbooks_hold_stays_while_one_still_does(db):
    first = WorkbookFactory(title="Zeppelin fleet")
    second = WorkbookFactory(title="Zeppelin routes")

    services.unpublish(Workbook.objects.filter(pk=first.pk))
    assert vocabulary("zeppelin") == {"zeppelin"}
    services.delete_workbook(second)
    assert vocabulary("zeppelin") == set()
    services.update_workbook(Workbook.objects.get(pk=first.pk), status=Workbook.Status.PUBLISHED)
    assert vocabulary("zeppelin") == {"zeppelin"}  # published again: known again


def _waits_for_a_lock(seconds: float = 10.0) -> bool:
    """Whether another connection is waiting for a lock within `seconds` (polled)."""
    from django.db import connection

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def _in_thread(
    work, *, hold: threading.Event | None = None, holding: threading.Event | None = None
):
    """Run `work` in a thread of its own, so on a connection of its own, in one transaction that
    (with `hold`) stays open after `work` until `hold` is set."""
    from django.db import connection, transaction

    errors = []

    def run():
        try:
            with transaction.atomic():
                work()
                if hold is not None:
                    holding.set()
                    assert hold.wait(30)
        except Exception as error:  # reported by the test, not lost in the thread
            errors.append(error)
            if holding is not None:
                holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # two connections: each sees what the other committed
@pytest.mark.parametrize("first", ["publish", "unpublish"])
def test_a_word_published_anew_while_its_last_holder_is_unpublished_stays_known(first):
    """One transaction unpublishes the only published holder of a word while another publishes a
    workbook holding it: whichever comes first, the word is known once both commit."""
    leaving = WorkbookFactory(title="Zeppelin fleet")
    coming = WorkbookFactory(title="Zeppelin routes", status=Workbook.Status.DRAFT)
    assert vocabulary("zeppelin") == {"zeppelin"}

    def publish():
        services.update_workbook(
            Workbook.objects.get(pk=coming.pk), status=Workbook.Status.PUBLISHED
        )

    def unpublish():
        services.unpublish(Workbook.objects.filter(pk=leaving.pk))

    held, second = (publish, unpublish) if first == "publish" else (unpublish, publish)
    hold, holding = threading.Event(), threading.Event()
    # The first has done its statements and stays open; the second then runs on.
    first_thread, first_errors = _in_thread(held, hold=hold, holding=holding)
    assert holding.wait(30)
    second_thread, second_errors = _in_thread(second)
    # The second either finishes (it took no lock the first holds) or waits for the first.
    second_thread.join(timeout=0.5)
    if second_thread.is_alive():
        assert _waits_for_a_lock()
    hold.set()
    first_thread.join(30)
    second_thread.join(30)

    assert first_errors == []
    assert second_errors == []
    assert set(Workbook.objects.published().values_list("title", flat=True)) == {"Zeppelin routes"}
    assert vocabulary("zeppelin") == {"zeppelin"}
    assert titles("zeppelin") == {"Zeppelin routes"}
