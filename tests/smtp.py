"""A real SMTP server for the email tests: aiosmtpd on a free port of 127.0.0.1, in a thread, with
Django's SMTP backend pointed at it. What it receives is parsed as a mail client would
(email.message_from_bytes), so a test reads the subject, headers, text and HTML parts and follows
the links, as a member would.

    def test_something(smtp_mailbox):
        ...  # something that sends an email
        (message,) = smtp_mailbox.messages
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        smtp_mailbox.links(message)

Use it in a test module with `from tests.smtp import smtp_mailbox_fixture  # noqa: F401`.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

_LINK = re.compile(r"https?://[^\s<>\"']+")


class Mailbox:
    """aiosmtpd's handler: keeps each message delivered, parsed. The server answers DATA only once
    the message is kept, so a sent email is here when Django's send() returns."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages delivered to `address`, in order."""
        return [
            m for m, rcpt in zip(self.messages, self.recipients, strict=True) if address in rcpt
        ]

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None, "no text part"
        return part.get_content()

    @staticmethod
    def html(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        assert part is not None, "no HTML part"
        return part.get_content()

    def links(self, message: EmailMessage) -> list[str]:
        """The addresses in the text part, in order."""
        return _LINK.findall(self.text(message))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(name="smtp_mailbox")
def smtp_mailbox_fixture(settings):
    """A running SMTP server that Django sends to; yields its Mailbox."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield mailbox
    finally:
        controller.stop()
