"""PUT and DELETE /api/v1/users/{username}/follow/."""

import pytest

from social.models import Follow, Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FOLLOW = "/api/v1/users/{}/follow/"


def test_following_answers_the_member_s_profile(outsider_client, owner):
    response = outsider_client.put(FOLLOW.format("owner"))

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "owner"
    assert body["is_following"] is True
    assert body["follower_count"] == 1


def test_following_twice_is_the_same_as_once(outsider_client, owner, outsider):
    outsider_client.put(FOLLOW.format("owner"))
    response = outsider_client.put(FOLLOW.format("owner"))

    assert response.status_code == 200
    assert response.json()["follower_count"] == 1
    assert Follow.objects.filter(follower=outsider, followee=owner).count() == 1
    assert Notification.objects.filter(recipient=owner).count() == 1


def test_following_finds_the_member_whatever_the_case(outsider_client, owner, outsider):
    assert outsider_client.put(FOLLOW.format("Owner")).status_code == 200

    assert Follow.objects.filter(follower=outsider, followee=owner).exists()


def test_following_notifies_the_member(outsider_client, owner):
    outsider_client.put(FOLLOW.format("owner"))

    notification = Notification.objects.get()
    assert (notification.recipient, notification.verb) == (owner, "followed")


def test_it_refuses_to_let_a_member_follow_themselves(owner_client, owner):
    response = owner_client.put(FOLLOW.format("OWNER"))

    assert response.status_code == 400
    assert response.json()["code"] == "self_follow"
    assert "detail" in response.json()
    assert not Follow.objects.exists()


def test_unfollowing_answers_204_every_time(outsider_client, owner, outsider):
    outsider_client.put(FOLLOW.format("owner"))

    first = outsider_client.delete(FOLLOW.format("owner"))
    again = outsider_client.delete(FOLLOW.format("owner"))

    assert (first.status_code, again.status_code) == (204, 204)
    assert not Follow.objects.exists()
    owner.refresh_from_db()
    outsider.refresh_from_db()
    assert (owner.follower_count, outsider.following_count) == (0, 0)


def test_unfollowing_someone_never_followed_is_a_204_too(outsider_client, owner):
    assert outsider_client.delete(FOLLOW.format("owner")).status_code == 204


@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_anonymous_visitor_gets_a_401(anonymous, owner, method):
    response = getattr(anonymous, method)(FOLLOW.format("owner"))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_unknown_or_deactivated_member_is_a_404(outsider_client, owner, method):
    owner.is_active = False
    owner.save(update_fields=["is_active"])

    assert getattr(outsider_client, method)(FOLLOW.format("owner")).status_code == 404
    assert getattr(outsider_client, method)(FOLLOW.format("nobody")).status_code == 404


def test_following_too_many_members_at_once_is_a_429_with_retry_after(
    rate_limits, outsider_client, owner
):
    for member in UserFactory.create_batch(2):
        assert outsider_client.put(FOLLOW.format(member.username)).status_code == 200

    response = outsider_client.put(FOLLOW.format("owner"))

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not Follow.objects.filter(followee=owner).exists()


def test_unfollowing_is_not_rate_limited(rate_limits, outsider_client, owner):
    for _ in range(5):
        assert outsider_client.delete(FOLLOW.format("owner")).status_code == 204


def test_get_is_not_allowed(outsider_client, owner):
    assert outsider_client.get(FOLLOW.format("owner")).status_code == 405
