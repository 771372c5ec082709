"""Clients of a real server: a logged-in HTTP client, and WebSocket reading with deadlines."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx2
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers import CSRF_COOKIE, PASSWORD

SESSION_COOKIE = "admin_session"


def signed_in(base_url: str, email: str, password: str = PASSWORD) -> httpx2.Client:
    """An HTTP client logged in to the admin at `base_url`, as a browser would be."""
    client = httpx2.Client(base_url=base_url, follow_redirects=False, timeout=10)
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"username": email, "password": password, "csrftoken": client.cookies[CSRF_COOKIE]},
    )
    assert response.status_code == 303, f"login failed: {response.status_code} {response.text}"
    return client


def submit(client: httpx2.Client, url: str, data: dict[str, Any]) -> httpx2.Response:
    """POST an admin form with its CSRF token (fetching the form first, as a browser does)."""
    if CSRF_COOKIE not in client.cookies:
        client.get(url)
    return client.post(url, data={**data, "csrftoken": client.cookies[CSRF_COOKIE]})


def open_socket(ws_url: str, cookie: str | None, origin: str) -> connect:
    """A WebSocket to `/admin/ws` carrying the session cookie, from a page at `origin`."""
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
    return connect(ws_url, origin=origin, additional_headers=headers)  # type: ignore[arg-type]


async def next_message(
    ws: ClientConnection, match: Callable[[dict[str, Any]], bool], within: float
) -> dict[str, Any]:
    """The first message that `match`es, arriving within `within` seconds (else fail)."""
    deadline = time.monotonic() + within
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if match(message):
            return message
        seen.append(message)
    raise AssertionError(f"no matching message within {within} s; got instead: {seen}")


def of_type(kind: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    """A matcher for `next_message`: this type, with these field values."""
    return lambda m: m.get("type") == kind and all(m.get(k) == v for k, v in fields.items())
