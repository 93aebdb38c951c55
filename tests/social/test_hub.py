"""One reader of the channel layer per process (social.hub): what a fan-out sends, and what an idle
socket keeps.

A push to many members used to be one `group_send` per member (a 10,000-follower fan-out: 10,000 of
them, each several Redis round trips), and each socket had a channel of its own in the layer, with
tasks waiting on it and on every timer. Here: the messages a push sends do not grow with its
recipients, a member's sockets in one process are one member of their group, and an idle socket
keeps no task of its own beyond the one serving it.
"""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from social import push, services
from social.consumers import user_group
from social.models import Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from tests.social.realtime import notification_ids, open_socket, receive_all, save_unpushed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def follower(db):
    return UserFactory(username="follower")


@pytest.fixture
def redis_layer(settings):
    """channels-redis, as production runs it: the hub reads every channel in one loop."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": "sp-test-hub"},
        }
    }
    yield get_channel_layer()
    async_to_sync(get_channel_layer().flush)()


def counting_group_sends(monkeypatch) -> list[str]:
    """The groups the channel layer is asked to send to, in order."""
    layer = get_channel_layer()
    sent: list[str] = []
    original = layer.group_send

    async def group_send(group, message):
        sent.append(group)
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", group_send)
    return sent


def author_with_followers(count: int):
    """An author, and the `count` members following them."""
    author = UserFactory()
    members = UserFactory.create_batch(count)
    for member in members:
        services.follow(member, author)
    Notification.objects.all().delete()
    return author, members


def stored_fan_out(author) -> list[int]:
    """The author publishes a workbook: the fan-out's notifications are stored (Celery runs eagerly
    here) but not pushed; the test pushes them. Their ids."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(push, "notifications", lambda ids: None)
        patched.setattr(push, "published", lambda workbook_id, created_at, rows: None)
        workbook = WorkbookFactory(author=author)
    return list(
        Notification.objects.filter(workbook=workbook, verb=Verb.PUBLISHED).values_list(
            "pk", flat=True
        )
    )


def publish_to_followers(count: int) -> list[int]:
    return stored_fan_out(author_with_followers(count)[0])


@pytest.mark.usefixtures("in_memory_layer")
@pytest.mark.parametrize("followers", [3, 40])
def test_a_fan_out_push_is_one_channel_layer_message_however_many_followers(followers, monkeypatch):
    ids = publish_to_followers(followers)
    sent = counting_group_sends(monkeypatch)

    push.notifications(ids)

    assert len(ids) == followers
    assert len(sent) == 1  # before: one per follower


@pytest.mark.usefixtures("in_memory_layer")
def test_a_push_to_one_member_goes_to_their_group_only(owner, monkeypatch):
    sent = counting_group_sends(monkeypatch)

    push.unread_count(owner.pk)

    assert sent == [user_group(owner.pk)]


@pytest.mark.usefixtures("in_memory_layer")
def test_every_connected_follower_hears_a_fan_out_pushed_as_one_message():
    author, members = author_with_followers(6)

    async def run():
        # Two sockets for the first follower, one each for four more; the sixth is away.
        sockets = [await open_socket(members[0])]
        sockets += [await open_socket(member) for member in members[:5]]
        ids = await database_sync_to_async(stored_fan_out)(author)
        await database_sync_to_async(push.notifications)(ids)
        heard = [notification_ids(await receive_all(socket)) for socket in sockets]
        for socket in sockets:
            await socket.disconnect()
        return heard

    heard = async_to_sync(run)()

    made = dict(Notification.objects.values_list("recipient", "pk"))
    assert len(made) == 6
    assert heard == [[made[members[0].pk]]] + [[made[member.pk]] for member in members[:5]]


@pytest.mark.usefixtures("in_memory_layer")
def test_a_members_sockets_in_one_process_are_one_member_of_their_group(owner):
    from social.hub import BROADCAST_GROUP

    async def run():
        sockets = [await open_socket(owner) for _ in range(3)]
        members_while_open = len(get_channel_layer().groups.get(user_group(owner.pk), {}))
        await sockets[0].disconnect()
        members_with_two = len(get_channel_layer().groups.get(user_group(owner.pk), {}))
        for socket in sockets[1:]:
            await socket.disconnect()
        await asyncio.sleep(0.1)  # leaving the group is not waited for by the closing socket
        return members_while_open, members_with_two, get_channel_layer().groups

    while_open, with_two, groups = async_to_sync(run)()

    assert (while_open, with_two) == (1, 1)
    assert user_group(owner.pk) not in groups
    assert BROADCAST_GROUP not in groups  # no connection left in this process


