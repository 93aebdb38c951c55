"""The site's own events as metrics: uploads accepted or refused by reason, image processing runs
and their time, workbooks published (once each) and workbook views counted."""

from __future__ import annotations

import io

import pytest
from django.test import RequestFactory

from media import services as media_services
from media.models import Image
from media.validation import ImageRejected
from tests.factories import UserFactory, WorkbookFactory
from tests.media import images
from tests.media.fake_clamd import EICAR, FakeClamdHandler, UnixFakeClamd, running
from tests.observability.conftest import value
from workbooks import services as workbook_services
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db

AVATAR_URL = "/api/v1/me/avatar/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


def uploads(outcome: str, reason: str = "") -> float:
    return value("uploads_total", outcome=outcome, reason=reason)


def processed(outcome: str) -> float:
    return value("images_processed_total", outcome=outcome)


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """An avatar upload through the API, with the processing that follows its commit."""

    def post(client, data: bytes, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                AVATAR_URL, {"image": images.upload(data)}, format="multipart", **extra
            )

    return post


# --- Uploads and their processing -----------------------------------------------------------------


def test_an_accepted_upload_and_its_processing_are_counted_and_timed(auth_client, post):
    accepted, succeeded = uploads("accepted"), processed("succeeded")
    timed = value("image_processing_duration_seconds_count")

    response = post(auth_client, images.jpeg())

    assert response.status_code == 202
    assert uploads("accepted") == accepted + 1
    assert processed("succeeded") == succeeded + 1
    assert value("image_processing_duration_seconds_count") == timed + 1
    assert value("image_processing_duration_seconds_sum") > 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (images.html(), "bad_type"),
        (images.jpeg()[:2000], "damaged"),
        (images.png_claiming(50_000, 50_000), "too_many_pixels"),
    ],
)
def test_a_refused_upload_is_counted_by_its_reason(auth_client, post, data, reason):
    refused, accepted = uploads("refused", reason), uploads("accepted")

    response = post(auth_client, data)

    assert 400 <= response.status_code < 500
    assert uploads("refused", reason) == refused + 1
    assert uploads("accepted") == accepted


def test_an_empty_file_is_counted_empty(user):
    refused = uploads("refused", "empty")

    with pytest.raises(ImageRejected):
        media_services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(b""))

    assert uploads("refused", "empty") == refused + 1


def test_an_upload_over_the_limit_is_counted_too_large_as_it_arrives(auth_client, post, settings):
    settings.MEDIA_MAX_UPLOAD_MB = 1
    refused = uploads("refused", "too_large")

    response = post(auth_client, images.jpeg() + b"\0" * (1024 * 1024))

    assert response.status_code == 413
    assert uploads("refused", "too_large") == refused + 1


def test_an_upload_announced_over_the_limit_is_counted_too_large(auth_client, user):
    refused = uploads("refused", "too_large")

    response = auth_client.post(
        AVATAR_URL,
        {"image": images.upload(images.jpeg())},
        format="multipart",
        CONTENT_LENGTH=str(200 * 1024 * 1024),
    )

    assert response.status_code == 413
    assert uploads("refused", "too_large") == refused + 1


def test_an_upload_the_virus_scanner_refuses_is_counted_malware_and_failed(
    auth_client, post, settings, tmp_path
):
    path = str(tmp_path / "clamd.sock")
    refused, failed = uploads("refused", "malware"), processed("failed")

    with running(UnixFakeClamd(path, FakeClamdHandler)):
        settings.CLAMD_ADDRESS = path
        response = post(auth_client, images.jpeg() + EICAR)

    assert response.status_code == 202  # refused later, by the scanner in processing
    assert Image.objects.get().status == Image.Status.FAILED
    assert uploads("refused", "malware") == refused + 1
    assert processed("failed") == failed + 1


def test_processing_given_up_on_is_counted_failed(
    user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.CLAMD_ADDRESS = str(tmp_path / "no-such.sock")  # the scanner never answers
    failed, succeeded = processed("failed"), processed("succeeded")

    with django_capture_on_commit_callbacks(execute=True):
        media_services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))

    assert Image.objects.get().status == Image.Status.FAILED
    assert processed("failed") == failed + 1
    assert processed("succeeded") == succeeded


# --- Workbooks ------------------------------------------------------------------------------------


def test_a_workbook_is_counted_published_once_when_it_first_becomes_published(
    user, django_capture_on_commit_callbacks
):
    before = value("workbooks_published_total")

    # Never committed (the test's transaction is rolled back): nothing was published.
    WorkbookFactory(author=user)
    with django_capture_on_commit_callbacks(execute=True):
        draft = WorkbookFactory(author=user, status=Workbook.Status.DRAFT)
    drafted = value("workbooks_published_total")
    with django_capture_on_commit_callbacks(execute=True):
        workbook_services.update_workbook(draft, status=Workbook.Status.PUBLISHED)
    published = value("workbooks_published_total")
    with django_capture_on_commit_callbacks(execute=True):
        workbook_services.update_workbook(draft, status=Workbook.Status.DRAFT)
        workbook_services.update_workbook(draft, status=Workbook.Status.PUBLISHED)
        workbook_services.update_workbook(draft, title="Renamed")

    assert (drafted, published) == (before, before + 1)
    assert value("workbooks_published_total") == before + 1


def test_each_view_counted_is_counted_once(user, other_user):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.cache import SessionStore

    workbook = WorkbookFactory(author=UserFactory())
    before = value("workbook_views_total")

    def viewing(viewer):
        request = RequestFactory().get("/w/x/", HTTP_USER_AGENT=BROWSER)
        request.user = viewer or AnonymousUser()
        request.session = SessionStore()
        return request

    counted = [
        workbook_services.record_view(viewing(user), workbook),
        workbook_services.record_view(viewing(user), workbook),  # the same reader again
        workbook_services.record_view(viewing(other_user), workbook),
    ]

    assert counted == [True, False, True]
    assert value("workbook_views_total") == before + 2
