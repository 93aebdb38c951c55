"""Pages and API answers go gzipped to a client that accepts it (sigma_playground/compression.py);
the event stream and other streams go as they are."""

from __future__ import annotations

import gzip
import json

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from tests.factories import UserFactory, WorkbookFactory
from tests.social.realtime import STREAM_PATH, StreamClient, access, bearer, use_in_memory_layer


def vary(response) -> set[str]:
    return {value.strip() for value in response.get("Vary", "").split(",")}


@pytest.mark.django_db
def test_a_page_is_sent_gzipped_to_a_browser_that_accepts_it_and_reads_the_same():
    WorkbookFactory(title="Quarterly revenue")

    plain = Client().get("/explore/")
    packed = Client().get("/explore/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content) / 2
    assert b"Quarterly revenue" in gzip.decompress(packed.content)
    # A shared cache keeps the two apart.
    assert "Accept-Encoding" in vary(plain)
    assert "Accept-Encoding" in vary(packed)


@pytest.mark.django_db
def test_an_api_answer_is_sent_gzipped_too():
    WorkbookFactory(title="Quarterly revenue")

    response = Client().get("/api/v1/workbooks/", HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    titles = [w["title"] for w in json.loads(gzip.decompress(response.content))["results"]]
    assert titles == ["Quarterly revenue"]


@pytest.mark.django_db(transaction=True)
def test_the_event_stream_is_never_compressed_so_each_event_arrives_as_it_is_sent(settings):
    use_in_memory_layer(settings)
    user = UserFactory()

    async def run():
        client = StreamClient(STREAM_PATH, [bearer(access(user)), (b"accept-encoding", b"gzip")])
        await client.start()
        await client.read_until("event: unread_count")  # plain text, readable event by event
        await client.hang_up()
        return client

    client = async_to_sync(run)()

    assert client.headers["content-type"] == "text/event-stream"
    assert "content-encoding" not in client.headers
