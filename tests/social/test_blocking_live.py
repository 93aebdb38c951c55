"""Blocking, live: the blocker's socket is told which of the blocked member's notifications are
withdrawn, then their unread count, and nothing the blocked member does afterwards reaches it."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from social import services
from social.models import Notification
from tests.factories import WorkbookFactory
from tests.social.realtime import open_socket, receive_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]


def test_a_block_withdraws_what_is_pending_and_nothing_more_is_pushed(owner, outsider):
    workbook = WorkbookFactory(author=owner)
    their_own = WorkbookFactory(author=outsider)
    services.favorite(outsider, workbook)
    favorited = Notification.objects.get(recipient=owner, actor=outsider).pk

    async def run():
        communicator = await open_socket(owner)
        await database_sync_to_async(services.block)(owner, outsider)
        withdrawn = await receive_all(communicator)
        await database_sync_to_async(services.unfavorite)(outsider, workbook)
        await database_sync_to_async(services.favorite)(outsider, workbook)
        await database_sync_to_async(services.add_comment)(owner, their_own, "Mine")
        await database_sync_to_async(services.add_comment)(outsider, their_own, "Theirs")
        afterwards = await receive_all(communicator)
        await communicator.disconnect()
        return withdrawn, afterwards

    withdrawn, afterwards = async_to_sync(run)()

    assert withdrawn == [
        {"type": "withdrawn", "id": favorited},
        {"type": "unread_count", "count": 0},
    ]
    assert afterwards == []
