"""The page that shows the recovery codes once: a Download (.txt) link made from the page itself (a
data: URL, so it works without JavaScript and nothing is kept on the server) and a Copy button that
its script shows; no inline script (CSP)."""

import re
from urllib.parse import unquote

import pytest

from tests.accounts.helpers import code_for
from tests.workbooks.markup import page

MFA_URL = "/settings/two-factor/"
DATA_TEXT = "data:text/plain;charset=utf-8,"


@pytest.mark.django_db
def test_the_codes_page_offers_every_code_to_download_and_to_copy(client, user):
    client.force_login(user)
    client.post(MFA_URL, {"action": "start"})
    user.refresh_from_db()

    response = client.post(MFA_URL, {"action": "confirm", "code": code_for(user.mfa_secret)})

    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.content.decode())
    assert len(codes) == 10
    link = page(response).find("a", download="sigma-playground-recovery-codes.txt")
    assert link.attrs["href"].startswith(DATA_TEXT)
    text = unquote(link.attrs["href"].removeprefix(DATA_TEXT))
    assert text.splitlines() == ["Sigma Playground recovery codes", "", *codes]
    copy = page(response).find("button", data_copy_codes="recovery-codes")
    assert "hidden" in copy.attrs  # shown by its script, where there is a clipboard
    scripts = page(response).find_all("script")
    assert "/static/js/recovery_codes.js" in [script.attrs.get("src") for script in scripts]
    assert all(script.attrs.get("src") for script in scripts)  # no inline script: CSP