def idle_tasks_per_socket(sockets_of: list) -> tuple[int, int]:
    """(tasks running while `sockets_of` members' sockets are open and idle, sockets opened)."""

    async def run():
        before = len(asyncio.all_tasks())
        sockets = [await open_socket(member) for member in sockets_of]
        await asyncio.sleep(0.3)  # resumed, counted, idle
        during = len(asyncio.all_tasks())
        for socket in sockets:
            await socket.disconnect()
        return during - before, len(sockets)

    return async_to_sync(run)()


@pytest.mark.redis
def test_an_idle_socket_keeps_one_task_and_no_channel_of_its_own(redis_layer, owner, outsider):
    extra, sockets = idle_tasks_per_socket([owner, owner, owner, outsider, outsider])

    # One task per socket serves it (the test's stand-in for the server's); the process's hub adds
    # its reader and its re-joiner. Before: six more per socket (two waiting on the client and the
    # layer, four timers) and a queue and a channel in the layer.
    assert extra == sockets + 2
    assert redis_layer.receive_buffer == {}


@pytest.mark.redis
def test_a_members_sockets_are_one_member_of_their_redis_group(redis_layer, owner):
    async def run():
        sockets = [await open_socket(owner) for _ in range(3)]
        connection = redis_layer.connection(0)
        members = await connection.zcard(redis_layer._group_key(user_group(owner.pk)))
        for socket in sockets:
            await socket.disconnect()
        return members

    assert async_to_sync(run)() == 1


@pytest.mark.redis
def test_a_fan_out_reaches_sockets_through_redis_as_one_message(redis_layer, monkeypatch):
    author, members = author_with_followers(4)
    sent = counting_group_sends(monkeypatch)

    async def run():
        sockets = {member.pk: await open_socket(member) for member in members}
        ids = await database_sync_to_async(stored_fan_out)(author)
        await database_sync_to_async(push.notifications)(ids)
        heard = {uid: notification_ids(await receive_all(s)) for uid, s in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return heard

    heard = async_to_sync(run)()

    made = dict(Notification.objects.values_list("recipient", "pk"))
    assert heard == {member.pk: [made[member.pk]] for member in members}
    assert len(sent) == 1


@pytest.mark.redis
def test_pushes_lost_while_the_hub_could_not_read_redis_are_read_from_the_table(
    redis_layer, owner, follower, monkeypatch
):
    """Redis went away and came back: what was pushed meanwhile never reached the process, so
    every connection reads the table after what it sent."""
    original = redis_layer.receive_single
    failures = {"left": 0}

    async def receive_single(channel):
        if failures["left"]:
            failures["left"] -= 1
            await asyncio.sleep(0.05)
            raise ConnectionError("Redis went away")
        return await original(channel)

    monkeypatch.setattr(redis_layer, "receive_single", receive_single)

    async def run():
        socket = await open_socket(owner)
        # Stored while the reader cannot reach Redis, its push lost with it (never sent here).
        [missed] = await save_unpushed(owner, follower)
        failures["left"] = 2  # the reader's next two reads fail
        await redis_layer.group_send(
            user_group(owner.pk),
            {"type": "push.message", "messages": [{"type": "unread_count", "count": 0}]},
        )
        messages = await receive_all(socket, quiet=1.0)
        await socket.disconnect()
        return missed, messages

    missed, messages = async_to_sync(run)()

    assert notification_ids(messages) == [missed]
    assert messages[-1] == {"type": "unread_count", "count": 1}


def test_sign_in_rechecks_that_fall_due_together_are_one_database_call(
    owner, outsider, monkeypatch
):
    """A process with 10,000 sockets re-checks about 170 sign-ins a second: one database
    connection set up for each was more than its database thread could do."""
    from sigma_playground import websocket
    from social.hub import SignInChecks

    outsider.is_active = False
    outsider.save()
    calls = []
    batch_check = websocket.sign_ins_current

    async def counted(sign_ins):
        calls.append(len(sign_ins))
        return await batch_check(sign_ins)

    monkeypatch.setattr(websocket, "sign_ins_current", counted)

    class Watcher:
        answer: bool | None = None

        def sign_in_checked(self, current: bool) -> None:
            self.answer = current

    async def run():
        checks = SignInChecks()
        watchers = [Watcher() for _ in range(50)]
        for n, watcher in enumerate(watchers):
            member = outsider if n == 7 else owner
            checks.check(watcher, websocket.SignIn(member.pk, expires_at=time.time() + 60))
        expired = Watcher()
        checks.check(expired, websocket.SignIn(owner.pk, expires_at=time.time() - 1))
        while any(w.answer is None for w in [*watchers, expired]):
            await asyncio.sleep(0.05)
        return [w.answer for w in watchers], expired.answer

    answers, expired = async_to_sync(run)()

    assert calls == [51]
    assert answers == [n != 7 for n in range(50)]  # the deactivated member's sign-in ended
    assert expired is False
