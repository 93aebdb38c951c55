"""A provider's refusal, a cancelled sign-in, a stale or forged answer, a provider down: a clear
4xx page, never a 500."""

from __future__ import annotations

import pytest
import requests

from tests.accounts.provider_flow import sign_in_with

pytestmark = pytest.mark.django_db


def test_cancelled_at_the_provider(client, oidc):
    oidc.add("ada", "ada@example.com")
    oidc.cancel = True
    answer = sign_in_with(client, oidc, "oidc", "ada")
    assert answer.status_code == 400
    assert "was cancelled" in answer.content.decode()


def test_an_answer_without_a_sign_in_under_way(client, oidc):
    answer = client.get("/accounts/provider/oidc/callback/?code=abc&state=forged")
    assert answer.status_code == 400
    assert "Please try again" in answer.content.decode()


def test_a_forged_state(client, oidc):
    oidc.add("ada", "ada@example.com")
    client.post("/accounts/provider/oidc/start/")
    code = oidc.grant("ada", "http://testserver/accounts/provider/oidc/callback/")
    answer = client.get(f"/accounts/provider/oidc/callback/?code={code}&state=forged")
    assert answer.status_code == 400


def test_the_provider_down_when_answering(client, oidc):
    oidc.add("ada", "ada@example.com")
    start = client.post("/accounts/provider/oidc/start/")
    oidc.approve_as = "ada"
    # The stand-in answers the authorize step, then goes down before the code is exchanged.
    back = requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"]
    oidc.down = True
    answer = client.get(back.removeprefix("http://testserver"))
    assert answer.status_code == 400


def test_unknown_or_unconfigured_provider(client, oidc):
    assert client.post("/accounts/provider/nope/start/").status_code == 404
    assert client.post("/accounts/provider/github/start/").status_code == 404  # not configured
    assert client.get("/accounts/provider/nope/callback/?code=x").status_code == 404


def test_start_is_post_only(client, oidc):
    assert client.get("/accounts/provider/oidc/start/").status_code == 405


def test_the_provider_unreachable_when_answering(client, oidc):
    oidc.add("ada", "ada@example.com")
    start = client.post("/accounts/provider/oidc/start/")
    oidc.approve_as = "ada"
    back = requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"]
    oidc.stop()  # nothing listens on its port any more
    answer = client.get(back.removeprefix("http://testserver"))
    assert answer.status_code == 400
    assert "Please try again" in answer.content.decode()
