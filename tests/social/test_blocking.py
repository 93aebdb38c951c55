"""Blocking a member (social.services.block): what it removes, what it refuses from then on, and
what the blocker no longer sees; unblocking undoes it. The services, the pages and the comments'
slot of the shared workbook page."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from media import services as media_services
from social import collection_services, services
from social.models import Block, Comment, Follow, Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from tests.media import images

pytestmark = pytest.mark.django_db


@pytest.fixture
def blocker(owner):
    """The owner, author of `workbook`, who blocks the outsider."""
    return owner


@pytest.fixture
def blocked(outsider):
    return outsider


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


# --- What a block removes -------------------------------------------------------------------------


def test_a_block_removes_the_follows_both_ways_and_counts_them_down(blocker, blocked):
    services.follow(blocked, blocker)
    services.follow(blocker, blocked)

    assert services.block(blocker, blocked) is True

    assert not Follow.objects.exists()
    for member in (fresh(blocker), fresh(blocked)):
        assert (member.follower_count, member.following_count) == (0, 0)


def test_a_block_withdraws_the_blocked_members_unread_notifications_to_the_blocker(
    blocker, blocked, workbook
):
    services.favorite(blocked, workbook)
    services.add_comment(blocked, workbook, "First!")
    read = services.notify(blocker, blocked, Verb.FAVORITED, workbook=workbook)
    services.mark_read(blocker, [read.pk])
    from_someone_else = services.notify(blocker, UserFactory(), Verb.FOLLOWED)

    services.block(blocker, blocked)

    left = set(Notification.objects.filter(recipient=blocker).values_list("pk", flat=True))
    assert left == {read.pk, from_someone_else.pk}


def test_blocking_twice_is_the_same_as_once(blocker, blocked):
    assert services.block(blocker, blocked) is True
    assert services.block(blocker, blocked) is False
    assert Block.objects.filter(blocker=blocker, blocked=blocked).count() == 1


def test_nobody_blocks_themselves(blocker):
    with pytest.raises(ValidationError) as refused:
        services.block(blocker, blocker)
    assert refused.value.code == "self_block"
    with pytest.raises(ValidationError):
        services.unblock(blocker, blocker)


def test_blocking_is_rate_limited(blocker, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "block": 2}
    first, second = UserFactory.create_batch(2)
    services.block(blocker, first)
    services.unblock(blocker, first)

    with pytest.raises(services.RateLimited):
        services.block(blocker, second)
    assert not Block.objects.filter(blocked=second).exists()


# --- What the blocked member can no longer do -----------------------------------------------------


def test_the_blocked_member_cannot_follow_the_blocker(blocker, blocked):
    services.block(blocker, blocked)

    with pytest.raises(services.Blocked) as refused:
        services.follow(blocked, blocker)

    assert refused.value.code == "blocked"
    assert "block" not in str(refused.value)  # they are not told why
    assert not Follow.objects.exists()
    assert fresh(blocker).follower_count == 0


def test_the_blocker_cannot_follow_whom_they_block_until_they_unblock(blocker, blocked):
    services.block(blocker, blocked)
    with pytest.raises(services.Blocked):
        services.follow(blocker, blocked)


def test_the_blocked_member_cannot_comment_on_the_blockers_workbooks(blocker, blocked, workbook):
    services.block(blocker, blocked)

    with pytest.raises(services.Blocked):
        services.add_comment(blocked, workbook, "Hello again")

    assert not Comment.objects.exists()
    # Elsewhere they still can.
    services.add_comment(blocked, WorkbookFactory(), "Elsewhere")


def test_the_blocked_member_notifies_the_blocker_of_nothing(blocker, blocked, workbook):
    services.block(blocker, blocked)
    someone_elses = WorkbookFactory()
    services.add_comment(blocker, someone_elses, "Mine")

    services.favorite(blocked, workbook)
    collection = collection_services.create(blocked, title="Picks")
    collection_services.add(blocked, collection, workbook)
    services.add_comment(blocked, someone_elses, "Theirs")
    assert services.notify(blocker, blocked, Verb.FOLLOWED) is None

    assert not Notification.objects.filter(recipient=blocker).exists()
    # Others still hear from them.
    assert Notification.objects.filter(recipient=someone_elses.author, actor=blocked).exists()


def test_the_blocker_is_not_told_of_a_workbook_the_blocked_member_publishes(blocker, blocked):
    services.follow(blocker, blocked)
    services.block(blocker, blocked)
    workbook = WorkbookFactory(author=blocked)

    services.fan_out_published(workbook.pk)

    assert not Notification.objects.filter(recipient=blocker, verb=Verb.PUBLISHED).exists()


def test_unblocking_undoes_the_refusals_but_not_the_removed_follows(blocker, blocked, workbook):
    services.follow(blocked, blocker)
    services.block(blocker, blocked)

    assert services.unblock(blocker, blocked) is True
    assert services.unblock(blocker, blocked) is False

    assert not Follow.objects.exists()
    services.follow(blocked, blocker)
    services.add_comment(blocked, workbook, "Back again")
    assert Notification.objects.filter(recipient=blocker, actor=blocked).count() == 2
    assert fresh(blocker).follower_count == 1


# --- What the blocker no longer sees --------------------------------------------------------------


def comment_bodies(client: Client, workbook) -> str:
    response = client.get(workbook.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def discussed(workbook, blocked):
    """The owner's workbook (on its shared page) with a comment by the blocked member and one by
    someone else."""
    services.add_comment(blocked, workbook, "Words of the blocked member")
    services.add_comment(UserFactory(), workbook, "Words of someone else")
    return workbook


def test_the_blocker_does_not_see_their_comments_on_a_page_others_still_see_them_on(
    blocker, blocked, discussed
):
    reader = signed_in(UserFactory())
    visitor = Client()
    # The shared copy and the kept comment list are made before the block, by other viewers.
    assert "Words of the blocked member" in comment_bodies(reader, discussed)

    services.block(blocker, blocked)
    theirs = comment_bodies(signed_in(blocker), discussed)

    assert "Words of the blocked member" not in theirs
    assert "Words of someone else" in theirs
    # Nothing of the blocker's view is in the copy every reader gets.
    for client in (reader, visitor, signed_in(blocked)):
        page = comment_bodies(client, discussed)
        assert "Words of the blocked member" in page
        assert "Words of someone else" in page


def test_the_blocker_does_not_see_their_comments_on_someone_elses_workbook(blocker, blocked):
    workbook = WorkbookFactory()
    services.add_comment(blocked, workbook, "Words of the blocked member")
    services.block(blocker, blocked)

    page = comment_bodies(signed_in(blocker), workbook)

    assert "Words of the blocked member" not in page
    assert "No comments yet." in page


def test_unblocking_shows_their_comments_again(blocker, blocked, discussed):
    client = signed_in(blocker)
    services.block(blocker, blocked)
    assert "Words of the blocked member" not in comment_bodies(client, discussed)

    services.unblock(blocker, blocked)

    assert "Words of the blocked member" in comment_bodies(client, discussed)


def test_the_workbook_page_costs_a_member_who_blocks_the_same_queries_for_1_and_30_blocks(
    blocker, blocked, discussed
):
    client = signed_in(blocker)
    services.block(blocker, blocked)

    def queries() -> tuple[int, str]:
        # A fresh token: the viewer's kept state is made again, as after their next block.
        services.gallery_cache.object_changed("user", blocker.pk)
        with CaptureQueriesContext(connection) as captured:
            assert "Words of the blocked member" not in comment_bodies(client, discussed)
        return len(captured), "\n".join(q["sql"] for q in captured.captured_queries)

    queries(), queries()  # the page's copies made and kept
    few, _ = queries()
    for member in UserFactory.create_batch(29):
        Block.objects.create(blocker=blocker, blocked=member)
    many, sql = queries()
    assert few == many, sql


def test_a_member_who_blocks_no_one_pays_no_query_for_whom(blocker, blocked, discussed):
    services.block(blocker, blocked)
    reader = UserFactory()
    client = signed_in(reader)
    comment_bodies(client, discussed)  # the shared copy and the comments, kept
    services.gallery_cache.object_changed("user", reader.pk)
    with CaptureQueriesContext(connection) as captured:
        page = comment_bodies(client, discussed)

    assert "Words of the blocked member" in page  # someone else's block changes nothing here
    # The state query says whether they block anyone (an EXISTS); no query reads whom.
    assert not [q for q in captured.captured_queries if '"social_block"."blocked_id"' in q["sql"]]


# --- The profile's button and the confirming page -------------------------------------------------


def test_the_profile_shows_block_to_a_member_and_unblock_once_they_block(blocker, blocked):
    client = signed_in(blocker)
    profile = f"/u/{blocked.username}/"

    page = client.get(profile).content.decode()
    assert f'href="/u/{blocked.username}/block/?next=' in page
    assert "Unblock" not in page

    services.block(blocker, blocked)
    page = client.get(profile).content.decode()
    assert "Unblock" in page
    assert f'action="/u/{blocked.username}/follow/"' not in page  # no Follow for whom you block
    # Visitors and the blocked member themselves see no state of the blocker's.
    assert "Unblock" not in Client().get(profile).content.decode()
    assert "Unblock" not in signed_in(UserFactory()).get(profile).content.decode()


def test_the_block_page_asks_then_blocks_and_unblocks(blocker, blocked):
    client = signed_in(blocker)
    url = f"/u/{blocked.username}/block/"

    asked = client.get(url)
    assert asked.status_code == 200
    assert b"They are not told." in asked.content
    assert not Block.objects.exists()

    response = client.post(url, {"block": "1", "next": "/"})
    assert response.status_code == 302
    assert Block.objects.filter(blocker=blocker, blocked=blocked).exists()

    client.post(url, {"block": "0"})
    assert not Block.objects.exists()


def test_the_block_page_refuses_yourself_and_a_stranger_name(blocker):
    client = signed_in(blocker)
    assert client.post(f"/u/{blocker.username}/block/", {"block": "1"}).status_code == 400
    assert client.post("/u/nobody-here/block/", {"block": "1"}).status_code == 404
    assert Client().post(f"/u/{blocker.username}/block/").status_code == 302  # sign in first


def test_the_block_page_is_rate_limited(blocker, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "block": 1}
    client = signed_in(blocker)
    first, second = UserFactory.create_batch(2)
    client.post(f"/u/{first.username}/block/", {"block": "1"})

    response = client.post(f"/u/{second.username}/block/", {"block": "1"})

    assert response.status_code == 429
    assert response["Retry-After"]


def test_pages_refuse_a_blocked_members_follow_and_comment_with_a_403(blocker, blocked, workbook):
    services.block(blocker, blocked)
    client = signed_in(blocked)

    follow = client.post(f"/u/{blocker.username}/follow/", {"follow": "1"})
    comment = client.post(f"/w/{workbook.slug}/comments/", {"body": "Hello"})

    assert (follow.status_code, comment.status_code) == (403, 403)
    assert b"You cannot follow this member." in follow.content
    assert not Follow.objects.exists()
    assert not Comment.objects.exists()


# --- Settings ---------------------------------------------------------------------------------------


def test_settings_list_the_blocked_members_with_unblock(blocker, blocked):
    services.block(blocker, blocked)

    page = signed_in(blocker).get("/settings/").content.decode()

    assert "Blocked members" in page
    assert f"@{blocked.username}" in page
    assert f'action="/u/{blocked.username}/block/"' in page


def test_the_settings_section_costs_the_same_queries_for_1_and_30_blocks(blocker, blocked):
    client = signed_in(blocker)
    services.block(blocker, blocked)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/settings/").status_code == 200
        return len(captured)

    queries()  # the session and what a first page makes
    few = queries()
    for member in UserFactory.create_batch(29):
        Block.objects.create(blocker=blocker, blocked=member)
    many = queries()

    assert few == many
    page = client.get("/settings/").content.decode()
    assert 'href="/blocked/"' in page  # more than the section shows


def test_the_blocked_list_page_pages_newest_first(blocker):
    members = UserFactory.create_batch(3)
    for member in members:
        services.block(blocker, member)

    page = signed_in(blocker).get("/blocked/").content.decode()

    positions = [page.index(f"@{member.username}") for member in reversed(members)]
    assert positions == sorted(positions)


def test_the_blocked_list_page_costs_the_same_queries_for_3_and_30_blocks(
    blocker, django_capture_on_commit_callbacks
):
    def upload(member: User) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            media_services.accept_upload(
                owner=member, kind="avatar", holder=None, file=io.BytesIO(images.jpeg())
            )

    client = signed_in(blocker)
    members = UserFactory.create_batch(30)
    for member in members[:3]:
        upload(member)  # avatars: each block's row shows one
        services.block(blocker, member)

    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/blocked/")
            assert response.status_code == 200
        return len(captured), response.content.decode()

    queries()  # the session and what a first page makes
    few, page = queries()
    assert all(f"@{member.username}" in page for member in members[:3])
    for member in members[3:]:
        upload(member)
        Block.objects.create(blocker=blocker, blocked=member)
    many, page = queries()

    assert few == many
    assert all(f"@{member.username}" in page for member in members)  # one page of 30
