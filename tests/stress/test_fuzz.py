"""Fuzzing every route of a real server with hypothesis-generated requests.

The routes are read from the app itself (through every Mount), so a route added
later is fuzzed without touching this file. Requests come signed in (a superuser
session with its CSRF token) and signed out, with hostile path parameters, query
strings, form, JSON and multipart bodies, cookies and Host headers; a few abuses
that an HTTP client library refuses to send go over a raw socket.

Pass: no 5xx, nothing logged at error level, every refusal (4xx) within 1 s, and
bounded memory growth of the server process.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx2
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from starlette.routing import Mount, Route, WebSocketRoute

from admin_app.admin.registry import REGISTRY
from admin_app.main import create_app
from tests.conftest import seed_small
from tests.stress.serving import csrf, loop_lag_max, rss_mb, serving, signed_in, unhandled_errors

BATCH = 40
"""Requests per hypothesis example, sent concurrently."""
WORKERS = 8
REFUSAL_LIMIT = 1.0
"""Seconds: every 4xx must come within this."""
MEMORY_LIMIT_MB = 150.0

KEYS = [str(view.key) for view in REGISTRY]
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def app_routes(settings: Any) -> list[tuple[str, tuple[str, ...]]]:
    """(path template, methods) of every route, walked through every Mount."""
    found: list[tuple[str, tuple[str, ...]]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                inner = route.routes or []
                if not inner:  # static files
                    found.append((prefix + route.path + "/{path:path}", ("GET",)))
                walk(inner, prefix + route.path)
            elif isinstance(route, Route):
                found.append((prefix + route.path, tuple(sorted(route.methods or ("GET",)))))
            elif isinstance(route, WebSocketRoute):
                found.append((prefix + route.path, ("GET",)))  # HTTP to a socket: a 4xx

    walk(create_app(settings).routes, "")
    return found


hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31), max_size=10),
    st.sampled_from(
        [
            "' OR 1=1 --",
            '"; DROP TABLE product; --',
            "{{7*7}}",
            "{% raw %}",
            "<script>alert(1)</script>",
            "../../../../etc/passwd",
            "%00",
            "\r\nSet-Cookie: x=1",
            "99999999999999999999999999",
            "-1",
            "1e309",
            "NaN",
            "null",
            "[]",
            "{}",
            "\ud7ff\ufffe",
            "ä" * 300,
            "[" * 3000,  # JSON nested past the parser's recursion limit
            "W1tb" * 400,  # the same, base64-encoded, as a list position would be
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
query_keys = st.sampled_from(
    [
        "q",
        "search",
        "pk",
        "pks",
        "filter",
        "order_by",
        "sort",
        "page",
        "limit",
        "skip",
        "cursor",
        "after",
        "before",
        "name",
        "all",
        "format",
        "next",
        "model",
        "columns",
        "where",
        "term",
        "key",
        "attributes",
        "scope",
    ]
) | st.text(min_size=1, max_size=12)
filters = st.builds(
    lambda field, op, value: f"{field}__{op}={value}",
    st.sampled_from(["name", "email", "price", "id", "password_hash", "x", "category", ""]),
    st.sampled_from(["eq", "contains", "gt", "is_null", "between", "in", "bogus"]),
    hostile_text,
)


def path_value(name: str) -> st.SearchStrategy[str]:
    if name in ("key", "identity"):
        return st.sampled_from(KEYS) | hostile_text.filter(lambda t: "/" not in t and t)
    return st.sampled_from(["1", "2", "abc", "x" * 5000, "%2e%2e/secret"]) | hostile_text


@dataclass
class Shot:
    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    signed_in: bool = True
    kind: str = "query"


@st.composite
def shots(draw: Any, routes: list[tuple[str, tuple[str, ...]]]) -> Shot:
    template, methods = draw(st.sampled_from(routes))
    path = PARAM.sub(lambda m: quote(draw(path_value(m.group(1))), safe=""), template)
    method = draw(st.sampled_from([*methods, "POST", "PUT", "DELETE", "PATCH"]))
    shot = Shot(method, path, signed_in=draw(st.booleans()))
    shot.params = draw(st.lists(st.tuples(query_keys, hostile_text | filters), max_size=6))
    kind = draw(st.sampled_from(["query", "form", "json", "multipart", "cookies", "host", "huge"]))
    shot.kind = kind
    if kind == "form":
        shot.body = {"data": draw(st.dictionaries(query_keys, hostile_text, max_size=8))}
    elif kind == "json":
        shot.body = {
            "json": draw(
                st.recursive(
                    st.none() | st.booleans() | hostile_text,
                    lambda c: (
                        st.lists(c, max_size=4)
                        | st.dictionaries(st.text(max_size=8), c, max_size=4)
                    ),
                    max_leaves=12,
                )
            )
        }
    elif kind == "multipart":
        # Thousands of fields and 3 MB parts, one time in ten each: building them costs
        # the client more than refusing them costs the server.
        many = draw(st.sampled_from([3] * 9 + [3000]))
        big = draw(st.sampled_from([10] * 9 + [3_000_000]))
        shot.body = {
            "data": {f"f{i}": "v" for i in range(many)},
            "files": {
                "file": ("x.csv", b"a" * big, draw(st.sampled_from(["text/csv", "image/png"])))
            },
        }
    elif kind == "cookies":
        shot.cookies = {
            draw(st.sampled_from(["admin_session", "csrftoken", "x"])): draw(
                st.text(
                    alphabet=st.characters(
                        min_codepoint=33, max_codepoint=126, exclude_characters=";,"
                    ),
                    max_size=200,
                )
            )
        }
    elif kind == "host":
        shot.headers = {
            "host": draw(
                st.sampled_from(
                    [
                        "allowed.example:/x?",
                        "127.0.0.1:99999",
                        "evil.example",
                        "localhost:8000@evil",
                        "[::1",
                        "xn--",
                        "127.0.0.1 ",
                    ]
                )
            )
        }
    elif kind == "huge":
        shot.params.append(("q", "A" * draw(st.sampled_from([20_000] * 4 + [1_000_000]))))
    return shot


class Fuzzer:
    def client(self) -> httpx2.Client:
        """This thread's client, with a new connection for each request: a fuzzed request
        may leave its connection in any state (keep-alive is not what is tested here)."""
        if not hasattr(self.local, "client"):
            self.local.client = httpx2.Client(
                base_url=self.base, timeout=30, limits=httpx2.Limits(max_keepalive_connections=0)
            )
        client: httpx2.Client = self.local.client
        client.cookies.clear()  # what the last answer set belongs to no one
        return client

    def __init__(self, base: str) -> None:
        self.local = threading.local()
        self.base = base
        self.session = signed_in(base)
        self.statuses: Counter[int] = Counter()
        self.kinds: Counter[str] = Counter()
        self.errors: list[str] = []
        self.slowest_refusal = 0.0
        self.slow: list[str] = []

    def fire(self, shot: Shot) -> None:
        signed = shot.signed_in and not shot.path.endswith("/logout")
        cookies = dict(self.session.cookies) if signed else {}
        cookies.update(shot.cookies)
        headers = {"x-csrftoken": csrf(self.session)} if signed else {}
        headers.update(shot.headers)
        if cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        started = time.monotonic()
        marks: dict[str, float] = {}

        def trace(event: str, info: Any) -> None:
            marks[event] = time.monotonic()

        try:
            with (
                self.client().stream(
                    shot.method,
                    shot.path,
                    params=shot.params,
                    headers=headers,
                    extensions={"trace": trace},
                    **shot.body,
                ) as response,
            ):
                # The answer's status and its first bytes: the live-update event stream
                # never ends, and an export may be long.
                next(response.iter_raw(), b"")
            status = response.status_code
        except (UnicodeError, ValueError, httpx2.InvalidURL, httpx2.LocalProtocolError):
            # the client library refused to send it
            self.kinds["unsendable"] += 1
            return
        except httpx2.HTTPError as error:
            self.errors.append(f"{shot.method} {shot.path[:80]}: {type(error).__name__} {error}")
            return
        # The server's part: from the last byte sent to the answer's headers. (A client
        # in Python on the same two cores can take longer to send 3 MB than to be answered.)
        sent = marks.get("http11.send_request_body.complete", started)
        answered = marks.get("http11.receive_response_headers.complete", time.monotonic())
        took = max(0.0, answered - sent)
        self.statuses[status] += 1
        self.kinds[shot.kind] += 1
        if status >= 500:
            self.errors.append(f"{status} {shot.method} {shot.path[:80]} {shot.kind}")
        if 400 <= status < 500:
            self.slowest_refusal = max(self.slowest_refusal, took)
            if took > REFUSAL_LIMIT:
                self.slow.append(f"{took:.2f}s {status} {shot.method} {shot.path[:80]} {shot.kind}")

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


RAW_ABUSE = {
    "negative Content-Length": b"POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n",
    "lying Content-Length (more than sent)": b"POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nusername=a",
    "Content-Length and chunked together": b"POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "multipart without a boundary": b"POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: multipart/form-data\r\nContent-Length: 5\r\n\r\nhello",
    "multipart with a broken boundary": b"POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 20\r\n\r\n--zz\r\nbroken\r\n--z",
    "header line of 100 kB": b"GET /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
    + b"a" * 100_000
    + b"\r\n\r\n",
    "not HTTP at all": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
}


def raw(base: str, payload: bytes) -> str:
    """Send bytes, read what comes back within 2 s: the status line, or how it ended."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=2) as sock:
        sock.sendall(payload)
        try:
            sock.shutdown(socket.SHUT_WR)
            data = sock.recv(200)
        except TimeoutError:
            return "no answer within 2 s"
        except ConnectionResetError:
            return "connection reset"
    return data.split(b"\r\n", 1)[0].decode(errors="replace") or "closed without an answer"


