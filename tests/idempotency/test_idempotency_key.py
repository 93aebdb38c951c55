"""`Idempotency-Key` on the API's POSTs that create: a retry answers the first answer and creates
nothing more; another body with the key is a 422; a retry racing the first waits for it."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from idempotency import services as idempotency_services
from idempotency.models import IdempotencyKey
from idempotency.tasks import remove_expired_keys
from media.models import Image
from social.models import Comment
from tests.factories import PASSWORD, PUBLIC_EMBED, UserFactory, WorkbookFactory
from tests.media import images
from workbooks import services as workbook_services
from workbooks.models import Workbook

WORKBOOKS_URL = "/api/v1/workbooks/"
REGISTER_URL = "/api/v1/auth/register/"


def new_workbook(**overrides) -> dict:
    return {
        "title": "Revenue by region",
        "embed_url": PUBLIC_EMBED.format("Retried01"),
        "tags": ["finance"],
        "status": "published",
    } | overrides


def post(client: APIClient, url: str, body: dict, key: str | None, **extra):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(url, body, format=extra.pop("format", "json"), headers=headers, **extra)


def key() -> str:
    return str(uuid.uuid4())


# --- Retries create once -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_retried_workbook_post_answers_the_first_answer_and_creates_one_workbook(auth_client):
    retry_key = key()
    first = post(auth_client, WORKBOOKS_URL, new_workbook(), retry_key)
    again = post(auth_client, WORKBOOKS_URL, new_workbook(), retry_key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Workbook.objects.count() == 1


@pytest.mark.django_db
def test_the_same_body_in_another_key_order_and_spacing_is_the_same_request(auth_client):
    retry_key = key()
    body = new_workbook()
    first = auth_client.post(
        WORKBOOKS_URL, body, format="json", headers={"Idempotency-Key": retry_key}
    )
    reordered = '{ "status": "published", "tags": ["finance"], "embed_url": "%s", "title": "%s" }'
    again = auth_client.generic(
        "POST",
        WORKBOOKS_URL,
        reordered % (body["embed_url"], body["title"]),
        content_type="application/json",
        headers={"Idempotency-Key": retry_key},
    )

    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Workbook.objects.count() == 1


@pytest.mark.django_db
def test_a_retried_comment_creates_one_comment_and_does_not_spend_the_rate_limit(
    auth_client, settings
):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "comment": 1}
    workbook = WorkbookFactory()
    url = f"/api/v1/workbooks/{workbook.pk}/comments/"
    retry_key = key()

    answers = [post(auth_client, url, {"body": "Lovely chart."}, retry_key) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert Comment.objects.count() == 1


@pytest.mark.django_db
def test_a_retried_registration_creates_one_account(api_client):
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    retry_key = key()

    first = post(api_client, REGISTER_URL, body, retry_key)
    again = post(api_client, REGISTER_URL, body, retry_key)

    assert first.status_code == again.status_code == 201
    assert (
        again.json()
        == first.json()
        == {
            "id": User.objects.get().pk,
            "username": "ada",
            "email": "ada@example.com",
        }
    )


@pytest.mark.django_db
def test_a_retried_upload_makes_one_image_and_answers_the_same_location(
    auth_client, user, django_capture_on_commit_callbacks
):
    workbook = WorkbookFactory(author=user)
    picture = images.jpeg()
    for url in ("/api/v1/me/avatar/", f"/api/v1/workbooks/{workbook.pk}/thumbnail/"):
        retry_key = key()
        with django_capture_on_commit_callbacks(execute=True):
            answers = [
                post(
                    auth_client,
                    url,
                    {"image": images.upload(picture)},
                    retry_key,
                    format="multipart",
                )
                for _ in range(2)
            ]

        assert [answer.status_code for answer in answers] == [202, 202], url
        assert answers[1].json() == answers[0].json()
        assert answers[1]["Location"] == answers[0]["Location"]
    assert Image.objects.count() == 2


@pytest.mark.django_db
def test_an_upload_of_another_picture_with_the_same_key_is_a_422(auth_client):
    retry_key = key()
    first = post(
        auth_client,
        "/api/v1/me/avatar/",
        {"image": images.upload(images.jpeg())},
        retry_key,
        format="multipart",
    )
    other = post(
        auth_client,
        "/api/v1/me/avatar/",
        {"image": images.upload(images.jpeg(size=(801, 500)))},
        retry_key,
        format="multipart",
    )

    assert first.status_code == 202
    assert other.status_code == 422
    assert Image.objects.count() == 1


# --- What a key does not do ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422_and_creates_nothing(auth_client):
    retry_key = key()
    post(auth_client, WORKBOOKS_URL, new_workbook(), retry_key)

    other = post(auth_client, WORKBOOKS_URL, new_workbook(title="Costs"), retry_key)

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Workbook.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_on_another_operation_is_a_422(auth_client):
    workbook = WorkbookFactory()
    retry_key = key()
    post(auth_client, WORKBOOKS_URL, new_workbook(), retry_key)

    other = post(
        auth_client, f"/api/v1/workbooks/{workbook.pk}/comments/", {"body": "Hi"}, retry_key
    )

    assert other.status_code == 422
    assert Comment.objects.count() == 0


@pytest.mark.django_db
def test_without_a_key_every_post_creates(auth_client):
    for _ in range(2):
        assert post(auth_client, WORKBOOKS_URL, new_workbook(), None).status_code == 201

    assert Workbook.objects.count() == 2
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db
def test_keys_belong_to_one_member(auth_client, other_user):
    retry_key = key()
    post(auth_client, WORKBOOKS_URL, new_workbook(), retry_key)
    outsider = APIClient()
    outsider.force_authenticate(other_user)

    theirs = post(outsider, WORKBOOKS_URL, new_workbook(), retry_key)

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert Workbook.objects.filter(author=other_user).count() == 1


@pytest.mark.django_db
def test_without_a_sign_in_keys_belong_to_one_address(api_client):
    retry_key = key()
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    post(api_client, REGISTER_URL, body, retry_key, REMOTE_ADDR="198.51.100.1")

    elsewhere = post(
        api_client,
        REGISTER_URL,
        body | {"username": "grace", "email": "grace@example.com"},
        retry_key,
        REMOTE_ADDR="198.51.100.2",
    )

    assert elsewhere.status_code == 201
    assert elsewhere.json()["username"] == "grace"
    assert User.objects.count() == 2


@pytest.mark.django_db
def test_an_error_answer_is_not_kept_so_the_corrected_request_goes_through(auth_client):
    retry_key = key()

    refused = post(auth_client, WORKBOOKS_URL, new_workbook(embed_url="not a url"), retry_key)
    refused_again = post(auth_client, WORKBOOKS_URL, new_workbook(embed_url="not a url"), retry_key)
    corrected = post(auth_client, WORKBOOKS_URL, new_workbook(), retry_key)

    assert refused.status_code == refused_again.status_code == 400
    assert "Idempotent-Replayed" not in refused_again
    assert corrected.status_code == 201
    assert Workbook.objects.count() == 1


@pytest.mark.parametrize("bad", ["", "x" * 256, "naïve", "two words"])
@pytest.mark.django_db
def test_a_malformed_key_is_a_400_and_creates_nothing(auth_client, bad):
    response = post(auth_client, WORKBOOKS_URL, new_workbook(), bad)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert Workbook.objects.count() == 0


@pytest.mark.django_db
def test_a_key_is_forgotten_after_24_hours_and_then_creates_again(auth_client):
    retry_key = key()
    post(auth_client, WORKBOOKS_URL, new_workbook(), retry_key)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))

    later = post(auth_client, WORKBOOKS_URL, new_workbook(), retry_key)

    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later
    assert Workbook.objects.count() == 2


@pytest.mark.django_db
def test_the_periodic_task_removes_expired_keys_only(auth_client):
    for _ in range(3):
        post(auth_client, WORKBOOKS_URL, new_workbook(embed_url=PUBLIC_EMBED.format(key())), key())
    old = IdempotencyKey.objects.all()[:2]
    IdempotencyKey.objects.filter(pk__in=[row.pk for row in old]).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    assert remove_expired_keys.delay().get() == 2
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_the_schema_documents_the_header_on_every_post_that_creates(api_client):
    schema = api_client.get("/api/v1/schema/?format=json").json()

    keyed = {
        (method, path): operation["responses"]
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert set(keyed) == {
        ("post", "/api/v1/auth/register/"),
        ("post", "/api/v1/workbooks/"),
        ("post", "/api/v1/workbooks/{id}/comments/"),
        ("post", "/api/v1/workbooks/{id}/thumbnail/"),
        ("post", "/api/v1/me/avatar/"),
        ("post", "/api/v1/uploads/"),
        ("post", "/api/v1/collections/"),
        ("post", "/api/v1/reports/"),
    }
    for responses in keyed.values():
        assert {"409", "422"} <= responses.keys()


# --- Two requests with one key at once (PostgreSQL: the second waits on the first's row) --------


class HeldCreate:
    """Makes the first create_workbook wait until released, to hold its request mid-way."""

    def __init__(self, monkeypatch):
        self.started = threading.Event()
        self.release = threading.Event()
        real = workbook_services.create_workbook

        def held(*args, **kwargs):
            if not self.started.is_set():
                self.started.set()
                assert self.release.wait(10)
            return real(*args, **kwargs)

        monkeypatch.setattr(workbook_services, "create_workbook", held)


def post_in_thread(user, retry_key: str, answers: dict, name: str) -> threading.Thread:
    def run():
        client = APIClient()
        client.force_authenticate(user)
        try:
            answers[name] = post(client, WORKBOOKS_URL, new_workbook(), retry_key)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_racing_the_first_request_waits_for_it_and_gets_its_answer(monkeypatch):
    user = UserFactory()
    held = HeldCreate(monkeypatch)
    retry_key = key()
    answers: dict = {}

    first = post_in_thread(user, retry_key, answers, "first")
    assert held.started.wait(10)
    second = post_in_thread(user, retry_key, answers, "second")
    second.join(0.5)
    assert second.is_alive(), "the retry must wait while the first is being answered"
    held.release.set()
    first.join(10)
    second.join(10)

    assert answers["first"].status_code == answers["second"].status_code == 201
    assert answers["second"].json() == answers["first"].json()
    assert answers["second"]["Idempotent-Replayed"] == "true"
    assert Workbook.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_that_waits_too_long_is_a_409_and_the_first_still_creates_once(monkeypatch):
    monkeypatch.setattr(idempotency_services, "WAIT_SECONDS", 0.3)
    user = UserFactory()
    held = HeldCreate(monkeypatch)
    retry_key = key()
    answers: dict = {}

    first = post_in_thread(user, retry_key, answers, "first")
    assert held.started.wait(10)
    post_in_thread(user, retry_key, answers, "second").join(10)
    held.release.set()
    first.join(10)
    post_in_thread(user, retry_key, answers, "third").join(10)

    assert answers["second"].status_code == 409
    assert answers["second"].json()["code"] == "idempotency_key_in_use"
    assert answers["second"]["Retry-After"] == "1"
    assert answers["first"].status_code == answers["third"].status_code == 201
    assert answers["third"].json() == answers["first"].json()
    assert Workbook.objects.count() == 1


@pytest.mark.django_db
def test_an_upload_whose_body_cannot_be_read_is_answered_as_without_a_key(
    auth_client, settings, tmp_path
):
    # Spooled to a folder that is not there: reading the body fails with an OSError, which the
    # upload view answers as storage unavailable (503 in JSON).
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "missing")
    answers = [
        post(
            auth_client,
            "/api/v1/me/avatar/",
            {"image": images.upload(images.jpeg())},
            retry_key,
            format="multipart",
        )
        for retry_key in (None, key())
    ]

    assert answers[0].status_code == 503, answers[0].content
    assert answers[1].status_code == answers[0].status_code
    assert answers[1].json() == answers[0].json()
    assert IdempotencyKey.objects.count() == 0
