"""One per-member rate limit for every app (sigma_playground.rates): one counter per member, action
and minute, and one refusal (RateLimited, a 429 with Retry-After) whatever app refuses; the
accounts' throttles' refusals are the same kind."""

from __future__ import annotations

import time

import pytest
from django.test import RequestFactory

from accounts import providers, services, verification
from sigma_playground.errors import RetryLater
from sigma_playground.rates import RateLimited, check_rate
from social import services as social_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_minute() -> None:
    """The limits count per clock minute: a test begun in a minute's last seconds waits."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left)


def test_a_member_or_their_id_counts_once_per_action_and_minute(settings):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "report": 2}
    member, other = UserFactory(), UserFactory()

    check_rate(member, "report")
    check_rate(member.pk, "report")
    with pytest.raises(RateLimited) as refused:
        check_rate(member, "report")

    assert 1 <= refused.value.retry_after <= 60
    assert (
        str(refused.value)
        == f"Too many requests. Try again in {refused.value.retry_after} seconds."
    )
    check_rate(other, "report")  # another member's own count
    check_rate(member, "follow")  # another action's own count


def test_social_and_provider_links_refuse_with_the_one_error(settings):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "provider_link": 1, "block": 1}
    member = UserFactory()
    providers.check_link_rate(member)
    social_services.check_rate(member, "block")

    with pytest.raises(RateLimited):
        providers.check_link_rate(member)
    with pytest.raises(RateLimited):
        social_services.check_rate(member, "block")
    assert social_services.RateLimited is RateLimited


def test_verification_emails_refuse_with_the_one_error_saying_why(settings):
    settings.EMAIL_VERIFICATION_EMAILS_PER_HOUR = 1
    member = UserFactory(email_verified=False)
    verification.resend(member)

    with pytest.raises(RateLimited) as refused:
        verification.resend(member)

    assert str(refused.value).startswith("We have sent you several emails already. Try again in")


def test_the_accounts_throttles_are_rate_limits_too(settings):
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 1
    member = UserFactory()
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.20")
    with pytest.raises(services.SignInFailed):
        services.sign_in(request, member.username, "not it")

    with pytest.raises(services.SignInThrottled) as refused:
        services.sign_in(request, member.username, "not it")

    assert isinstance(refused.value, RateLimited)
    assert isinstance(refused.value, RetryLater)
    assert str(refused.value).startswith("Too many failed sign-ins. Try again in")
