"""When the channel layer or the broker fails, the write still succeeds and its request answers as
usual: pushes are hints (clients resume), and work the broker cannot take is logged or done another
way, never the member's error. (The cache failing: test_fail_open_cache.py.)"""

import asyncio
import time

import pytest
from channels.layers import InMemoryChannelLayer
from django.core import mail
from kombu.exceptions import OperationalError

from accounts import forms as account_forms
from social import push
from social import tasks as social_tasks
from social.models import Favorite
from tests.factories import UserFactory, WorkbookFactory
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db

EMBED = "https://app.sigmacomputing.com/embed/1-Quarterly01"


class StalledLayer(InMemoryChannelLayer):
    """A channel layer whose Redis accepts and never answers (stopped with SIGSTOP)."""

    async def group_send(self, group, message):
        await asyncio.sleep(60)


class FailingLayer(InMemoryChannelLayer):
    async def group_send(self, group, message):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def use_layer(settings, layer: type) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.{layer.__name__}"}}


def broker_down(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_push_to_a_stalled_channel_layer_gives_up_within_a_second_or_two(settings, user):
    use_layer(settings, StalledLayer)

    started = time.monotonic()
    push.unread_count(user.pk)

    assert time.monotonic() - started < push.PUSH_TIMEOUT_SECONDS + 1


def test_a_favorite_answers_200_and_is_kept_when_the_channel_layer_is_stalled(
    settings, auth_client, user, django_capture_on_commit_callbacks
):
    use_layer(settings, StalledLayer)
    workbook = WorkbookFactory()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.put(f"/api/v1/workbooks/{workbook.pk}/favorite/")

    assert response.status_code == 200
    assert Favorite.objects.filter(user=user, workbook=workbook).exists()
    assert time.monotonic() - started < push.PUSH_TIMEOUT_SECONDS + 2


def test_a_comment_answers_201_when_the_channel_layer_refuses_connections(
    settings, auth_client, django_capture_on_commit_callbacks
):
    use_layer(settings, FailingLayer)
    workbook = WorkbookFactory(author=UserFactory())

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            f"/api/v1/workbooks/{workbook.pk}/comments/", {"body": "Nice"}, format="json"
        )

    assert response.status_code == 201


def test_publishing_answers_201_when_the_broker_cannot_take_the_fan_out(
    auth_client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(social_tasks.fan_out_published, "delay", broker_down)
    body = {"title": "Published anyway", "embed_url": EMBED, "status": "published"}

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post("/api/v1/workbooks/", body, format="json")

    assert response.status_code == 201
    assert Workbook.objects.get(pk=response.json()["id"]).status == "published"


def test_a_password_reset_email_is_sent_from_the_request_when_the_broker_is_down(
    api_client, user, monkeypatch
):
    monkeypatch.setattr(account_forms.send_email, "delay", broker_down)

    response = api_client.post("/api/v1/auth/password-reset/", {"email": user.email}, format="json")

    assert response.status_code == 202
    assert [message.to for message in mail.outbox] == [[user.email]]
