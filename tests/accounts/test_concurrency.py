"""Races that only a real database with row locks shows."""

import threading

import pytest
from django.db import connection

from accounts import tokens
from tests.factories import UserFactory


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
