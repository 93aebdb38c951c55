"""Secure (JWT) embed URLs, as Sigma documents its secure embeds (docs/embeds.md)."""

import datetime
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest

from workbooks.sigma import MAX_SIGNED_LIFETIME, SigningError, parse, sign

APP = "https://app.sigmacomputing.com"
WORKBOOK = f"{APP}/acme/workbook/Sales-Overview-3kN1vQz8xY2pLm7RtW0aB"
CLIENT_ID = "c0ffee00c0ffee00c0ffee00c0ffee00"
SECRET = "5ecre7" * 8
NOW = datetime.datetime(2025, 9, 1, 12, 0, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


def signed(raw=WORKBOOK, **overrides):
    arguments = {
        "viewer_email": "ada@example.com",
        "client_id": CLIENT_ID,
        "secret": SECRET,
        "lifetime": HOUR,
        "now": NOW,
    } | overrides
    return sign(parse(raw), **arguments)


def token_of(url):
    return dict(parse_qsl(urlsplit(url).query))[":jwt"]


def decoded(url, secret=SECRET):
    # Verify the signature but not exp: the tests sign with a fixed past `now`.
    return jwt.decode(token_of(url), secret, algorithms=["HS256"], options={"verify_exp": False})


@pytest.mark.parametrize(
    ("raw", "extra_params", "query"),
    [
        pytest.param(WORKBOOK, None, ":jwt=<token>&:embed=true", id="a workbook"),
        pytest.param(
            f"{WORKBOOK}/page/Xk3pQ9aLm2", None, ":jwt=<token>&:embed=true", id="one page"
        ),
        pytest.param(
            f"{WORKBOOK}/tag/v2/element/aB3x9Q", None, ":jwt=<token>&:embed=true", id="one element"
        ),
        pytest.param(
            f"{WORKBOOK}?theme=dark&lng=fr",
            None,
            "lng=fr&theme=dark&:jwt=<token>&:embed=true",
            id="the kept display parameters before the jwt",
        ),
        pytest.param(
            f"{WORKBOOK}?theme=dark",
            {"responsive_height": "true", "theme": "light"},
            "responsive_height=true&theme=light&:jwt=<token>&:embed=true",
            id="extra display parameters merged and sorted",
        ),
    ],
)
def test_a_signed_url_is_the_url_then_its_parameters_then_the_jwt(raw, extra_params, query):
    url, _ = signed(raw, extra_params=extra_params)
    base = parse(raw).url.split("?")[0]
    assert url == f"{base}?{query.replace('<token>', token_of(url))}"
    assert "%3A" not in url.upper()


def test_the_token_header_names_the_client_id_and_hs256():
    url, _ = signed()
    assert jwt.get_unverified_header(token_of(url)) == {
        "alg": "HS256",
        "kid": CLIENT_ID,
        "typ": "JWT",
    }


def test_the_token_carries_the_viewer_and_the_times():
    url, expires_at = signed(jti="fixed-jti")
    claims = decoded(url)
    iat = int(NOW.timestamp())
    assert claims == {
        "sub": "ada@example.com",
        "jti": "fixed-jti",
        "iat": iat,
        "exp": iat + 3600,
        "iss": CLIENT_ID,
    }
    assert expires_at == NOW + HOUR


@pytest.mark.parametrize(
    "lifetime",
    [
        pytest.param(datetime.timedelta(seconds=1), id="one second"),
        pytest.param(datetime.timedelta(minutes=10), id="ten minutes"),
        pytest.param(datetime.timedelta(days=1), id="a day"),
        pytest.param(MAX_SIGNED_LIFETIME, id="thirty days, the most Sigma allows"),
    ],
)
def test_the_token_lives_exactly_its_lifetime(lifetime):
    url, expires_at = signed(lifetime=lifetime)
    claims = decoded(url)
    assert datetime.timedelta(seconds=claims["exp"] - claims["iat"]) == lifetime
    assert expires_at == NOW + lifetime


def test_without_now_the_token_starts_now_and_verifies_fully():
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    url, expires_at = signed(now=None)
    claims = jwt.decode(token_of(url), SECRET, algorithms=["HS256"])
    assert before.timestamp() <= claims["iat"] <= before.timestamp() + 5
    assert expires_at.tzinfo is not None
    assert expires_at == datetime.datetime.fromtimestamp(claims["exp"], datetime.UTC)


def test_a_token_signed_with_another_secret_fails_verification():
    url, _ = signed()
    with pytest.raises(jwt.InvalidSignatureError):
        decoded(url, secret="another-secret-" * 4)


def test_a_token_verified_with_another_algorithm_fails():
    url, _ = signed()
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(token_of(url), SECRET, algorithms=["HS512"], options={"verify_exp": False})


def test_two_signatures_have_different_jtis():
    first, second = decoded(signed()[0]), decoded(signed()[0])
    assert first["jti"] != second["jti"]
    assert len(first["jti"]) == 32


@pytest.mark.parametrize(
    ("raw", "overrides", "reason"),
    [
        pytest.param(f"{APP}/embed/1-3UYrtvMY7HQPQgtIxBizvJ", {}, "public", id="a public embed"),
        pytest.param(WORKBOOK, {"client_id": ""}, "client id", id="an empty client id"),
        pytest.param(WORKBOOK, {"secret": ""}, "secret", id="an empty secret"),
        pytest.param(WORKBOOK, {"viewer_email": "ada"}, "email", id="an email without an at"),
        pytest.param(WORKBOOK, {"viewer_email": ""}, "email", id="an empty email"),
        pytest.param(WORKBOOK, {"viewer_email": "ada lovelace@x.com"}, "email", id="a space"),
        pytest.param(WORKBOOK, {"viewer_email": "ada_l@example.com"}, "email", id="an underscore"),
        pytest.param(WORKBOOK, {"viewer_email": " ada@example.com"}, "email", id="padded email"),
        pytest.param(WORKBOOK, {"viewer_email": "ada@"}, "email", id="an email without domain"),
        pytest.param(WORKBOOK, {"viewer_email": "a@b@c.com"}, "email", id="two at signs"),
        pytest.param(WORKBOOK, {"lifetime": datetime.timedelta(0)}, "lifetime", id="zero lifetime"),
        pytest.param(
            WORKBOOK, {"lifetime": datetime.timedelta(seconds=-5)}, "lifetime", id="negative"
        ),
        pytest.param(
            WORKBOOK,
            {"lifetime": datetime.timedelta(milliseconds=500)},
            "lifetime",
            id="less than a second",
        ),
        pytest.param(
            WORKBOOK,
            {"lifetime": MAX_SIGNED_LIFETIME + datetime.timedelta(seconds=1)},
            "lifetime",
            id="longer than thirty days",
        ),
        pytest.param(
            WORKBOOK, {"now": datetime.datetime(2025, 9, 1, 12)}, "timezone", id="a naive now"
        ),
        pytest.param(WORKBOOK, {"jti": ""}, "jti", id="an empty jti"),
        pytest.param(WORKBOOK, {"extra_params": {":jwt": "x"}}, "display", id="an extra jwt"),
        pytest.param(
            WORKBOOK, {"extra_params": {":embed": "false"}}, "display", id="an extra embed flag"
        ),
        pytest.param(
            WORKBOOK, {"extra_params": {"theme": "a&:jwt=x"}}, "value", id="an unsafe extra value"
        ),
    ],
)
def test_refused_inputs_raise_a_signing_error(raw, overrides, reason):
    with pytest.raises(SigningError, match=reason):
        signed(raw, **overrides)


def test_a_signing_error_is_a_value_error():
    assert issubclass(SigningError, ValueError)
