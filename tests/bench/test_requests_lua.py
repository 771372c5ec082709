"""bench/requests.lua through real wrk: one user per connection, a new URL per request,
and every answer that is not a 200 counted (wrk alone counts a redirect as a success)."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.traffic import Figure, Traffic, wrk

LIST_URL = re.compile(r"^/x\?(?:page=(\d+)|q=(\d{5,6}))&sort=(id|email)__(asc|desc)$")


@dataclass
class Seen:
    """What the server saw: (connection, path, user) per request; the user is the Cookie
    header, or else the Authorization header."""

    requests: list[tuple[int, str, str]] = field(default_factory=list)
    redirected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    """A keep-alive HTTP server that redirects user 2 (as if logged out) and serves the rest."""
    assert shutil.which("wrk"), "wrk is not installed; install it with: apt-get install wrk"
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            cookie = self.headers.get("Cookie") or self.headers.get("Authorization", "")
            status = 302 if cookie == "user=2" else 200
            with seen.lock:
                seen.requests.append((id(self), self.path, cookie))
                seen.redirected += status == 302
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, *args: object) -> None:
            pass  # wrk drops its connections at the end of a run

    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/x", seen
    httpd.shutdown()
    httpd.server_close()


def drive(url: str, traffic: Traffic, connections: int = 3) -> Figure:
    return wrk(url, traffic, connections, warm=False, seconds=1)


def test_each_connection_is_one_user_and_redirects_are_counted(
    server: tuple[str, Seen],
) -> None:
    url, seen = server
    figure = drive(url, Traffic(cookies=["user=1", "user=2", "user=3"]))
    users_by_connection: dict[int, set[str]] = {}
    for connection, _, cookie in seen.requests:
        users_by_connection.setdefault(connection, set()).add(cookie)
    assert sorted(min(users) for users in users_by_connection.values()) == [
        "user=1",
        "user=2",
        "user=3",
    ], f"each of the 3 connections should be one user throughout: {users_by_connection}"
    assert set(figure.not_ok) == {"302"}, f"only the redirects are not 200: {figure.not_ok}"
    assert 0 < figure.not_ok["302"] <= seen.redirected, (
        f"counted {figure.not_ok['302']} redirects, the server sent {seen.redirected}"
    )


def test_a_list_url_is_new_each_time_and_within_the_numbered_pages(
    server: tuple[str, Seen],
) -> None:
    url, seen = server
    traffic = Traffic("list", ["user=1"], sorts=["id", "email"], max_page=401)
    figure = drive(url, traffic)
    paths = [path for _, path, _ in seen.requests]
    wrong = [p for p in paths if not (m := LIST_URL.match(p)) or not 1 <= int(m[1] or 1) <= 401]
    assert not wrong, f"list URLs outside the numbered pages or sorts: {wrong[:5]}"
    assert figure.not_ok == {}, f"every answer was a 200: {figure.not_ok}"
    searches = sum(1 for p in paths if "q=" in p)
    assert 0.1 < searches / len(paths) < 0.4, f"about one in four searches: {searches}/{len(paths)}"
    # Drawn at random from about a thousand page and sort pairs, a few of 70 repeat by
    # chance (4 did once, failing a 0.95 bar); a URL kept the same would give one.
    assert len(set(paths)) > 0.8 * len(paths), "the URLs repeat: not a new URL each time"

    first_run = _openings(seen.requests)
    seen.requests.clear()
    drive(url, traffic)
    # A round replaying the last one (the same seed) would open each connection with the
    # same URLs, in the same order; drawn afresh, five in a row never match.
    assert first_run and not first_run & _openings(seen.requests), (
        "the next round replays the same URLs"
    )


def _openings(requests: list[tuple[int, str, str]]) -> set[tuple[str, ...]]:
    """The first five URLs each connection asked for, in order."""
    by_connection: dict[int, list[str]] = {}
    for connection, path, _ in requests:
        by_connection.setdefault(connection, []).append(path)
    return {tuple(paths[:5]) for paths in by_connection.values() if len(paths) >= 5}


def test_records_and_searches_stay_in_range(server: tuple[str, Seen]) -> None:
    url, seen = server
    drive(url, Traffic("record", ["user=1"], ids=(500, 600)))
    drive(url, Traffic("search", ["user=1"]))
    pks = [int(p.split("pk=")[1]) for _, p, _ in seen.requests if "pk=" in p]
    terms = [p.split("q=")[1] for _, p, _ in seen.requests if "q=" in p]
    assert pks and all(500 <= pk <= 600 for pk in pks), f"ids outside 500..600: {pks[:10]}"
    assert terms and all(re.fullmatch(r"\d{5,6}", t) for t in terms), f"terms: {terms[:10]}"
    assert {len(t) for t in terms} == {5, 6}, "both 5 and 6 digit terms are searched"


def test_records_opened_from_the_list_carry_a_page_of_it_as_their_origin(
    server: tuple[str, Seen],
) -> None:
    url, seen = server
    drive(url, Traffic("record", ["user=1"], ids=(5, 9), sorts=["email"], max_page=3, origin="/l"))
    origins = [parse_qs(urlsplit(p).query)["_origin"][0] for _, p, _ in seen.requests]
    assert origins and all(
        re.fullmatch(r"/l\?page=[123]&sort=email__(asc|desc)", o) for o in origins
    ), f"origins: {origins[:5]}"
    assert len(set(origins)) > 1, "every record came from the same list page"


def test_url_files_are_walked_without_repeats_and_headers_go_one_per_user(
    server: tuple[str, Seen], tmp_path: Path
) -> None:
    url, seen = server
    lines = [f"?cursor=c{n}&sort=-id" for n in range(50_000)]
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(lines) + "\n")
    users = ["Authorization: Bearer one", "Authorization: Bearer two", "Authorization: Bearer 3"]
    figure = drive(url, Traffic("urls", headers=users, urls=str(urls)))
    assert figure.not_ok == {}, f"every answer was a 200: {figure.not_ok}"
    by_connection: dict[int, set[str]] = {}
    for connection, _, user in seen.requests:
        by_connection.setdefault(connection, set()).add(user)
    assert sorted(min(u) for u in by_connection.values()) == [
        "Bearer 3",
        "Bearer one",
        "Bearer two",
    ], f"each connection sends one user's header throughout: {by_connection}"
    paths = [path.removeprefix("/x") for _, path, _ in seen.requests]
    assert set(paths) <= set(lines), f"URLs not from the file: {set(paths) - set(lines)}"
    assert len(set(paths)) == len(paths), "a URL of the file was asked for twice"
