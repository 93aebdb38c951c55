"""Which pasted Sigma URLs are accepted, how they are normalised, and which are refused (docs/embeds.md)."""

import pytest

from workbooks.sigma import (
    DEFAULT_HOSTS,
    MAX_URL_LENGTH,
    EmbedKind,
    InvalidSigmaUrl,
    SigmaUrl,
    parse,
    with_params,
)

APP = "https://app.sigmacomputing.com"
EMBED = f"{APP}/embed/1-3UYrtvMY7HQPQgtIxBizvJ"
WORKBOOK = f"{APP}/acme/workbook/Sales-Overview-3kN1vQz8xY2pLm7RtW0aB"


@pytest.mark.parametrize(
    ("raw", "kind", "url"),
    [
        pytest.param(EMBED, EmbedKind.PUBLIC, EMBED, id="a public embed"),
        pytest.param(
            f"{EMBED}/", EmbedKind.PUBLIC, EMBED, id="a public embed with a trailing slash"
        ),
        pytest.param(f"  {EMBED}\n", EmbedKind.PUBLIC, EMBED, id="surrounding whitespace"),
        pytest.param(
            "HTTPS://APP.SigmaComputing.COM/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            EmbedKind.PUBLIC,
            EMBED,
            id="an upper-case scheme and host, the id keeping its case",
        ),
        pytest.param(
            "https://app.sigmacomputing.com:443/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            EmbedKind.PUBLIC,
            EMBED,
            id="port 443 normalised away",
        ),
        pytest.param(f"{EMBED}#section", EmbedKind.PUBLIC, EMBED, id="a fragment dropped"),
        pytest.param(WORKBOOK, EmbedKind.WORKBOOK, WORKBOOK, id="a workbook"),
        pytest.param(
            f"{WORKBOOK}/", EmbedKind.WORKBOOK, WORKBOOK, id="a workbook with a trailing slash"
        ),
        pytest.param(
            f"{APP}/acme_corp-2/workbook/Q3-3kN1vQz8xY2pLm7RtW0aB",
            EmbedKind.WORKBOOK,
            f"{APP}/acme_corp-2/workbook/Q3-3kN1vQz8xY2pLm7RtW0aB",
            id="an org slug with underscores and hyphens",
        ),
        pytest.param(
            f"{WORKBOOK}/tag/Production",
            EmbedKind.WORKBOOK,
            f"{WORKBOOK}/tag/Production",
            id="a tagged workbook version",
        ),
        pytest.param(
            f"{WORKBOOK}/page/Xk3pQ9aLm2",
            EmbedKind.PAGE,
            f"{WORKBOOK}/page/Xk3pQ9aLm2",
            id="one page",
        ),
        pytest.param(
            f"{WORKBOOK}/element/aB3_x-9Q",
            EmbedKind.ELEMENT,
            f"{WORKBOOK}/element/aB3_x-9Q",
            id="one element",
        ),
        pytest.param(
            f"{WORKBOOK}/tag/v2/page/Xk3pQ9aLm2",
            EmbedKind.PAGE,
            f"{WORKBOOK}/tag/v2/page/Xk3pQ9aLm2",
            id="one page of a tagged version",
        ),
        pytest.param(
            f"{WORKBOOK}/tag/v2/element/aB3x9Q/",
            EmbedKind.ELEMENT,
            f"{WORKBOOK}/tag/v2/element/aB3x9Q",
            id="one element of a tagged version with a trailing slash",
        ),
        pytest.param(
            f"{APP}/acme/workbook/Sales-Overview/3kN1vQz8xY2pLm7RtW0aB",
            EmbedKind.WORKBOOK,
            f"{APP}/acme/workbook/Sales-Overview/3kN1vQz8xY2pLm7RtW0aB",
            id="the API form name slash id",
        ),
        pytest.param(
            f"{APP}/acme/workbook/Quarterly/3kN1vQz8xY2pLm7RtW0aB/page/p1",
            EmbedKind.PAGE,
            f"{APP}/acme/workbook/Quarterly/3kN1vQz8xY2pLm7RtW0aB/page/p1",
            id="the API form whose name looks like an id",
        ),
        pytest.param(
            f"{APP}/acme/workbook/3kN1vQz8xY2pLm7RtW0aB/page/Xk3pQ9aLm2",
            EmbedKind.PAGE,
            f"{APP}/acme/workbook/3kN1vQz8xY2pLm7RtW0aB/page/Xk3pQ9aLm2",
            id="the API form id then page",
        ),
        pytest.param(
            f"{WORKBOOK}?theme=Dark&hide_menu=true&lng=fr",
            EmbedKind.WORKBOOK,
            f"{WORKBOOK}?hide_menu=true&lng=fr&theme=Dark",
            id="display parameters kept and sorted",
        ),
        pytest.param(
            f"{WORKBOOK}?:jwt=eyJhbGciOiJIUzI1NiJ9.e30.sig&:embed=true&theme=dark",
            EmbedKind.WORKBOOK,
            f"{WORKBOOK}?theme=dark",
            id="a pasted jwt dropped",
        ),
        pytest.param(
            f"{EMBED}?:nonce=abc&:client_id=c1&:email=a@b.c&:signature=ff00&:time=1&:mode=userbacked",
            EmbedKind.PUBLIC,
            EMBED,
            id="legacy signing parameters dropped",
        ),
        pytest.param(
            f"{WORKBOOK}?utm_source=mail&responsive_height=true&fbclid=x",
            EmbedKind.WORKBOOK,
            f"{WORKBOOK}?responsive_height=true",
            id="unknown parameters dropped",
        ),
        pytest.param(
            f"{WORKBOOK}?theme=<script>&lng=&menu_position=" + "x" * 33,
            EmbedKind.WORKBOOK,
            WORKBOOK,
            id="display parameters with unsafe empty or long values dropped",
        ),
        pytest.param(
            f"{WORKBOOK}?theme=light&theme=dark",
            EmbedKind.WORKBOOK,
            f"{WORKBOOK}?theme=dark",
            id="a repeated parameter keeps its last value",
        ),
        pytest.param(
            f"{WORKBOOK}/?hide_tooltip=true#x?:jwt=y",
            EmbedKind.WORKBOOK,
            f"{WORKBOOK}?hide_tooltip=true",
            id="a query after a trailing slash and a fragment holding a jwt",
        ),
    ],
)
def test_a_pasted_url_is_accepted_and_normalised(raw, kind, url):
    parsed = parse(raw)
    assert (parsed.kind, parsed.url) == (kind, url)
    assert parsed.host == "app.sigmacomputing.com"
    assert parsed.is_public is (kind is EmbedKind.PUBLIC)
    assert ":" not in parsed.url.removeprefix("https:")


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        pytest.param(EMBED, {"embed_id": "1-3UYrtvMY7HQPQgtIxBizvJ"}, id="a public embed's id"),
        pytest.param(
            f"{WORKBOOK}/tag/v2/page/Xk3pQ9aLm2?lng=fr",
            {
                "org": "acme",
                "workbook_name": "Sales-Overview",
                "workbook_id": "3kN1vQz8xY2pLm7RtW0aB",
                "version_tag": "v2",
                "page_id": "Xk3pQ9aLm2",
                "params": (("lng", "fr"),),
            },
            id="a workbook's name is before the last hyphen and its id after",
        ),
        pytest.param(
            f"{WORKBOOK}/element/aB3x9Q",
            {"workbook_name": "Sales-Overview", "element_id": "aB3x9Q", "page_id": ""},
            id="an element's id",
        ),
        pytest.param(
            f"{APP}/acme/workbook/Sales-Overview/3kN1vQz8xY2pLm7RtW0aB",
            {"workbook_name": "Sales-Overview", "workbook_id": "3kN1vQz8xY2pLm7RtW0aB"},
            id="the API form's name and id",
        ),
        pytest.param(
            f"{APP}/acme/workbook/3kN1vQz8xY2pLm7RtW0aB",
            {"workbook_name": "", "workbook_id": "3kN1vQz8xY2pLm7RtW0aB"},
            id="the API form without a name",
        ),
    ],
)
def test_the_parts_of_a_url_are_read(raw, fields):
    parsed = parse(raw)
    assert {name: getattr(parsed, name) for name in fields} == fields


