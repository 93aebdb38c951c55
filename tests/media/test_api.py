"""POST /api/v1/me/avatar/, /workbooks/{id}/thumbnail/, GET /images/{id}/."""

import pytest
from rest_framework.test import APIClient

from media.models import Image
from tests.factories import UserFactory, WorkbookFactory
from tests.media import images

pytestmark = pytest.mark.django_db

AVATAR_URL = "/api/v1/me/avatar/"


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    def post(client, url, data, name="picture.jpg", content_type="image/jpeg", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                url, {"image": images.upload(data, name, content_type)}, format="multipart", **extra
            )

    return post


def thumbnail_url(workbook) -> str:
    return f"/api/v1/workbooks/{workbook.pk}/thumbnail/"


def test_an_avatar_upload_is_accepted_and_the_avatar_appears_as_three_urls(auth_client, user, post):
    response = post(auth_client, AVATAR_URL, images.jpeg())

    assert response.status_code == 202
    image = Image.objects.get()
    assert response.json() == {"id": str(image.id), "status": "processing"}
    assert response["Location"] == f"http://testserver/api/v1/images/{image.id}/"
    user.refresh_from_db()  # the client is signed in with this very object
    avatar = auth_client.get("/api/v1/me/").json()["avatar"]
    assert avatar == {
        v: f"http://testserver/media/avatars/{image.content_hash}-{v}.webp"
        for v in ("thumb", "small", "medium")
    }


def test_while_processing_on_a_worker_it_answers_processing(auth_client, user):
    # Without running the on-commit callback, the task has not run yet: as on a real worker.
    response = auth_client.post(
        AVATAR_URL, {"image": images.upload(images.jpeg())}, format="multipart"
    )

    assert response.status_code == 202
    assert response.json()["status"] == "processing"
    assert auth_client.get("/api/v1/me/").json()["avatar"] is None
    status = auth_client.get(f"/api/v1/images/{response.json()['id']}/").json()
    assert status["status"] == "processing"
    assert status["picture"] is None


def test_the_avatar_shows_wherever_the_member_does(auth_client, user, post):
    post(auth_client, AVATAR_URL, images.jpeg())
    WorkbookFactory(author=user)
    user.refresh_from_db()
    expected = {"thumb", "small", "medium"}

    profile = APIClient().get(f"/api/v1/users/{user.username}/").json()
    listed = APIClient().get("/api/v1/workbooks/").json()["results"][0]

    assert set(profile["avatar"]) == expected
    assert set(listed["author"]["avatar"]) == expected
    assert profile["avatar"]["thumb"].startswith("http://testserver/media/avatars/")


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (images.html(), "picture.jpg", 415, "JPEG, PNG, WebP or GIF"),
        (images.svg(), "picture.svg", 415, "JPEG, PNG, WebP or GIF"),
        (images.zip_archive(), "pictures.zip", 415, "JPEG, PNG, WebP or GIF"),
        (images.truncated(images.jpeg((1200, 900))), "cut.jpg", 400, "damaged or incomplete"),
        (images.png_claiming(100_000, 100_000), "flood.png", 400, "too many pixels"),
    ],
    ids=["html", "svg", "zip", "truncated", "pixel-flood"],
)
def test_a_bad_file_is_refused_with_a_clear_4xx(
    auth_client, user, post, data, name, status, message
):
    response = post(auth_client, AVATAR_URL, data, name)

    assert response.status_code == status
    if status == 400:
        assert list(response.json()) == ["image"]
        assert message in response.json()["image"][0]
    else:
        assert response.json()["code"] == "unsupported_media_type"
        assert message in response.json()["detail"]
    assert not Image.objects.exists()


def test_an_empty_file_is_refused(auth_client, user, post):
    response = post(auth_client, AVATAR_URL, b"")

    assert response.status_code == 400
    assert "empty" in response.json()["image"][0]


def test_a_missing_file_is_a_field_error(auth_client, user):
    response = auth_client.post(AVATAR_URL, {}, format="multipart")

    assert response.status_code == 400
    assert "image" in response.json()


def test_a_file_over_the_limit_is_413_and_nothing_is_kept(auth_client, user, post, settings):
    settings.MEDIA_MAX_UPLOAD_MB = 1
    data = images.jpeg() + b"\0" * (1024 * 1024)

    response = post(auth_client, AVATAR_URL, data)

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The file is larger than 1 MB. Choose a smaller picture.",
        "code": "file_too_large",
    }
    assert not Image.objects.exists()