def test_fuzz_every_route(pg_settings, scale, report):
    settings = seed_small(pg_settings)
    routes = app_routes(settings)
    # As after the first upload: with no media folder, file lookups stop at the missing
    # folder and never reach what a name too long for the file system does.
    (settings.media_root / "products").mkdir(parents=True, exist_ok=True)
    with serving(settings) as server:
        fuzzer = Fuzzer(server.base)
        fuzzer.session.get("/admin/product/list")  # warm up before measuring memory
        rss_start = rss_mb(server.process.pid)
        pool = ThreadPoolExecutor(max_workers=WORKERS)

        @hsettings(
            max_examples=max(1, scale.fuzz_requests * 6 // 5 // BATCH),  # some are unsendable
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(shots(routes), min_size=BATCH, max_size=BATCH))
        def batch(requests: list[Shot]) -> None:
            list(pool.map(fuzzer.fire, requests))
            if fuzzer.session.get("/admin/").status_code != 200:  # a fuzzed request ended it
                fuzzer.session = signed_in(server.base)

        batch()
        pool.shutdown()
        raw_answers = {name: raw(server.base, payload) for name, payload in RAW_ABUSE.items()}
        time.sleep(0.5)
        alive = httpx2.get(f"{server.base}/healthz", timeout=5).status_code
        rss_end = rss_mb(server.process.pid)
        logged = unhandled_errors(server)
        lag = loop_lag_max(server.base)
    slow = fuzzer.slow
    slowest = fuzzer.slowest_refusal

    fives = sum(n for status, n in fuzzer.statuses.items() if status >= 500)
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(fuzzer.statuses.items()))
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(fuzzer.kinds.items()))
    report.add(
        "Fuzzing",
        f"hypothesis requests to all {len(routes)} routes, half signed in ({kinds})",
        fuzzer.total,
        f"answers {statuses}; {fives} 5xx; {len(fuzzer.errors)} transport errors; "
        f"{len(logged)} error log lines; slowest refusal {slowest:.2f} s (from the last "
        "byte sent to the answer's headers); worst event-loop lag "
        f"{lag:.2f} s",
        fives == 0 and not fuzzer.errors and not logged and not slow,
    )
    report.add(
        "Fuzzing",
        "server memory over the run (RSS)",
        fuzzer.total,
        f"{rss_start:.0f} MB after warm-up, {rss_end:.0f} MB at the end "
        f"(+{rss_end - rss_start:.0f} MB; limit +{MEMORY_LIMIT_MB:.0f} MB)",
        rss_end - rss_start < MEMORY_LIMIT_MB,
    )
    bad_raw = {
        k: v
        for k, v in raw_answers.items()
        if v.split(" ")[1:2] and v.split(" ")[1].startswith("5")
    }
    report.add(
        "Fuzzing",
        "malformed HTTP over a raw socket: "
        + "; ".join(f"{k} → {v}" for k, v in raw_answers.items()),
        len(raw_answers),
        f"{len(bad_raw)} answered 5xx; /healthz afterwards: {alive}",
        not bad_raw and alive == 200,
    )
    assert fuzzer.total >= scale.fuzz_requests, fuzzer.total
    assert not logged, "\n".join(logged[:5])
    assert fives == 0 and not fuzzer.errors, fuzzer.errors[:10]
    assert not slow, slow[:10]
    assert rss_end - rss_start < MEMORY_LIMIT_MB
    assert not bad_raw and alive == 200, raw_answers
