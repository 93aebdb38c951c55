"""Media on S3-compatible storage, against a real S3 server: moto's, in a thread of this process.

The project is pointed at it as a deployment would be: sigma_playground/settings.py is run afresh with
AWS_STORAGE_BUCKET_NAME and the rest in the environment, and its S3 settings and storages are applied
to the live settings, so both storages are django-storages' S3Storage built by the project's own code
("media" public and immutable, "uploads" private), and the API offers direct uploads through presigned
POSTs. Each test gets a bucket of its own, readable by anyone under media/ only, as a bucket without a
CDN in front must be.

Moto does not enforce a presigned POST's policy, so the tests read the policy's conditions, and check
that completing an upload enforces the limits on an object moto accepted anyway.
"""

from __future__ import annotations

import base64
import errno
import importlib.util
import io
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from moto.server import ThreadedMotoServer
from PIL import Image as PILImage
from rest_framework.test import APIClient
from storages.backends.s3 import S3Storage

from accounts.models import User
from media import processing, services
from media.models import Image
from sigma_playground import settings as settings_module
from tests.factories import WorkbookFactory
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me/"
AVATAR_URL = "/api/v1/me/avatar/"
UPLOADS_URL = "/api/v1/uploads/"
CDN_URL = "https://cdn.example.com/media/"
IMMUTABLE = "public, max-age=31536000, immutable"
VARIANT_FILES = [f"{v}.{ext}" for v in processing.VARIANTS for ext in ("webp", "jpg")]
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
S3_SETTINGS = (
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_S3_ACCESS_KEY_ID",
    "AWS_S3_SECRET_ACCESS_KEY",
    "MEDIA_CDN_URL",
    "MEDIA_URL",
)
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


# --- The S3 server and a bucket per test -----------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint():
    # Werkzeug logs every request the server answers; a failing test's output should show the test.
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    werkzeug_log.setLevel(level)


@dataclass
class Bucket:
    endpoint: str
    name: str
    client: object

    def names(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=key)

    def has(self, key: str) -> bool:
        try:
            self.head(key)
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return False
            raise
        return True

    def put(self, key: str, body: bytes, content_type: str = "image/webp") -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type)


def project_settings(bucket: Bucket, cdn_url: str | None = None) -> ModuleType:
    """sigma_playground/settings.py run afresh with the environment of a deployment on `bucket`, so
    the storages are built by the project's own code (a separate module; the live one is untouched)."""
    environment = {
        "AWS_STORAGE_BUCKET_NAME": bucket.name,
        "AWS_S3_ENDPOINT_URL": bucket.endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "MEDIA_CDN_URL": cdn_url or "",
        "MEDIA_URL": "",
    }
    spec = importlib.util.spec_from_file_location(
        "sigma_playground.settings_on_s3", Path(settings_module.__file__)
    )
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        spec.loader.exec_module(module)
    return module


def use_s3(settings, bucket: Bucket, cdn_url: str | None = None) -> None:
    """Point the project at `bucket` as settings.py does when AWS_STORAGE_BUCKET_NAME is set."""
    built = project_settings(bucket, cdn_url)
    for name in S3_SETTINGS:
        setattr(settings, name, getattr(built, name))
    settings.STORAGES = {
        "default": built.STORAGES["default"],
        "uploads": built.STORAGES["uploads"],
        "staticfiles": settings.STORAGES["staticfiles"],
    }
    # Django's setting_changed handler dropped the storages made from the old STORAGES.
    for alias, location in (("default", "media"), ("uploads", "uploads")):
        storage = storages[alias]
        assert isinstance(storage, S3Storage), f"{alias} is {type(storage).__name__}"
        assert (storage.bucket_name, storage.location) == (bucket.name, location)
        assert storage.endpoint_url == bucket.endpoint
        assert storage.access_key == ACCESS_KEY


