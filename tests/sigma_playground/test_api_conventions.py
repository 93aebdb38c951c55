import json

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_the_openapi_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/auth/register/",
        "/api/v1/auth/token/",
        "/api/v1/auth/token/refresh/",
        "/api/v1/auth/logout/",
        "/api/v1/auth/password-reset/",
        "/api/v1/auth/password-reset/confirm/",
        "/api/v1/me/",
        "/api/v1/me/mfa/setup/",
        "/api/v1/me/mfa/confirm/",
        "/api/v1/me/mfa/disable/",
    ]:
        assert path in schema["paths"], path


@pytest.mark.django_db
def test_the_docs_page_loads_its_assets_from_our_own_static_files(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
    assert "unpkg" not in html.lower()


@pytest.mark.django_db
def test_errors_carry_a_detail_and_a_code(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "detail" in response.json()


@pytest.mark.django_db
def test_malformed_json_is_a_400_not_a_500(api_client):
    response = api_client.post(
        "/api/v1/auth/token/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_cors_allows_only_the_configured_origins(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.partner.example"]
    allowed = api_client.options(
        "/api/v1/auth/token/",
        HTTP_ORIGIN="https://app.partner.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://app.partner.example"
    refused = api_client.options(
        "/api/v1/auth/token/",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in refused


@pytest.mark.django_db
def test_cors_headers_are_not_sent_for_html_pages(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.partner.example"]
    response = client.get("/accounts/login/", HTTP_ORIGIN="https://app.partner.example")
    assert "Access-Control-Allow-Origin" not in response


# --- The API answers as its schema says -----------------------------------------------------------


@pytest.fixture
def schema(db):
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_documents_its_errors_with_the_shared_error_body(schema):
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "400" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith("4"):
                    body = response["content"]["application/json"]["schema"]
                    assert body == error, (method, path, status)


def test_statuses_are_derived_from_the_views_auth_throttles_parsers_and_path(schema):
    paths = schema["paths"]
    follow = paths["/api/v1/users/{username}/follow/"]["put"]["responses"]
    assert {"400", "401", "403", "404", "429"} <= set(follow)
    register = paths["/api/v1/auth/register/"]["post"]["responses"]
    # No authentication on sign-up, but a throttle and a body.
    assert {"400", "413", "415", "429"} <= set(register)
    assert "401" not in register
    assert "404" not in register
    # The token endpoints authenticate nobody but answer 401 for a bad refresh token.
    assert "401" in paths["/api/v1/auth/token/refresh/"]["post"]["responses"]
    assert "413" not in paths["/api/v1/tags/"]["get"]["responses"]


def test_list_parameters_are_constrained_in_the_schema(schema):
    parameters = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/v1/tags/"]["get"]["parameters"]
    }
    # Tags are paged by cursor: numbered pages only as deep as an OFFSET stays cheap.
    assert parameters["page"] == {"type": "integer", "minimum": 1, "maximum": 10}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1}
    assert parameters["cursor"] == {"type": "string", "maxLength": 1000}
    workbooks = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/v1/workbooks/"]["get"]["parameters"]
    }
    # Search ranked by relevance is paged by number, as deep as the search ranks.
    assert workbooks["page"] == {"type": "integer", "minimum": 1, "maximum": 10_000}
    assert workbooks["cursor"] == {"type": "string", "maxLength": 1000}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["page_size=null", "page_size=0", "page=0", "page=x", "page=10001"]
)
def test_an_invalid_page_parameter_is_a_400(api_client, query):
    response = api_client.get(f"/api/v1/workbooks/?{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert name in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["page=x&page=2", "page_size=5&page_size=10", "q=a&q=b", "tag=x&ordering=trending&tag=y"],
)
def test_a_query_parameter_given_twice_is_a_400_naming_it(api_client, query):
    response = api_client.get(f"/api/v1/workbooks/?{query}")

    assert response.status_code == 400
    repeated = next(name for name in query.split("&") if query.count(name.split("=")[0] + "=") > 1)
    assert list(response.json()) == [repeated.split("=")[0]]


@pytest.mark.django_db
def test_pages_take_a_repeated_parameter_as_before(client):
    assert client.get("/explore/?tag=x&tag=y").status_code == 200


@pytest.mark.django_db
def test_website_is_null_rather_than_empty_in_answers(auth_client, user):
    assert user.website == ""
    assert auth_client.get("/api/v1/me/").json()["website"] is None
    assert auth_client.get(f"/api/v1/users/{user.username}/").json()["website"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("cleared", ["", None])
def test_website_is_cleared_by_an_empty_string_or_null(auth_client, user, cleared):
    set_it = auth_client.patch("/api/v1/me/", {"website": "https://ada.example/"}, format="json")
    assert set_it.json()["website"] == "https://ada.example/"
    response = auth_client.patch("/api/v1/me/", {"website": cleared}, format="json")
    assert response.status_code == 200
    assert response.json()["website"] is None
    user.refresh_from_db()
    assert user.website == ""


@pytest.mark.django_db
@pytest.mark.parametrize("website", ["ftp://ada.example/", 12, "not a url"])
def test_website_refuses_anything_but_an_http_url(auth_client, website):
    response = auth_client.patch("/api/v1/me/", {"website": website}, format="json")
    assert response.status_code == 400
    assert "website" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [0, 12.5, True, ["text"], {"text": "x"}])
def test_a_comment_body_that_is_not_a_string_is_refused_not_stored_as_text(
    auth_client, other_user, body
):
    from social.models import Comment
    from tests.factories import WorkbookFactory

    workbook = WorkbookFactory(author=other_user)
    response = auth_client.post(
        f"/api/v1/workbooks/{workbook.pk}/comments/", {"body": body}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["body"] == ["Not a valid string."]
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_a_number_for_a_model_text_field_is_refused(auth_client):
    response = auth_client.patch("/api/v1/me/", {"full_name": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["full_name"] == ["Not a valid string."]


@pytest.mark.django_db
def test_a_json_body_over_the_limit_is_a_json_413_and_is_not_read(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"username": "' + "a" * 2000 + '", "password": "x"}'
    response = api_client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.django_db
def test_a_form_with_too_many_fields_is_a_json_400(api_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{n}=x" for n in range(50))
    response = api_client.post(
        "/api/v1/auth/token/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "too_many_fields"


@pytest.mark.django_db
def test_a_multipart_form_with_oversized_fields_is_a_json_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "a" * 2000, "password": "x"}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404_and_a_page_elsewhere(client):
    api = client.get("/api/v1/no-such-thing/")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not found.", "code": "not_found"}
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "text/html" in page["Content-Type"]


@pytest.mark.django_db
def test_a_server_error_on_the_api_is_json(client, monkeypatch):
    from workbooks.api import views

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.TagListView, "get_queryset", explode)
    client.raise_request_exception = False
    response = client.get("/api/v1/tags/")
    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred.", "code": "server_error"}


def test_a_csrf_failure_on_the_api_is_json_and_a_page_elsewhere(rf):
    from sigma_playground.errors import csrf_failure

    api = csrf_failure(rf.post("/api/v1/notifications/stream/"), reason="CSRF token missing.")
    assert api.status_code == 403
    assert api["Content-Type"] == "application/json"
    assert json.loads(api.content)["code"] == "csrf_failed"
    page = csrf_failure(rf.post("/accounts/login/"), reason="CSRF token missing.")
    assert page.status_code == 403
    assert "text/html" in page["Content-Type"]


@pytest.mark.django_db
def test_an_upload_endpoint_refuses_an_oversized_url_encoded_body_unread(auth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = auth_client.post(
        "/api/v1/me/avatar/",
        "image=" + "a" * 2000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.django_db
def test_text_longer_than_its_limit_is_refused_even_if_trimming_would_fit(auth_client, user):
    response = auth_client.patch("/api/v1/me/", {"bio": " " + "x" * 500}, format="json")
    assert response.status_code == 400
    assert response.json()["bio"] == ["Ensure this field has no more than 500 characters."]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/tags/?q=a%00b", "/api/v1/workbooks/?q=a%00b"])
def test_a_nul_byte_in_a_search_is_a_400_not_a_database_error(api_client, path):
    # PostgreSQL refuses NUL in text (a 500 there); SQLite does not, so this holds on both.
    response = api_client.get(path)
    assert response.status_code == 400
    assert "q" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "1", "yes", "True "])
def test_a_boolean_query_parameter_is_true_or_false_and_nothing_else(auth_client, value):
    assert auth_client.get("/api/v1/workbooks/", {"featured": value}).status_code == 400
    assert auth_client.get("/api/v1/notifications/", {"unread": value}).status_code == 400
    assert auth_client.get("/api/v1/workbooks/", {"featured": "true"}).status_code == 200


@pytest.mark.django_db
def test_an_id_too_large_for_the_database_is_a_400_not_an_overflow(auth_client):
    response = auth_client.post("/api/v1/notifications/read/", {"ids": [1, 2**70]}, format="json")
    assert response.status_code == 400
    assert "ids" in response.json()
