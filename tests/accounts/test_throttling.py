"""The sign-in brute-force guard at POST /api/v1/auth/token/: 5 failures per username and 20 per
address within 15 minutes, then 429 with Retry-After until the window ends."""

import hashlib
import time

import pyotp
import pytest
from django.core.cache import cache

from accounts import throttling
from tests.accounts.helpers import TOKEN_URL, enable_mfa, sign_in, wrong_code
from tests.factories import PASSWORD, UserFactory

WINDOW = 15 * 60

pytestmark = pytest.mark.django_db


def fail(client, times, username="owner", address="127.0.0.1", **extra):
    statuses = [
        sign_in(client, username, "not the password", address, **extra).status_code
        for _ in range(times)
    ]
    assert 429 not in statuses, statuses


def username_key(username: str) -> str:
    return f"signin:user:{hashlib.sha256(username.encode()).hexdigest()[:32]}"


def retry_after(response) -> int:
    return int(response["Retry-After"])


class Clock:
    """Stands in for the `time` module inside accounts.throttling."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttling, "time", fake)
    return fake


# --- Per username --------------------------------------------------------------------------


def test_it_answers_the_first_five_failures_with_401(api_client, user):
    statuses = [sign_in(api_client, password="not the password").status_code for _ in range(5)]

    assert statuses == [401] * 5


def test_it_answers_429_after_five_failures_even_with_the_right_password(api_client, user):
    fail(api_client, 5)

    response = sign_in(api_client)

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "access" not in response.json()


def test_it_sends_retry_after_in_whole_seconds_within_the_window(api_client, user):
    fail(api_client, 5)

    response = sign_in(api_client)

    assert response["Retry-After"].isdigit()
    assert 0 < retry_after(response) <= WINDOW


def test_it_still_lets_the_right_password_in_after_four_failures(api_client, user):
    fail(api_client, 4)

    response = sign_in(api_client)

    assert response.status_code == 200


def test_it_answers_a_throttled_right_and_wrong_password_alike(api_client, user):
    fail(api_client, 5)

    right = sign_in(api_client)
    wrong = sign_in(api_client, password="not the password")

    assert right.status_code == wrong.status_code == 429
    assert right.json() == wrong.json()


def test_it_counts_failures_for_one_username_in_any_case(api_client, user):
    for spelling in ("owner", "OWNER", "Owner", "oWnEr", "owNER"):
        fail(api_client, 1, username=spelling)

    response = sign_in(api_client, username="owner")

    assert response.status_code == 429


def test_it_throttles_an_unknown_username_like_a_known_one(api_client, user):
    fail(api_client, 5, username="nobody")

    response = sign_in(api_client, username="nobody")

    assert response.status_code == 429


def test_it_throttles_a_username_from_every_address(api_client, user):
    for n in range(5):
        fail(api_client, 1, address=f"203.0.113.{n}")

    response = sign_in(api_client, address="198.51.100.1")

    assert response.status_code == 429


def test_it_does_not_throttle_other_usernames_for_one_locked_username(api_client, user, other_user):
    fail(api_client, 5)

    response = sign_in(api_client, username="outsider")

    assert response.status_code == 200


def test_it_counts_a_wrong_otp_as_a_failure(api_client, user):
    enable_mfa(user)
    fail(api_client, 5, otp=wrong_code(user.mfa_secret))

    response = sign_in(api_client, otp=pyotp.TOTP(user.mfa_secret).at(time.time()))

    assert response.status_code == 429


def test_it_does_not_count_a_missing_otp_as_a_failure(api_client, user):
    enable_mfa(user)
    statuses = [sign_in(api_client).status_code for _ in range(6)]

    response = sign_in(api_client, otp=pyotp.TOTP(user.mfa_secret).at(time.time()))

    assert statuses == [401] * 6
    assert response.status_code == 200


# --- Per address ---------------------------------------------------------------------------


def test_it_answers_429_after_twenty_failures_from_one_address_across_usernames(api_client, user):
    for n in range(5):
        fail(api_client, 4, username=f"guess{n}")

    response = sign_in(api_client)

    assert response.status_code == 429
    assert 0 < retry_after(response) <= WINDOW


def test_it_still_answers_the_twentieth_failure_from_one_address_with_401(api_client, user):
    for n in range(4):
        fail(api_client, 4, username=f"guess{n}")
    fail(api_client, 3, username="guess4")

    last_failure = sign_in(api_client, username="guess4", password="not the password")
    after = sign_in(api_client)

    assert last_failure.status_code == 401
    assert after.status_code == 429


def test_it_only_throttles_the_address_that_failed(api_client, user):
    for n in range(5):
        fail(api_client, 4, username=f"guess{n}", address="203.0.113.9")

    response = sign_in(api_client, address="198.51.100.1")

    assert response.status_code == 200


def test_it_ignores_x_forwarded_for_without_trusted_proxies(api_client, user, settings):
    settings.NUM_PROXIES = 0
    for n in range(20):
        api_client.post(
            TOKEN_URL,
            {"username": f"guess{n}", "password": "not the password"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    response = sign_in(api_client)

    assert response.status_code == 429


def test_it_counts_the_client_address_given_by_a_trusted_proxy(api_client, user, settings):
    settings.NUM_PROXIES = 1
    for n in range(20):
        api_client.post(
            TOKEN_URL,
            {"username": f"guess{n}", "password": "not the password"},
            format="json",
            HTTP_X_FORWARDED_FOR="192.0.2.66",
        )

    locked = api_client.post(
        TOKEN_URL,
        {"username": "owner", "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="192.0.2.66",
    )
    other_client = api_client.post(
        TOKEN_URL,
        {"username": "owner", "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="192.0.2.77",
    )

    assert locked.status_code == 429
    assert other_client.status_code == 200


# --- Where the counts live, and what resets them ---------------------------------------------


def test_it_keeps_the_counts_in_the_cache(api_client, user):
    fail(api_client, 3)

    assert cache.get(username_key("owner")) == 3
    assert cache.get("signin:addr:127.0.0.1") == 3


def test_clearing_the_cache_lifts_the_throttle(api_client, user):
    fail(api_client, 5)
    assert sign_in(api_client).status_code == 429

    cache.clear()

    assert sign_in(api_client).status_code == 200


def test_deleting_the_usernames_keys_lifts_a_username_throttle(api_client, user):
    fail(api_client, 5)

    cache.delete_many([username_key("owner"), f"{username_key('owner')}:until"])

    assert sign_in(api_client).status_code == 200


def test_a_success_resets_the_username_count(api_client, user):
    fail(api_client, 4)
    assert sign_in(api_client).status_code == 200

    fail(api_client, 4)
    response = sign_in(api_client)

    assert response.status_code == 200
    assert cache.get(username_key("owner")) is None


def test_a_success_does_not_reset_the_address_count(api_client, user):
    fail(api_client, 3)

    sign_in(api_client)

    assert cache.get("signin:addr:127.0.0.1") == 3


def test_a_success_does_not_help_other_usernames_from_the_address(api_client, user, other_user):
    for n in range(4):
        fail(api_client, 4, username=f"guess{n}")
    fail(api_client, 3, username="outsider")
    assert sign_in(api_client, username="outsider").status_code == 200

    fail(api_client, 1, username="guess9")

    assert sign_in(api_client).status_code == 429


# --- The window ----------------------------------------------------------------------------


def test_it_lets_sign_in_again_once_the_window_ends(api_client, user, clock):
    fail(api_client, 5)
    assert sign_in(api_client).status_code == 429

    clock.advance(WINDOW + 1)

    assert sign_in(api_client).status_code == 200


def test_it_still_throttles_just_before_the_window_ends(api_client, user, clock):
    fail(api_client, 5)

    clock.advance(WINDOW - 10)
    response = sign_in(api_client)

    assert response.status_code == 429
    assert 0 < retry_after(response) <= 10


def test_retry_after_counts_down_to_the_end_of_the_window(api_client, user, clock):
    fail(api_client, 5)
    clock.advance(600)

    response = sign_in(api_client)

    assert retry_after(response) == WINDOW - 600


def test_the_window_starts_at_the_first_failure(api_client, user, clock):
    fail(api_client, 1)
    clock.advance(800)
    fail(api_client, 4)

    response = sign_in(api_client)

    assert response.status_code == 429
    assert retry_after(response) == WINDOW - 800


def test_it_lets_the_address_sign_in_again_once_its_window_ends(api_client, user, clock):
    for n in range(5):
        fail(api_client, 4, username=f"guess{n}")
    assert sign_in(api_client).status_code == 429

    clock.advance(WINDOW + 1)

    assert sign_in(api_client).status_code == 200


def test_each_username_has_its_own_window(api_client, user, clock):
    UserFactory(username="third")
    fail(api_client, 5, username="third")
    clock.advance(300)
    fail(api_client, 5)

    clock.advance(WINDOW - 300 + 1)

    assert sign_in(api_client, username="third").status_code == 200
    assert sign_in(api_client).status_code == 429