LONG_PATH = f"{APP}/acme/workbook/" + "A" * (MAX_URL_LENGTH) + "-3kN1vQz8xY2pLm7RtW0aB"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("", "empty", id="an empty string"),
        pytest.param("   \n", "empty", id="only whitespace"),
        pytest.param(LONG_PATH, "longer than", id="a URL longer than the maximum"),
        pytest.param(f"{APP}/embed/1-3UYrtvMY7 HQPQ", "spaces", id="a space inside"),
        pytest.param(f"{APP}/embed/1-3UYrtvMY7\tHQPQ", "spaces", id="a tab inside"),
        pytest.param(f"{APP}/embed/1-3UYrtvMY7\nHQPQ", "spaces", id="a newline inside"),
        pytest.param(f"{APP}/embed/1-3UYrtv\x00MY7HQPQ", "invisible", id="a NUL inside"),
        pytest.param(f"{APP}/embed/1-3UYrtv\x7fMY7HQPQ", "invisible", id="a DEL inside"),
        pytest.param(f"{APP}/embed/1-3UYrtv\u200bMY7HQ", "invisible", id="a zero-width space"),
        pytest.param(f"{APP}/embed/1-3UYrtv\u202eMY7HQ", "invisible", id="a bidi override"),
        pytest.param(
            "https://app.sigmacomputing.com\\@evil.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "backslashes",
            id="a backslash",
        ),
        pytest.param(
            "http://app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "https", id="http"
        ),
        pytest.param("javascript:alert(1)//app.sigmacomputing.com/embed/x", "https", id="js"),
        pytest.param("data:text/html,<script>", "https", id="a data URL"),
        pytest.param(
            "ftp://app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "https", id="ftp"
        ),
        pytest.param(
            "//app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "https", id="no scheme"
        ),
        pytest.param(
            "app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "https", id="bare host"
        ),
        pytest.param(
            "https:app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQg", "https", id="no slashes"
        ),
        pytest.param(
            "https://user@app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "user name",
            id="user info",
        ),
        pytest.param(
            "https://app.sigmacomputing.com:pw@evil.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "user name",
            id="user info that looks like the host",
        ),
        pytest.param(
            "https://app.sigmacomputing.com:8443/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "port",
            id="port 8443",
        ),
        pytest.param(
            "https://app.sigmacomputing.com:80/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "port", id="port 80"
        ),
        pytest.param(
            "https://app.sigmacomputing.com:/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "port",
            id="an empty port",
        ),
        pytest.param(
            "https://app.sigmacomputing.com:0443/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "port",
            id="a zero-padded port",
        ),
        pytest.param("https://127.0.0.1/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "IP", id="an IPv4"),
        pytest.param("https://[::1]/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "IP", id="an IPv6"),
        pytest.param("https://[::ffff:127.0.0.1]:443/embed/1-3UYrtvMY7HQ", "IP", id="mapped IPv6"),
        pytest.param("https://2130706433/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "IP", id="a decimal IP"),
        pytest.param("https://0x7f000001/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "IP", id="a hex IP"),
        pytest.param("https://017700000001/embed/1-3UYrtvMY7HQPQgtIx", "IP", id="an octal IP"),
        pytest.param("https://127.1/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "IP", id="a short IP"),
        pytest.param("https://0x7f.0.0.1/embed/1-3UYrtvMY7HQPQgtIxBizvJ", "IP", id="a mixed IP"),
        pytest.param(
            "https://app.sigmacomputing.com.evil.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "must be on app.sigmacomputing.com",
            id="the allowed host as a prefix of another",
        ),
        pytest.param(
            "https://evilsigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "must be on",
            id="a host ending like the allowed one",
        ),
        pytest.param(
            "https://evil.app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "must be on",
            id="a subdomain of the allowed host",
        ),
        pytest.param(
            "https://aws-api.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "must be on",
            id="Sigma's API host",
        ),
        pytest.param(
            "https://app.sigmacomputing.com./embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "end with a dot",
            id="a trailing-dot host",
        ),
        pytest.param(
            "https://app.\u0455igmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "ASCII",
            id="a Cyrillic look-alike letter in the host",
        ),
        pytest.param(
            "https://app.sigmacomputing.com\uff0fembed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "ASCII",
            id="a full-width slash in the host",
        ),
        pytest.param(
            "https://app.xn--sigmacomputing-abc.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "xn--",
            id="a punycode label",
        ),
        pytest.param(
            "https://app%2esigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "host name",
            id="a percent-encoded host",
        ),
        pytest.param("https:///embed/1-3UYrtvMY7HQPQgtIxBizvJ", "host name", id="an empty host"),
        pytest.param(f"{APP}/embed/../acme/workbook/x", "..", id="dot dot in the path"),
        pytest.param(f"{WORKBOOK}/page/..", "..", id="dot dot at the end of the path"),
        pytest.param(f"{APP}/embed%2f1-3UYrtvMY7HQPQgtIxBizvJ", "percent", id="an encoded slash"),
        pytest.param(f"{APP}/embed/%2e%2E/acme", "percent", id="encoded dots"),
        pytest.param(
            f"{APP}/embed%5C1-3UYrtvMY7HQPQgtIxBizvJ", "percent", id="an encoded backslash"
        ),
        pytest.param(APP, "not the address", id="the host alone"),
        pytest.param(f"{APP}/", "not the address", id="the home page"),
        pytest.param(f"{APP}/embed/", "not the address", id="an embed without an id"),
        pytest.param(f"{APP}/embed/1-3UY", "not the address", id="an embed id too short"),
        pytest.param(f"{APP}/embed/{'a' * 81}", "not the address", id="an embed id too long"),
        pytest.param(f"{APP}/embed/1-3UY_rtvMY7", "not the address", id="an underscore embed id"),
        pytest.param(f"{EMBED}/extra", "not the address", id="an embed with more path"),
        pytest.param(f"{APP}/EMBED/1-3UYrtvMY7HQPQgtIxBizvJ", "not the address", id="upper EMBED"),
        pytest.param(f"{APP}/acme/workbook", "not the address", id="a workbook without an id"),
        pytest.param(
            f"{APP}/acme/workbook/Sales-abc", "not the address", id="a workbook id too short"
        ),
        pytest.param(f"{APP}/acme/workbook/Sales-", "not the address", id="an empty workbook id"),
        pytest.param(
            f"{APP}/acme/workbook/Sales-{'a' * 65}", "not the address", id="a workbook id too long"
        ),
        pytest.param(
            f"{APP}/acme/workbook/Sales_Q3-3kN1vQz8xY2pLm7RtW0aB",
            "not the address",
            id="an underscore in the workbook name",
        ),
        pytest.param(
            f"{APP}/acme/workbook/Caf%C3%A9-3kN1vQz8xY2pLm7RtW0aB",
            "not the address",
            id="a percent-encoded workbook name",
        ),
        pytest.param(
            f"{APP}/ac.me/workbook/Sales-3kN1vQz8xY2pLm7RtW0aB",
            "not the address",
            id="a dot in the org slug",
        ),
        pytest.param(
            f"{APP}//workbook/Sales-3kN1vQz8xY2pLm7RtW0aB", "not the address", id="an empty org"
        ),
        pytest.param(
            f"{APP}/acme/folder/Sales-3kN1vQz8xY2pLm7RtW0aB", "not the address", id="folder"
        ),
        pytest.param(f"{WORKBOOK}/page", "not the address", id="a page without an id"),
        pytest.param(f"{WORKBOOK}/page/", "not the address", id="a page with an empty id"),
        pytest.param(f"{WORKBOOK}/tag", "not the address", id="a tag without a name"),
        pytest.param(f"{WORKBOOK}/tag/v2/tag/v3", "not the address", id="two tags"),
        pytest.param(
            f"{WORKBOOK}/page/p1/element/e1", "not the address", id="a page and an element"
        ),
        pytest.param(f"{WORKBOOK}/page/p1/extra", "not the address", id="more after the page"),
        pytest.param(f"{WORKBOOK}/edit", "not the address", id="an unknown suffix"),
        pytest.param(f"{WORKBOOK}//", "not the address", id="two trailing slashes"),
        pytest.param(f"{WORKBOOK}/./page/p1", "not the address", id="a dot segment"),
        pytest.param(f"{WORKBOOK}/page/p1;x=1", "not the address", id="path parameters"),
    ],
)
def test_a_bad_url_is_refused_with_a_helpful_message(raw, reason):
    with pytest.raises(InvalidSigmaUrl) as refused:
        parse(raw)
    message = str(refused.value)
    assert reason in message
    assert "https://app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ" in message
    assert "https://app.sigmacomputing.com/<your-org>/workbook/<Name>-<id>" in message


def test_a_refusal_is_a_value_error():
    assert issubclass(InvalidSigmaUrl, ValueError)


@pytest.mark.parametrize(
    ("raw", "allowed_hosts", "host"),
    [
        pytest.param(
            "https://sigma.example.org/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            ("app.sigmacomputing.com", "sigma.example.org"),
            "sigma.example.org",
            id="a host the site added",
        ),
        pytest.param(
            "https://Sigma.Example.org/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            ["SIGMA.example.ORG"],
            "sigma.example.org",
            id="allowed hosts compared without case",
        ),
        pytest.param(
            "https://sigma.example.org/embed/1-3UYrtvMY7HQPQgtIxBizvJ",
            "sigma.example.org",
            "sigma.example.org",
            id="a single host given as a string",
        ),
    ],
)
def test_the_allowed_hosts_are_the_callers_to_choose(raw, allowed_hosts, host):
    assert parse(raw, allowed_hosts=allowed_hosts).host == host


def test_the_default_host_is_refused_when_the_caller_allows_another():
    with pytest.raises(InvalidSigmaUrl, match=r"must be on sigma\.example\.org"):
        parse(EMBED, allowed_hosts=["sigma.example.org"])


def test_the_default_hosts_are_sigmas_app():
    assert DEFAULT_HOSTS == ("app.sigmacomputing.com",)


@pytest.mark.parametrize(
    ("raw", "params", "url"),
    [
        pytest.param(
            WORKBOOK,
            {"responsive_height": "true"},
            f"{WORKBOOK}?responsive_height=true",
            id="a parameter added to a bare URL",
        ),
        pytest.param(
            f"{WORKBOOK}/page/p1?theme=dark&lng=fr",
            {"theme": "light", "hide_menu": "true"},
            f"{WORKBOOK}/page/p1?hide_menu=true&lng=fr&theme=light",
            id="parameters merged sorted and the new value winning",
        ),
        pytest.param(f"{EMBED}?lng=fr", {}, f"{EMBED}?lng=fr", id="no parameters added"),
    ],
)
def test_display_parameters_can_be_added(raw, params, url):
    assert with_params(parse(raw), **params) == url


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({":jwt": "x"}, id="a jwt"),
        pytest.param({"utm_source": "x"}, id="an unknown parameter"),
        pytest.param({"theme": "a&b"}, id="an unsafe value"),
        pytest.param({"theme": ""}, id="an empty value"),
        pytest.param({"theme": "x" * 33}, id="a value too long"),
        pytest.param({"responsive_height": True}, id="a value that is not a string"),
    ],
)
def test_only_valid_display_parameters_can_be_added(params):
    with pytest.raises(ValueError, match=r"display parameter|a value is"):
        with_params(parse(WORKBOOK), **params)


def test_a_parsed_url_is_immutable():
    parsed = parse(WORKBOOK)
    with pytest.raises(AttributeError):
        parsed.url = EMBED  # type: ignore[misc]
    assert isinstance(parsed, SigmaUrl)
    assert parse(WORKBOOK) == parsed
