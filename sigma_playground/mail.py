"""Email that looks like the site: one message from three templates, `<name>_subject.txt`,
`<name>.txt` and `<name>.html` (which extends `email/base.html`), with the site's name and address
in every context. Composing is here; sending is the caller's (`accounts.emails.send_later` queues it
for a worker, a task already on a worker sends it itself).

    message = mail.compose(
        to="ada@example.com", template="social/email/comments", context={...},
        unsubscribe_url=mail.absolute(reverse("social:unsubscribe", args=[token])),
    )

With `unsubscribe_url`, the message carries `List-Unsubscribe` and `List-Unsubscribe-Post`
(RFC 8058): a mail client's one-click unsubscribe POSTs to that address, which must answer a POST
without a sign-in or a CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def absolute(path: str) -> str:
    """The address of a path on this site, for a link in an email (never the request's Host)."""
    return f"{settings.SITE_URL}{path}"


def compose(
    *,
    to: str | list[str],
    template: str,
    context: dict[str, Any],
    unsubscribe_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "unsubscribe_url": unsubscribe_url,
        **context,
    }
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    all_headers = dict(headers or {})
    if unsubscribe_url:
        all_headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        all_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[to] if isinstance(to, str) else list(to),
        headers=all_headers,
    )
    message.attach_alternative(html, "text/html")
    return message
