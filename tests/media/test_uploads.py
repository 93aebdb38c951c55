"""The Content-Length check refuses an over-large body without reading any of it."""

import io

from django.test import RequestFactory

from media.uploads import UploadSizeLimitMiddleware


class Unreadable(io.RawIOBase):
    def read(self, *args):
        raise AssertionError("the body was read")

    readinto = read


def test_a_body_announced_over_the_limit_is_refused_without_reading_it(settings):
    settings.MEDIA_MAX_UPLOAD_MB = 1
    request = RequestFactory().generic(
        "POST", "/api/v1/me/avatar/", data="--x", content_type="multipart/form-data; boundary=x"
    )
    assert request.content_type == "multipart/form-data"
    request.META["CONTENT_LENGTH"] = str(5 * 1024 * 1024)
    request.META["wsgi.input"] = Unreadable()
    request._stream = Unreadable()

    response = UploadSizeLimitMiddleware(lambda request: AssertionError("reached the view"))(
        request
    )

    assert response.status_code == 413


def test_a_body_within_the_limit_goes_on_to_the_view(settings):
    request = RequestFactory().post("/api/v1/me/avatar/", {"image": io.BytesIO(b"x")})

    response = UploadSizeLimitMiddleware(lambda request: "the view")(request)

    assert response == "the view"
