"""Helpers for tests of the HTML pages: reading form errors, the session, escaped user text."""

import re
from html import unescape

from django.test import Client
from django.utils.html import strip_tags

SCRIPT = "<script>alert('x')</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"


def error_by_field(response, field: str) -> str:
    """The error text in the field's error box, once sure the field's input points at that box."""
    page = response.content.decode()
    control = re.search(rf'<(?:input|textarea)\b[^>]*\bname="{field}"[^>]*>', page)
    assert control, f"no input named {field!r}"
    assert 'aria-invalid="true"' in control[0]
    assert re.search(rf'aria-describedby="[^"]*\bid_{field}_error\b', control[0]), control[0]
    box = re.search(rf'<div class="field__errors" id="id_{field}_error">(.*?)</div>', page, re.S)
    assert box, f"no error box for {field!r}"
    return unescape(strip_tags(box[1]))


def form_alert(response) -> str:
    """The errors about the whole form, in the box screen readers announce."""
    box = re.search(
        r'<div class="form-errors" role="alert">(.*?)</div>', response.content.decode(), re.S
    )
    assert box, "no form-level error box"
    return unescape(strip_tags(box[1])).strip()


def signed_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


def member_client(user):
    """A browser signed in as `user` whose session has had its first page (its cached copy vouched
    for), as a member's every later page finds it."""
    client = Client()
    client.force_login(user)
    client.get("/settings/")
    return client
