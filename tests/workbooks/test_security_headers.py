"""Every page carries a Content-Security-Policy that frames only Sigma, and the usual hardening headers."""

import pytest

from tests.factories import WorkbookFactory
from tests.workbooks.markup import page

PAGES = [
    pytest.param("/", id="home"),
    pytest.param("detail", id="workbook"),
    pytest.param("/explore/?q=revenue", id="explore"),
    pytest.param("/accounts/login/", id="sign in"),
    pytest.param("/admin/login/", id="admin sign in"),
    pytest.param("/api/v1/docs/", id="API docs"),
    pytest.param("/w/no-such-workbook/", id="not found"),
    pytest.param("/api/v1/workbooks/", id="API"),
]


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for directive in response["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        assert name not in directives, f"{name} appears twice"
        directives[name] = values
    return directives


@pytest.fixture
def get(client, db):
    workbook = WorkbookFactory(title="Revenue")

    def get(url):
        return client.get(workbook.get_absolute_url() if url == "detail" else url)

    return get


@pytest.mark.parametrize("url", PAGES)
def test_every_page_frames_only_the_allow_listed_sigma_hosts(get, settings, url):
    response = get(url)

    assert policy(response)["frame-src"] == [
        f"https://{host}" for host in settings.SIGMA_EMBED_HOSTS
    ]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_runs_only_its_own_script_files(get, url):
    directives = policy(get(url))

    assert directives["script-src"] == ["'self'"]
    for name in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in directives[name]
        assert "'unsafe-eval'" not in directives[name]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]


@pytest.mark.parametrize("url", PAGES)
def test_no_site_may_frame_any_page(get, url):
    response = get(url)

    assert policy(response)["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_nosniff_and_a_referrer_policy(get, url):
    response = get(url)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("url", [p for p in PAGES if p.id not in {"API"}])
def test_no_page_has_inline_script_that_the_policy_would_block(get, url):
    document = page(get(url))

    for script in document.find_all("script"):
        assert script.attrs.get("src"), "inline <script>"
    for element in document.iter():
        assert not [name for name in element.attrs if name.startswith("on")], element.tag


@pytest.mark.parametrize("url", ["/", "detail", "/admin/login/"])
def test_frame_src_follows_the_sigma_hosts_setting(get, settings, url):
    settings.SIGMA_EMBED_HOSTS = ["app.sigmacomputing.com", "aws-api.sigmacomputing.com"]

    response = get(url)

    assert policy(response)["frame-src"] == [
        "https://app.sigmacomputing.com",
        "https://aws-api.sigmacomputing.com",
    ]


@pytest.mark.django_db
def test_the_workbook_page_listens_to_messages_from_the_allow_listed_hosts(client, settings):
    settings.SIGMA_EMBED_HOSTS = ["app.sigmacomputing.com", "aws-api.sigmacomputing.com"]
    workbook = WorkbookFactory()

    response = client.get(workbook.get_absolute_url())

    embed = page(response).find("section", class_="embed")
    assert embed.attrs["data-origins"].split() == [
        "https://app.sigmacomputing.com",
        "https://aws-api.sigmacomputing.com",
    ]
