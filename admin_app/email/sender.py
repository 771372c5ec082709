"""Turning an outbox row into an email, and handing it to SMTP (aiosmtplib) or the console.

A transport opens a connection that sends many messages, so a worker's batch costs
one SMTP session. Failures are sorted into the three cases the worker treats
differently: the server cannot be reached (`ConnectError`, counted by the circuit
breaker), a message was refused for good (a 5xx reply: no retry), or anything else
(retry later).
"""

from __future__ import annotations

import sys
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol, TextIO

import aiosmtplib

from admin_app.email.outgoing import Outgoing
from admin_app.settings import Settings


class ConnectError(Exception):
    """The SMTP server could not be reached, or refused to start a session."""


class SendError(Exception):
    """One message was not accepted."""

    def __init__(self, message: str, *, permanent: bool = False, connection_lost: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.connection_lost = connection_lost


class Connection(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    description: str

    async def connect(self) -> Connection: ...


def build_message(settings: Settings, outgoing: Outgoing) -> EmailMessage:
    """A MIME message: plain text with an HTML alternative, and the row's stable Message-ID."""
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = outgoing.recipient
    message["Subject"] = outgoing.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = outgoing.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(outgoing.text)
    message.add_alternative(outgoing.html, subtype="html")
    return message


def describe(error: BaseException) -> str:
    """One line saying what went wrong, for logs and the admin."""
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


class SmtpConnection:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client

    async def send(self, message: EmailMessage) -> None:
        try:
            await self.client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise SendError(describe(error), permanent=all(c >= 500 for c in codes)) from error
        except aiosmtplib.SMTPServerDisconnected as error:
            raise SendError(describe(error), connection_lost=True) from error
        except aiosmtplib.SMTPResponseException as error:
            raise SendError(describe(error), permanent=error.code >= 500) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise SendError(describe(error), connection_lost=True) from error

    async def close(self) -> None:
        try:
            await self.client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self.client.close()


class SmtpTransport:
    """Sends through `SMTP_HOST:SMTP_PORT`, with STARTTLS, implicit TLS or neither."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.description = (
            f"smtp://{settings.smtp_host}:{settings.smtp_port} (tls: {settings.smtp_tls})"
        )

    async def connect(self) -> Connection:
        settings = self.settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            timeout=settings.smtp_timeout,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            username=settings.smtp_user or None,
            password=settings.smtp_password.get_secret_value() or None,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            client.close()
            raise ConnectError(describe(error)) from error
        return SmtpConnection(client)


class ConsoleConnection:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    async def send(self, message: EmailMessage) -> None:
        text = message.get_body(("plain",))
        body = text.get_content() if isinstance(text, EmailMessage) else ""
        headers = "".join(f"{k}: {message[k]}\n" for k in ("From", "To", "Subject", "Message-ID"))
        rule = "-" * 72
        self.stream.write(f"{rule}\n{headers}\n{body}{rule}\n")
        self.stream.flush()

    async def close(self) -> None:
        return None


class ConsoleTransport:
    """Prints each message's headers and text part: for development, no server needed."""

    description = "the console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def connect(self) -> Connection:
        return ConsoleConnection(self.stream or sys.stdout)


def transport_for(settings: Settings) -> Transport:
    """The transport `EMAIL_BACKEND` names."""
    if settings.email_backend == "smtp":
        return SmtpTransport(settings)
    return ConsoleTransport()
