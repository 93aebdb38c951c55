"""A socket or event stream open longer than the channel layer's group expiry still hears its member.

Both layers forget a group member `group_expiry` seconds after it joined (channels-redis by the join
time in a sorted set, the in-memory layer likewise). A connection that joined once went deaf after a
day, with pings still keeping it open, so its client never reconnected. Here the expiry is one second
and each connection stays open for several.
"""

import asyncio
import os
import subprocess
import sys

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from social import hub
from tests.factories import UserFactory
from tests.social.realtime import (
    STREAM_PATH,
    StreamClient,
    access,
    anotify,
    bearer,
    notification_ids,
    open_socket,
    receive_all,
)

pytestmark = pytest.mark.django_db(transaction=True)

GROUP_EXPIRY = 1
OPEN_FOR = 4 * GROUP_EXPIRY


@pytest.fixture(
    params=[
        pytest.param("channels.layers.InMemoryChannelLayer", id="in-memory"),
        pytest.param("channels_redis.core.RedisChannelLayer", id="redis", marks=pytest.mark.redis),
    ]
)
def short_group_expiry(request, settings):
    """The channel layer with a one-second group expiry (CHANNEL_LAYER_GROUP_EXPIRY)."""
    config: dict = {"group_expiry": GROUP_EXPIRY}
    if "redis" in request.param:
        config |= {"hosts": [settings.REDIS_URL], "prefix": "sp-test-expiry"}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": request.param, "CONFIG": config}}
    yield
    async_to_sync(get_channel_layer().flush)()


@pytest.fixture
def follower(db):
    return UserFactory(username="follower")


def test_the_rejoin_interval_is_a_quarter_of_the_layers_group_expiry(short_group_expiry):
    assert hub.rejoin_interval(get_channel_layer()) == GROUP_EXPIRY / 4


def test_a_socket_open_for_several_group_expiries_still_receives(
    short_group_expiry, owner, follower
):
    async def run():
        communicator = await open_socket(owner)
        await asyncio.sleep(OPEN_FOR)
        notification_id = await anotify(owner, follower)
        messages = await receive_all(communicator, quiet=0.5)
        await communicator.disconnect()
        return notification_id, messages

    notification_id, messages = async_to_sync(run)()

    assert notification_ids(messages) == [notification_id]


def test_an_event_stream_open_for_several_group_expiries_still_receives(
    short_group_expiry, owner, follower
):
    async def run():
        client = await StreamClient(STREAM_PATH, [bearer(access(owner))]).start()
        await client.read_until("event: unread_count")
        await asyncio.sleep(OPEN_FOR)
        notification_id = await anotify(owner, follower)
        body = await client.read_until(f"id: {notification_id}\n", timeout=3)
        await client.hang_up()
        return notification_id, body

    notification_id, body = async_to_sync(run)()

    assert body.count("event: notification") == 1
    assert f"id: {notification_id}\n" in body


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:6379/0"], ids=["in-memory", "redis"])
def test_channel_layer_group_expiry_sets_the_layers_group_expiry(redis_url):
    environ = {**os.environ, "DEBUG": "true", "CHANNEL_LAYER_GROUP_EXPIRY": "3600"}
    environ.pop("REDIS_URL", None)
    if redis_url:
        environ["REDIS_URL"] = redis_url
    read = "from sigma_playground import settings; print(settings.CHANNEL_LAYERS)"
    result = subprocess.run(
        [sys.executable, "-c", read], env=environ, capture_output=True, text=True, check=True
    )
    assert "'group_expiry': 3600" in result.stdout
