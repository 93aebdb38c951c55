"""The API's one table from the services' exceptions to answers (sigma_playground.errors): a view
lets them through and the client gets the status and a `code`."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.services import SignInThrottled
from sigma_playground.errors import RetryLater
from social.services import RateLimited


def answer_to(error: Exception) -> Response:
    class Raising(APIView):
        permission_classes = [AllowAny]
        authentication_classes: list = []

        def post(self, request):
            raise error

    response = Raising.as_view()(APIRequestFactory().post("/api/v1/x/"))
    response.render()
    return response


@pytest.mark.parametrize("error", [RateLimited(12), SignInThrottled(12)])
def test_a_rate_limit_is_a_429_with_retry_after(error):
    assert isinstance(error, RetryLater)

    response = answer_to(error)

    assert response.status_code == 429
    assert response["Retry-After"] == "12"
    assert response.data["code"] == "throttled"


def test_a_refusal_is_a_400_with_the_errors_code():
    response = answer_to(ValidationError("Only published.", code="not_published"))

    assert response.status_code == 400
    assert response.data == {"detail": "Only published.", "code": "not_published"}


def test_a_refusal_without_a_code_is_invalid():
    response = answer_to(ValidationError("No."))

    assert response.data == {"detail": "No.", "code": "invalid"}


def test_a_refusal_of_fields_answers_each_field():
    response = answer_to(ValidationError({"title": ["Too long."], "url": ["Not Sigma's."]}))

    assert response.status_code == 400
    assert response.data == {"title": ["Too long."], "url": ["Not Sigma's."]}


def test_a_permission_refused_is_a_403_with_its_message():
    response = answer_to(PermissionDenied("Not yours."))

    assert response.status_code == 403
    assert response.data == {"detail": "Not yours.", "code": "permission_denied"}
