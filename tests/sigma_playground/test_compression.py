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
from workbooks.models import Workbook


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
def test_the_copy_kept_for_visitors_after_a_gzipped_answer_goes_plain_to_a_plain_client():
    # The page cache sits below the compression: it keeps the page as made, whoever asked first.
    workbook = WorkbookFactory(title="Quarterly revenue")
    packed = Client().get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert b"Quarterly revenue" in gzip.decompress(packed.content)
    # Renamed behind the cache's back: only a kept copy still shows the old title.
    Workbook.objects.filter(pk=workbook.pk).update(title="Renamed quietly")

    plain = Client().get("/")

    assert "Content-Encoding" not in plain
    assert b"Quarterly revenue" in plain.content  # the kept copy, as HTML
    assert plain.content.lstrip().lower().startswith(b"<!doctype html>")
    assert "Accept-Encoding" in vary(plain)


@pytest.mark.django_db
def test_a_no_store_page_with_secrets_is_never_compressed(client):
    # The two-factor setup shows its secret beside what the visitor sent: no length to measure.
    client.force_login(UserFactory())

    response = client.get("/settings/two-factor/", HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Content-Encoding" not in response
    assert b"<form" in response.content


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
