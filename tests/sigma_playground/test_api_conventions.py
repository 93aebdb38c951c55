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
