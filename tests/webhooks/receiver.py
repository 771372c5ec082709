"""A real webhook receiver on 127.0.0.1: an HTTP server in a thread that records each POST.

Each path behaves as the test says: answer 200, answer 500, fail a few times first,
or sleep before answering. Signatures are checked by the tests with the function
docs/webhooks.md gives receivers (`verifier`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from admin_app.settings import PROJECT_ROOT

GUIDE = PROJECT_ROOT / "docs" / "webhooks.md"
Verify = Callable[..., bool]


def verifier() -> Verify:
    """`verify_webhook`, as docs/webhooks.md writes it (its one ```python block)."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert len(blocks) == 1, "docs/webhooks.md should hold exactly one Python snippet"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(GUIDE), "exec"), namespace)
    verify: Verify = namespace["verify_webhook"]
    return verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0
    fail_first: int = 0
    """Answer 500 to this many requests before answering `status`."""
    seen: int = 0


@dataclass
class Receiver:
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-body: nothing was delivered
                    self.close_connection = True
                    return
                status = receiver.answer(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def behave(self, path: str, **how: Any) -> None:
        with self.lock:
            self.behaviours[path] = Behaviour(**how)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            behaviour = self.behaviours.setdefault(path, Behaviour())
            behaviour.seen += 1
            failing = behaviour.seen <= behaviour.fail_first
        if behaviour.delay:
            time.sleep(behaviour.delay)
        with self.lock:
            lowered = {name.lower(): value for name, value in headers.items()}
            self.received.append(Received(path, lowered, body, time.monotonic()))
        return 500 if failing else behaviour.status

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]