@pytest.fixture
def bucket(s3_endpoint, settings):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    bucket = Bucket(s3_endpoint, f"sigma-media-test-{uuid.uuid4().hex[:12]}", client)
    client.create_bucket(Bucket=bucket.name)
    # querystring_auth is off and the variants are stored without an ACL: their plain URLs work only
    # where the bucket lets anyone read the media location (or a CDN reads it), as a deployment must.
    public_media = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket.name}/media/*",
    }
    client.put_bucket_policy(
        Bucket=bucket.name,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [public_media]}),
    )
    use_s3(settings, bucket)
    yield bucket
    for key in bucket.names():
        client.delete_object(Bucket=bucket.name, Key=key)
    client.delete_bucket(Bucket=bucket.name)


# --- Pictures and API calls ------------------------------------------------------------------------


def jpeg(color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (800, 500)) -> bytes:
    picture = PILImage.new("RGB", size, color)
    # A stripe, so the picture is not one flat colour.
    picture.paste((20, 20, 160), (0, 0, size[0] // 3, size[1]))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()


RED = jpeg((200, 40, 40))
GREEN = jpeg((40, 160, 60))


def variant_keys(kind_folder: str, data: bytes) -> list[str]:
    content_hash = processing.content_hash(data)
    return sorted(f"media/{kind_folder}/{content_hash}-{name}" for name in VARIANT_FILES)


def upload_avatar(client, data: bytes, name: str = "me.jpg"):
    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return client.post(AVATAR_URL, {"image": upload}, format="multipart")


def avatar_in_me(user: User) -> dict | None:
    """GET /api/v1/me/ as a new request would see it, with the member's row read afresh."""
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    response = client.get(ME_URL)
    assert response.status_code == 200
    return response.json()["avatar"]


def start_upload(client, size: int, kind: str = "avatar", content_type="image/jpeg", **extra):
    body = {"kind": kind, "content_type": content_type, "size": size, **extra}
    return client.post(UPLOADS_URL, body, format="json")


def post_to_storage(started: dict, data: bytes, content_type: str = "image/jpeg"):
    """What a browser does with the presigned POST: the fields, then the file, as multipart."""
    return requests.post(
        started["url"],
        data=started["fields"],
        files={"file": ("picture", data, content_type)},
        timeout=10,
    )


def complete(client, image_id: str):
    return client.post(f"{UPLOADS_URL}{image_id}/complete/")


def policy_of(started: dict) -> dict:
    return json.loads(base64.b64decode(started["fields"]["policy"]))


def source_key(image_id: str) -> str:
    return f"uploads/originals/{uuid.UUID(image_id).hex}"


def uploaded(client, bucket: Bucket, data: bytes, declared_size: int | None = None, **extra):
    """Start a direct upload and store `data` through its presigned POST; returns the image id."""
    started = start_upload(client, declared_size or len(data), **extra)
    assert started.status_code == 201, started.content
    posted = post_to_storage(started.json(), data)
    assert posted.status_code in (200, 201, 204), posted.text
    image_id = started.json()["id"]
    assert bucket.has(source_key(image_id))
    return image_id


# --- Avatars through the API -------------------------------------------------------------------------


def test_an_avatar_uploaded_on_s3_ends_as_six_immutable_variants_in_the_media_location(
    bucket, auth_client, user, django_capture_on_commit_callbacks, tmp_path
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_avatar(auth_client, RED)

    assert response.status_code == 202
    assert Image.objects.get(pk=response.json()["id"]).status == Image.Status.READY
    assert bucket.names("media/") == variant_keys("avatars", RED)
    for key in bucket.names("media/"):
        head = bucket.head(key)
        expected_type = "image/webp" if key.endswith(".webp") else "image/jpeg"
        assert head["ContentType"] == expected_type, key
        assert head["CacheControl"] == IMMUTABLE, key
    # The original went to S3, not to local disk, and is gone now that the variants exist.
    assert bucket.names("uploads/") == []
    assert not (tmp_path / "uploads").exists()
    assert not (tmp_path / "media").exists()


def test_the_avatar_urls_in_me_point_at_the_bucket_and_serve_the_variants(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload_avatar(auth_client, RED)

    avatar = avatar_in_me(user)

    content_hash = processing.content_hash(RED)
    base = f"{bucket.endpoint}/{bucket.name}/media/avatars/{content_hash}"
    assert avatar == {
        "thumb": f"{base}-thumb.webp",
        "small": f"{base}-small.webp",
        "medium": f"{base}-medium.webp",
    }
    expected_sizes = {"thumb": (150, 150), "small": (300, 188), "medium": (600, 375)}
    for variant, url in avatar.items():
        served = requests.get(url, timeout=10)
        assert served.status_code == 200, url
        assert served.headers["Content-Type"] == "image/webp"
        with PILImage.open(io.BytesIO(served.content)) as picture:
            assert (picture.format, picture.size) == ("WEBP", expected_sizes[variant])


def test_with_a_cdn_the_avatar_urls_point_at_the_cdn_host(
    bucket, settings, auth_client, user, django_capture_on_commit_callbacks
):
    use_s3(settings, bucket, cdn_url=CDN_URL)

    with django_capture_on_commit_callbacks(execute=True):
        upload_avatar(auth_client, RED)
    avatar = avatar_in_me(user)

    assert set(avatar) == {"thumb", "small", "medium"}
    content_hash = processing.content_hash(RED)
    for variant, url in avatar.items():
        assert url.startswith("https://cdn.example.com/"), url
        assert url.endswith(f"/avatars/{content_hash}-{variant}.webp"), url
        assert bucket.endpoint not in url
    # The variants are still stored in the bucket, under the media location.
    assert bucket.names("media/") == variant_keys("avatars", RED)


def test_with_a_cdn_an_avatar_url_is_the_media_url_followed_by_the_variant_name(
    bucket, settings, auth_client, user, django_capture_on_commit_callbacks
):
    use_s3(settings, bucket, cdn_url=CDN_URL)

    with django_capture_on_commit_callbacks(execute=True):
        upload_avatar(auth_client, RED)
    avatar = avatar_in_me(user)

    content_hash = processing.content_hash(RED)
    assert avatar["thumb"] == f"{CDN_URL}avatars/{content_hash}-thumb.webp"


def test_an_avatar_original_waits_privately_in_the_uploads_location_until_processed(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload_avatar(auth_client, RED)

    image = Image.objects.get(pk=response.json()["id"])
    assert response.json()["status"] == "processing"
    original = f"uploads/originals/{image.id.hex}.jpg"
    assert image.source == f"originals/{image.id.hex}.jpg"
    assert bucket.names() == [original]
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=original)["Grants"]
    assert not [g for g in grants if g["Grantee"].get("URI") == ALL_USERS]
    assert bucket.client.get_object(Bucket=bucket.name, Key=original)["Body"].read() == RED
    assert (
        requests.get(f"{bucket.endpoint}/{bucket.name}/{original}", timeout=10).status_code == 403
    )

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    assert bucket.names("uploads/") == []
    assert bucket.names("media/") == variant_keys("avatars", RED)


def test_replacing_an_avatar_on_s3_deletes_the_old_variants_once_the_new_ones_are_ready(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload_avatar(auth_client, RED)
    assert bucket.names("media/") == variant_keys("avatars", RED)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload_avatar(auth_client, GREEN, name="new.jpg")

    assert response.status_code == 202
    assert bucket.names("media/") == variant_keys("avatars", GREEN)
    assert bucket.names("uploads/") == []
    user.refresh_from_db()
    assert user.picture.key == f"avatars/{processing.content_hash(GREEN)}"
    assert list(Image.objects.filter(owner=user).values_list("status", flat=True)) == ["ready"]


# --- Direct uploads ---------------------------------------------------------------------------------


def test_a_direct_upload_is_started_posted_to_s3_completed_and_becomes_the_avatar(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    started = start_upload(auth_client, len(RED))
    assert started.status_code == 201
    body = started.json()
    image_id = body["id"]
    assert body["url"].startswith(bucket.endpoint)
    assert body["fields"]["key"] == source_key(image_id)
    assert body["fields"]["Content-Type"] == "image/jpeg"
    assert body["expires_in"] == 15 * 60
    assert body["max_size"] == django_settings.MEDIA_MAX_UPLOAD_MB * 1024 * 1024
    assert Image.objects.get(pk=image_id).status == Image.Status.UPLOADING
    assert bucket.names() == []

    posted = post_to_storage(body, RED)
    assert posted.status_code == 204, posted.text
    stored = bucket.head(source_key(image_id))
    assert (stored["ContentType"], stored["ContentLength"]) == ("image/jpeg", len(RED))

    with django_capture_on_commit_callbacks(execute=True):
        completed = complete(auth_client, image_id)

    assert completed.status_code == 202
    assert completed.json() == {"id": image_id, "status": "processing"}
    image = auth_client.get(f"/api/v1/images/{image_id}/").json()
    assert image["status"] == "ready"
    assert image["error"] == ""
    assert image["picture"]["thumb"].endswith(f"{processing.content_hash(RED)}-thumb.webp")
    assert avatar_in_me(user) == image["picture"]
    assert bucket.names("media/") == variant_keys("avatars", RED)
    assert bucket.names("uploads/") == []


def test_the_presigned_post_limits_the_type_and_size_and_writes_under_uploads(
    bucket, settings, auth_client, user
):
    settings.MEDIA_MAX_UPLOAD_MB = 3

    started = start_upload(auth_client, 1234, content_type="image/png")

    assert started.status_code == 201
    body = started.json()
    policy = policy_of(body)
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 3 * 1024 * 1024] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"bucket": bucket.name} in conditions
    assert {"key": source_key(body["id"])} in conditions
    assert body["fields"]["key"].startswith("uploads/originals/")
    assert body["max_size"] == 3 * 1024 * 1024
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)


@pytest.mark.parametrize(
    ("content_type", "size", "status_code"),
    [
        ("text/html", 100, 415),
        ("image/svg+xml", 100, 415),
        ("image/jpeg", 2 * 1024 * 1024, 413),
        ("image/jpeg", 0, 400),
    ],
)
def test_starting_a_direct_upload_refuses_a_wrong_type_or_size_before_signing_anything(
    bucket, settings, auth_client, user, content_type, size, status_code
):
    settings.MEDIA_MAX_UPLOAD_MB = 1

    response = start_upload(auth_client, size, content_type=content_type)

    assert response.status_code == status_code
    assert "fields" not in response.json()
    assert not Image.objects.exists()


def test_completing_an_object_larger_than_the_limit_answers_413_and_deletes_it(
    bucket, settings, auth_client, user, django_capture_on_commit_callbacks
):
    settings.MEDIA_MAX_UPLOAD_MB = 1
    # A valid JPEG padded past the limit: its first megabyte alone would pass the picture checks.
    oversize = RED + b"\0" * (1024 * 1024)
    image_id = uploaded(auth_client, bucket, oversize, declared_size=len(RED))

    with django_capture_on_commit_callbacks(execute=True):
        response = complete(auth_client, image_id)

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert not bucket.has(source_key(image_id))
    assert bucket.names() == []
    image = Image.objects.get(pk=image_id)
    assert image.status == Image.Status.FAILED
    assert "larger than 1 MB" in image.error
    # A failed upload stays failed.
    assert complete(auth_client, image_id).status_code == 400


def test_completing_an_object_that_is_not_a_picture_answers_415_and_deletes_it(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    image_id = uploaded(auth_client, bucket, HTML)

    with django_capture_on_commit_callbacks(execute=True):
        response = complete(auth_client, image_id)

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert bucket.names() == []
    assert Image.objects.get(pk=image_id).status == Image.Status.FAILED
    user.refresh_from_db()
    assert user.avatar is None


def test_completing_before_anything_was_uploaded_answers_400_and_lets_the_upload_go_on(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    started = start_upload(auth_client, len(RED)).json()

    response = complete(auth_client, started["id"])

    assert response.status_code == 400
    assert "Nothing has been uploaded" in response.json()["image"][0]
    assert Image.objects.get(pk=started["id"]).status == Image.Status.UPLOADING
    # The client may still upload and complete.
    assert post_to_storage(started, RED).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        assert complete(auth_client, started["id"]).status_code == 202
    assert Image.objects.get(pk=started["id"]).status == Image.Status.READY


def test_completing_someone_elses_upload_answers_404_and_leaves_it_alone(
    bucket, auth_client, user, other_user, api_client, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(other_user)
    image_id = uploaded(api_client, bucket, RED)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = complete(auth_client, image_id)

    assert response.status_code == 404
    assert callbacks == []
    assert Image.objects.get(pk=image_id).status == Image.Status.UPLOADING
    assert bucket.names() == [source_key(image_id)]
    assert auth_client.get(f"/api/v1/images/{image_id}/").status_code == 404


@pytest.mark.parametrize(
    ("workbook_status", "status_code"),
    [(Workbook.Status.PUBLISHED, 403), (Workbook.Status.DRAFT, 404)],
)
def test_a_thumbnail_upload_for_someone_elses_workbook_is_refused(
    bucket, auth_client, user, other_user, workbook_status, status_code
):
    workbook = WorkbookFactory(author=other_user, status=workbook_status)

    response = start_upload(auth_client, len(RED), kind="thumbnail", workbook=workbook.pk)

    assert response.status_code == status_code
    assert "fields" not in response.json()
    assert not Image.objects.exists()
    assert bucket.names() == []


def test_a_direct_thumbnail_upload_for_ones_own_workbook_becomes_its_thumbnail(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    workbook = WorkbookFactory(author=user)
    image_id = uploaded(auth_client, bucket, GREEN, kind="thumbnail", workbook=workbook.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = complete(auth_client, image_id)

    assert response.status_code == 202
    workbook.refresh_from_db()
    assert workbook.picture is not None
    assert workbook.picture.key == f"thumbnails/{processing.content_hash(GREEN)}"
    assert workbook.thumbnail["id"] == image_id
    assert Image.objects.get(pk=image_id).holder == str(workbook.pk)
    assert bucket.names("media/") == variant_keys("thumbnails", GREEN)
    assert bucket.names("uploads/") == []
    user.refresh_from_db()
    assert user.avatar is None


def test_completing_twice_answers_202_again_without_processing_again(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    image_id = uploaded(auth_client, bucket, RED)
    with django_capture_on_commit_callbacks(execute=True):
        assert complete(auth_client, image_id).status_code == 202
    first = Image.objects.get(pk=image_id)
    assert first.status == Image.Status.READY
    stored = {key: bucket.head(key)["ETag"] for key in bucket.names()}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = complete(auth_client, image_id)

    assert again.status_code == 202
    assert again.json() == {"id": image_id, "status": "ready"}
    assert callbacks == []
    assert Image.objects.get(pk=image_id).processed_at == first.processed_at
    assert {key: bucket.head(key)["ETag"] for key in bucket.names()} == stored


def test_completing_twice_before_processing_runs_queues_it_once(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    image_id = uploaded(auth_client, bucket, RED)

    with django_capture_on_commit_callbacks() as callbacks:
        first = complete(auth_client, image_id)
        second = complete(auth_client, image_id)

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json() == {"id": image_id, "status": "processing"}
    assert len(callbacks) == 1


def test_direct_uploads_are_unavailable_without_a_bucket(auth_client, user):
    assert not django_settings.AWS_STORAGE_BUCKET_NAME
    assert not isinstance(storages["uploads"], S3Storage)

    response = start_upload(auth_client, len(RED))

    assert response.status_code == 400
    assert response.json()["code"] == "direct_uploads_unavailable"
    assert not Image.objects.exists()


# --- Cleaning up ------------------------------------------------------------------------------------


def test_removing_orphans_on_s3_deletes_old_unreferenced_objects_and_keeps_the_variants_in_use(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload_avatar(auth_client, RED)
    in_use = variant_keys("avatars", RED)
    orphan_variant = f"media/avatars/{'0' * 40}-thumb.webp"
    stale_original = "uploads/originals/0123456789abcdef0123456789abcdef.jpg"
    bucket.put(orphan_variant, b"not referenced")
    bucket.put(stale_original, RED, content_type="image/jpeg")
    # A direct upload stored but never completed.
    abandoned = uploaded(auth_client, bucket, GREEN)

    # Too recent to be orphans: nothing goes.
    assert services.remove_orphans() == {"images": 0, "originals": 0, "variants": 0}
    assert len(bucket.names()) == len(in_use) + 3

    removed = services.remove_orphans(now=timezone.now() + timedelta(days=2))

    assert removed == {"images": 1, "originals": 1, "variants": 1}
    assert bucket.names() == in_use
    assert not Image.objects.filter(pk=abandoned).exists()
    assert User.objects.get(pk=user.pk).picture.key == f"avatars/{processing.content_hash(RED)}"


# --- Pages ------------------------------------------------------------------------------------------


def image_sources(html: str, content_hash: str) -> set[str]:
    return set(re.findall(rf'(?:src|srcset)="([^" ]*{content_hash}[^" ]*)', html))


def img_src(response) -> list[str]:
    policy = response.headers["Content-Security-Policy"]
    directive = next(d.strip() for d in policy.split(";") if d.strip().startswith("img-src "))
    return directive.split()[1:]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_with_a_cdn_a_profile_page_may_load_its_s3_avatar_under_its_content_security_policy(
    bucket, settings, client, auth_client, user, django_capture_on_commit_callbacks
):
    use_s3(settings, bucket, cdn_url=CDN_URL)
    with django_capture_on_commit_callbacks(execute=True):
        upload_avatar(auth_client, RED)

    response = client.get(reverse("workbooks:author", args=[user.username]))

    sources = image_sources(response.content.decode(), processing.content_hash(RED))
    assert sources
    assert {origin(url) for url in sources} == {"https://cdn.example.com"}
    assert "https://cdn.example.com" in img_src(response)


def test_without_a_cdn_a_profile_page_may_load_its_s3_avatar_under_its_content_security_policy(
    bucket, client, auth_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload_avatar(auth_client, RED)

    response = client.get(reverse("workbooks:author", args=[user.username]))

    sources = image_sources(response.content.decode(), processing.content_hash(RED))
    assert {origin(url) for url in sources} == {bucket.endpoint}
    assert bucket.endpoint in img_src(response)


def test_completing_a_thumbnail_after_losing_the_right_to_edit_the_workbook_is_refused(
    auth_client, user, bucket, django_capture_on_commit_callbacks
):
    workbook = WorkbookFactory(author=user)
    image_id = uploaded(auth_client, bucket, GREEN, kind="thumbnail", workbook=workbook.pk)
    Workbook.objects.filter(pk=workbook.pk).update(author=WorkbookFactory().author)

    with django_capture_on_commit_callbacks(execute=True):
        response = complete(auth_client, image_id)

    assert response.status_code == 404
    assert Image.objects.get(pk=image_id).status == Image.Status.FAILED
    workbook.refresh_from_db()
    assert workbook.thumbnail is None


def test_completing_an_upload_never_stored_long_after_it_started_is_refused(
    auth_client, user, bucket, django_capture_on_commit_callbacks
):
    started = start_upload(auth_client, len(GREEN)).json()
    Image.objects.filter(pk=started["id"]).update(created_at=timezone.now() - timedelta(hours=1))

    response = complete(auth_client, started["id"])

    assert response.status_code == 400
    assert response.json()["image"] == ["The upload took too long. Start again."]
    assert Image.objects.get(pk=started["id"]).status == Image.Status.FAILED


def test_a_slow_upload_the_storage_accepted_is_completed_however_long_it_took(
    auth_client, user, bucket, django_capture_on_commit_callbacks
):
    image_id = uploaded(auth_client, bucket, GREEN)
    Image.objects.filter(pk=image_id).update(created_at=timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        response = complete(auth_client, image_id)

    assert response.status_code == 202
    assert Image.objects.get(pk=image_id).status == Image.Status.READY


# --- Writes that fail -------------------------------------------------------------------------------


def put_fails_on(monkeypatch, storage: S3Storage, call: int, error: Exception) -> None:
    """The `call`-th object stored by `storage` fails as a write to a full disk would (a gateway
    spooling to local disk, a proxy), after the earlier ones were stored."""
    save = storage._save
    calls = []

    def failing_save(name, content):
        calls.append(name)
        if len(calls) == call:
            raise error
        return save(name, content)

    monkeypatch.setattr(storage, "_save", failing_save)


def test_a_variant_write_that_fails_on_s3_leaves_no_variant_and_the_picture_fails_with_a_reason(
    bucket, auth_client, user, django_capture_on_commit_callbacks, monkeypatch
):
    put_fails_on(monkeypatch, storages["default"], 3, OSError(errno.ENOSPC, "No space left"))

    with django_capture_on_commit_callbacks(execute=True):
        response = upload_avatar(auth_client, RED)

    assert response.status_code == 202
    image = Image.objects.get(pk=response.json()["id"])
    assert image.status == Image.Status.FAILED
    assert image.error == "There is no room to store the picture just now. Try again later."
    # The two variants stored before the fault went with it, and so did the original.
    assert bucket.names("media/") == []
    assert bucket.names("uploads/") == []
    user.refresh_from_db()
    assert user.avatar is None


def test_a_variant_object_stored_short_is_never_served_as_ready(
    bucket, auth_client, user, django_capture_on_commit_callbacks, monkeypatch
):
    storage = storages["default"]
    save = storage._save

    def cut_off_save(name, content):  # a store that acknowledges an object it kept only half of
        data = content.read()
        return save(name, ContentFile(data[: len(data) // 2]))

    monkeypatch.setattr(storage, "_save", cut_off_save)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload_avatar(auth_client, RED)

    image = Image.objects.get(pk=response.json()["id"])
    assert image.status == Image.Status.FAILED
    assert bucket.names("media/") == []
    user.refresh_from_db()
    assert user.avatar is None


def test_a_short_variant_object_left_by_an_earlier_run_is_stored_again_whole(
    bucket, auth_client, user, django_capture_on_commit_callbacks
):
    rendered = processing.render(RED)
    key = f"media/avatars/{rendered.content_hash}-medium.webp"
    bucket.put(key, rendered.files["medium.webp"][:100])

    with django_capture_on_commit_callbacks(execute=True):
        response = upload_avatar(auth_client, RED)

    assert Image.objects.get(pk=response.json()["id"]).status == Image.Status.READY
    stored = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    assert stored == rendered.files["medium.webp"]


def test_an_original_that_cannot_be_stored_on_s3_answers_507_in_json_and_keeps_nothing(
    bucket, auth_client, user, monkeypatch
):
    put_fails_on(monkeypatch, storages["uploads"], 1, OSError(errno.ENOSPC, "No space left"))

    response = upload_avatar(auth_client, RED)

    assert response.status_code == 507
    assert response.json()["code"] == "insufficient_storage"
    assert bucket.names() == []
    assert not Image.objects.exists()


def test_an_original_the_storage_refuses_answers_503_in_json(
    bucket, auth_client, user, monkeypatch
):
    refused = ClientError({"Error": {"Code": "SlowDown", "Message": "Slow down"}}, "PutObject")
    put_fails_on(monkeypatch, storages["uploads"], 1, refused)

    response = upload_avatar(auth_client, RED)

    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert not Image.objects.exists()
