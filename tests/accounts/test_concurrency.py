"""Races that only a real database with row locks shows."""

import threading
import time

import pytest
from django.db import connection

from accounts import profiles, services, tokens
from accounts.models import User
from tests.factories import UserFactory, WorkbookFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_refreshes_of_one_token_give_at_most_one_new_token():
    user = UserFactory()
    refresh = tokens.issue_tokens(user).refresh
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt():
        barrier.wait()
        try:
            tokens.rotate(refresh)
            outcomes.append("rotated")
        except tokens.RefreshRejected as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The family's row lock lets one through; the next sees a used token and revokes the login, so
    # the rest find it revoked.
    assert sorted(outcomes)[0] == "rotated"
    assert outcomes.count("rotated") == 1
    assert "token_reused" in outcomes
    assert set(outcomes) <= {"rotated", "token_reused", "token_revoked"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workbooks_pinned_at_once_are_both_kept(monkeypatch):
    user = UserFactory()
    first, second = WorkbookFactory(author=user), WorkbookFactory(author=user)
    first_has_read = threading.Event()
    read_pins = profiles.shown_pins

    def read_slowly(member_id, pins):
        # The first pin dawdles between reading the pins and writing them back.
        shown = read_pins(member_id, pins)
        if threading.current_thread().name == "first":
            first_has_read.set()
            time.sleep(0.5)
        return shown

    monkeypatch.setattr(profiles, "shown_pins", read_slowly)

    def pin(workbook_id: int) -> None:
        try:
            if threading.current_thread().name == "second":
                first_has_read.wait(timeout=5)
            services.set_pinned(User.objects.get(pk=user.pk), workbook_id, True)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=pin, args=(first.pk,), name="first"),
        threading.Thread(target=pin, args=(second.pk,), name="second"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The member's row lock makes the second wait for the first, then read its pin.
    user.refresh_from_db()
    assert user.pinned_workbook_ids == [first.pk, second.pk]
