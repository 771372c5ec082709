"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, on a free port, in its own thread.

It records every message it accepts, parsed, so tests assert on what a mail server
actually received. It can be stopped and started again on the same port (an outage),
refuses recipients whose address starts with `reject` (a permanent failure), and
defers those starting with `flaky` once (a temporary one).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body((subtype,))
        assert body is not None, f"the message has no text/{subtype} part:\n{self.message}"
        return str(body.get_content())  # type: ignore[attr-defined]

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("reject"):
            return "550 5.1.1 No such mailbox here"
        if address.startswith("flaky") and address not in self.sink.deferred:
            self.sink.deferred.add(address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.sink.record(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.deferred: set[str] = set()
        self.port = 0
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._connections: list[SMTP] = []

    def record(self, received: Received) -> None:
        with self._changed:
            self.messages.append(received)
            self._changed.notify_all()

    def start(self) -> None:
        """Listen (again) on the same port; the first start picks a free one."""

        async def serve() -> asyncio.Server:
            handler = _Handler(self)

            def protocol() -> SMTP:
                connection = SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True)
                self._connections.append(connection)
                return connection

            return await self._loop.create_server(
                protocol,
                "127.0.0.1",
                self.port,
                reuse_address=True,
            )

        self._server = asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Stop accepting connections: new ones are refused, as from a server that is down."""
        server = self._server
        if server is None:
            return
        self._server = None

        async def close() -> None:
            server.close()
            for connection in self._connections:
                if connection.transport is not None:
                    connection.transport.close()
            self._connections.clear()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)

    def shutdown(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until at least `count` messages arrived, or fail with what did."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.messages) >= count, timeout)
            received = list(self.messages)
        assert arrived, f"expected {count} message(s) within {timeout}s, got {len(received)}: " + (
            ", ".join(f"{m.subject!r} to {m.rcpt_tos}" for m in received)
        )
        return received

    def to(self, address: str) -> list[Received]:
        with self._changed:
            return [m for m in self.messages if address in m.rcpt_tos]
