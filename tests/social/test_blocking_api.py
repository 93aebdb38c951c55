"""PUT and DELETE /api/v1/users/{username}/block/, GET /api/v1/me/blocks/, and what a block
refuses or hides through the API."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from social import services
from social.models import Block, Comment, Follow, Notification
from tests.factories import UserFactory, WorkbookFactory
from tests.threads import in_parallel

pytestmark = pytest.mark.django_db

BLOCK = "/api/v1/users/{}/block/"
BLOCKS = "/api/v1/me/blocks/"


def test_blocking_answers_the_blocked_member(owner_client, owner, outsider):
    response = owner_client.put(BLOCK.format("Outsider"))  # a username in any case

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "outsider"
    assert set(body) == {"username", "full_name", "avatar", "blocked_at"}
    assert Block.objects.filter(blocker=owner, blocked=outsider).exists()


def test_blocking_twice_is_the_same_as_once(owner_client, owner, outsider):
    first = owner_client.put(BLOCK.format("outsider")).json()
    second = owner_client.put(BLOCK.format("outsider"))

    assert second.status_code == 200
    assert second.json()["blocked_at"] == first["blocked_at"]
    assert Block.objects.filter(blocker=owner).count() == 1


def test_unblocking_is_a_204_every_time(owner_client, owner, outsider):
    services.block(owner, outsider)

    assert owner_client.delete(BLOCK.format("outsider")).status_code == 204
    assert owner_client.delete(BLOCK.format("outsider")).status_code == 204
    assert not Block.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_blocking_yourself_is_a_400(owner_client, method):
    response = getattr(owner_client, method)(BLOCK.format("owner"))

    assert response.status_code == 400
    assert response.json()["code"] == "self_block"


@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_unknown_member_is_a_404_and_a_visitor_a_401(owner_client, anonymous, outsider, method):
    assert getattr(owner_client, method)(BLOCK.format("nobody")).status_code == 404
    assert getattr(anonymous, method)(BLOCK.format("outsider")).status_code == 401
    assert anonymous.get(BLOCKS).status_code == 401


def test_blocking_too_many_at_once_is_a_429(owner_client, owner, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "block": 2}
    first, second = UserFactory.create_batch(2)
    assert owner_client.put(BLOCK.format(first.username)).status_code == 200
    assert owner_client.delete(BLOCK.format(first.username)).status_code == 204

    response = owner_client.put(BLOCK.format(second.username))

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not Block.objects.filter(blocked=second).exists()


def test_my_blocks_lists_newest_first_with_when(owner_client, owner):
    members = UserFactory.create_batch(3)
    for member in members:
        services.block(owner, member)
    services.block(UserFactory(), owner)  # someone blocking me is not in my list

    response = owner_client.get(BLOCKS)

    assert response.status_code == 200
    body = response.json()
    assert {"next", "previous", "results"} <= set(body)
    assert [row["username"] for row in body["results"]] == [m.username for m in reversed(members)]
    assert all(row["blocked_at"] for row in body["results"])


def _count(client: APIClient) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(BLOCKS)
    assert response.status_code == 200
    return len(captured), "\n".join(query["sql"] for query in captured.captured_queries)


def test_my_blocks_costs_the_same_queries_for_3_and_for_30(owner):
    client = APIClient()
    for member in UserFactory.create_batch(3):
        services.block(owner, member)
    client.force_authenticate(User.objects.get(pk=owner.pk))
    few, _ = _count(client)

    for member in UserFactory.create_batch(27):
        Block.objects.create(blocker=owner, blocked=member)
    client.force_authenticate(User.objects.get(pk=owner.pk))
    many, sql = _count(client)

    assert few == many, sql
    assert many == 1, sql  # the page of members, the blocks joined


# --- What a block refuses and hides through the API -----------------------------------------------


def test_the_blocked_member_cannot_follow_the_blocker_403_blocked(owner, outsider, outsider_client):
    services.block(owner, outsider)

    response = outsider_client.put("/api/v1/users/owner/follow/")

    assert response.status_code == 403
    assert response.json() == {"detail": "You cannot follow this member.", "code": "blocked"}
    assert not Follow.objects.exists()


def test_the_blocked_member_cannot_comment_on_the_blockers_workbooks_403_blocked(
    owner, outsider, outsider_client, workbook
):
    services.block(owner, outsider)

    response = outsider_client.post(
        f"/api/v1/workbooks/{workbook.pk}/comments/", {"body": "Hi"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "blocked"
    assert not Comment.objects.exists()


def test_the_blocked_members_favorite_does_not_notify_the_blocker(
    owner, outsider, outsider_client, workbook
):
    services.block(owner, outsider)

    assert outsider_client.put(f"/api/v1/workbooks/{workbook.pk}/favorite/").status_code == 200

    assert not Notification.objects.filter(recipient=owner).exists()


def test_the_blocker_does_not_get_their_comments_in_the_list(
    owner, outsider, owner_client, stranger_client, workbook
):
    services.add_comment(outsider, workbook, "From the blocked member")
    services.add_comment(UserFactory(), workbook, "From someone else")
    services.block(owner, outsider)
    url = f"/api/v1/workbooks/{workbook.pk}/comments/"

    mine = [row["body"] for row in owner_client.get(url).json()["results"]]
    theirs = [row["body"] for row in stranger_client.get(url).json()["results"]]
    visitors = [row["body"] for row in APIClient().get(url).json()["results"]]

    assert mine == ["From someone else"]
    assert theirs == visitors == ["From the blocked member", "From someone else"]


def test_the_comment_list_costs_the_blocker_the_same_queries_for_1_and_30_blocks(owner, outsider):
    workbook = WorkbookFactory(author=UserFactory())
    for n in range(3):
        services.add_comment(UserFactory(), workbook, f"Comment {n}")
    services.add_comment(outsider, workbook, "Hidden")
    services.block(owner, outsider)
    url = f"/api/v1/workbooks/{workbook.pk}/comments/"
    client = APIClient()

    def count() -> tuple[int, str]:
        client.force_authenticate(User.objects.get(pk=owner.pk))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert len(response.json()["results"]) == 3
        return len(captured), "\n".join(query["sql"] for query in captured.captured_queries)

    few, _ = count()
    for member in UserFactory.create_batch(29):
        Block.objects.create(blocker=owner, blocked=member)
    many, sql = count()

    # As for any member (test_query_counts): the workbook, a page of comments with their authors.
    assert few == many == 2, sql


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_follow_racing_a_block_never_survives_it():
    """Each pair at once: one blocks, the other follows them. Whichever commits first, no follow is
    left across a block and the counters equal the rows."""
    pairs = [(UserFactory(), UserFactory()) for _ in range(8)]
    calls = []
    for blocker, other in pairs:
        calls.append(_as(blocker, "put", BLOCK.format(other.username)))
        calls.append(_as(other, "put", f"/api/v1/users/{blocker.username}/follow/"))

    statuses = in_parallel(calls)

    assert set(statuses[0::2]) == {200}
    assert set(statuses[1::2]) <= {200, 403}
    assert not Follow.objects.exists()
    for member in User.objects.all():
        assert (member.follower_count, member.following_count) == (0, 0)


def _as(user: User, method: str, url: str):
    def call() -> int:
        client = APIClient()
        client.force_authenticate(user)
        return getattr(client, method)(url).status_code

    return call
