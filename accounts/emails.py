"""Sending email after the request: SMTP can take seconds, or be down for a minute."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives

from sigma_playground import jobs


def send_later(message: EmailMultiAlternatives) -> None:
    """Send a composed message (sigma_playground.mail.compose) from a worker, once the current
    transaction commits."""
    html = next(
        (content for content, mimetype in message.alternatives if mimetype == "text/html"), None
    )
    jobs.later(
        "accounts.tasks.send_email",
        message.subject,
        message.body,
        list(message.to),
        html,
        dict(message.extra_headers),
    )