def test_a_body_announced_over_the_limit_is_refused_before_it_is_read(auth_client, user):
    response = auth_client.post(
        AVATAR_URL,
        {"image": images.upload(images.jpeg())},
        format="multipart",
        CONTENT_LENGTH=str(200 * 1024 * 1024),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"


def test_signing_in_is_needed(api_client):
    response = api_client.post(AVATAR_URL, {"image": images.upload(images.jpeg())})

    assert response.status_code == 401


def test_deleting_the_avatar_goes_back_to_none(auth_client, user, post):
    post(auth_client, AVATAR_URL, images.jpeg())

    response = auth_client.delete(AVATAR_URL)

    assert response.status_code == 204
    user.refresh_from_db()
    assert auth_client.get("/api/v1/me/").json()["avatar"] is None


def test_uploads_are_rate_limited_per_member(auth_client, user, post, upload_rate):
    upload_rate("2/hour")

    codes = [post(auth_client, AVATAR_URL, images.jpeg()).status_code for _ in range(3)]

    assert codes == [202, 202, 429]


# --- Thumbnails ---------------------------------------------------------------------------------------


def test_the_author_uploads_a_thumbnail_and_the_workbook_shows_it(auth_client, user, post):
    workbook = WorkbookFactory(author=user)

    response = post(
        auth_client, thumbnail_url(workbook), images.png((1280, 720)), "t.png", "image/png"
    )

    assert response.status_code == 202
    thumbnail = APIClient().get(f"/api/v1/workbooks/{workbook.pk}/").json()["thumbnail"]
    assert set(thumbnail) == {"thumb", "small", "medium"}
    assert "/media/thumbnails/" in thumbnail["medium"]


def test_someone_elses_published_workbook_refuses_a_thumbnail(auth_client, user, post):
    workbook = WorkbookFactory(author=UserFactory())

    response = post(auth_client, thumbnail_url(workbook), images.jpeg())

    assert response.status_code == 403
    assert not Image.objects.exists()


def test_someone_elses_draft_does_not_exist_for_a_thumbnail(auth_client, user, post):
    workbook = WorkbookFactory(author=UserFactory(), status="draft")

    assert post(auth_client, thumbnail_url(workbook), images.jpeg()).status_code == 404


def test_the_author_removes_the_thumbnail(auth_client, user, post):
    workbook = WorkbookFactory(author=user)
    post(auth_client, thumbnail_url(workbook), images.jpeg())

    response = auth_client.delete(thumbnail_url(workbook))

    assert response.status_code == 204
    workbook.refresh_from_db()
    assert workbook.thumbnail is None


# --- Following an upload ------------------------------------------------------------------------------


def test_a_failed_upload_says_why(auth_client, user):
    image = Image.objects.create(
        kind="avatar",
        owner=user,
        status="failed",
        error="The file was refused by the virus scanner.",
    )

    body = auth_client.get(f"/api/v1/images/{image.id}/").json()

    assert body["status"] == "failed"
    assert body["error"] == "The file was refused by the virus scanner."
    assert body["picture"] is None


def test_someone_elses_upload_is_a_404(auth_client, user):
    image = Image.objects.create(kind="avatar", owner=UserFactory())

    assert auth_client.get(f"/api/v1/images/{image.id}/").status_code == 404


def test_direct_uploads_need_s3(auth_client, user):
    response = auth_client.post(
        "/api/v1/uploads/",
        {"kind": "avatar", "content_type": "image/jpeg", "size": 1000},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "direct_uploads_unavailable"


def test_staff_who_may_change_but_not_delete_workbooks_may_remove_a_thumbnail(post):
    from django.contrib.auth.models import Permission

    author, editor = UserFactory(), UserFactory(is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_workbook"))
    workbook = WorkbookFactory(author=author)
    client = APIClient()
    client.force_authenticate(editor)

    assert post(client, thumbnail_url(workbook), images.jpeg()).status_code == 202
    assert client.delete(thumbnail_url(workbook)).status_code == 204
    assert client.delete(f"/api/v1/workbooks/{workbook.pk}/").status_code == 403
