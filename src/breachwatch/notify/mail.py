"""Sending email: an interface with an SMTP backend (smtplib, STARTTLS or implicit TLS) and a file backend
that writes .eml files (development, tests)."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from .sms import DeliveryError


class EmailSender(Protocol):
    """Sends one prepared email message."""

    def send(self, message: EmailMessage) -> None:
        """Hand `message` to the transport; raise DeliveryError if it refuses it."""


class FileEmailSender:
    """Development backend: writes each message to DIRECTORY/<uuid>.eml."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        """Write the message to a new file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))


class SmtpEmailSender:
    """Sends through an SMTP server with the configured security and credentials."""

    def __init__(self, host: str, port: int, tls: str = "starttls", username: str | None = None,
                 password: str | None = None, timeout: float = 30.0) -> None:
        if tls not in ("starttls", "ssl", "none"):
            raise DeliveryError(f"BREACHWATCH_SMTP_TLS={tls!r}: use starttls, ssl or none")
        self.host, self.port, self.tls = host, port, tls
        self._username, self._password = username, password
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        """Open a connection, authenticate if configured, send, close."""
        try:
            smtp: smtplib.SMTP
            if self.tls == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}") from None
