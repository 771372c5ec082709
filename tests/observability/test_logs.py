"""Logs: one JSON object per line, an access line per request, and never a secret."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from admin_app.db import create_engine
from admin_app.main import create_app
from admin_app.observability import logs
from admin_app.observability.logs import (
    ACCESS_LOGGER,
    MASK,
    bind_request,
    make_formatter,
    redact_text,
    unbind_request,
    write_access_line,
)
from tests.conftest import make_settings
from tests.helpers import CSRF_COOKIE, PASSWORD, csrf_token, login, password_hash

REQUEST_FIELDS = {"request_id", "user_id", "method", "route", "status", "duration_ms"}


def test_every_request_logs_one_json_line_with_its_route_template_and_user(admin_client, json_logs):
    response = admin_client.get("/admin/product/list")
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    lines = json_logs.where(event="request", request_id=request_id)
    assert len(lines) == 1, f"expected one access line for the request, got {lines}"
    line = lines[0]
    assert line.keys() >= REQUEST_FIELDS, line
    assert line["route"] == "/admin/{key}/list", "the route is the template, not the raw path"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert isinstance(line["user_id"], int), "the logged-in account's id is logged"
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"
    assert line["logger"] == "admin_app.access"
    assert line["timestamp"].endswith("Z")


def test_anonymous_requests_have_no_user_and_unknown_paths_no_raw_route(client, json_logs):
    client.get("/admin/login")
    client.get("/no/such/page/12345")
    login_line = json_logs.where(event="request", route="/admin/login")[0]
    assert login_line["user_id"] is None
    unmatched = json_logs.where(event="request", status=404)[0]
    assert unmatched["route"] == "unmatched"
    assert "12345" not in json_logs.text


def test_a_sane_request_id_is_honoured_and_returned(client, json_logs):
    response = client.get("/admin/login", headers={"X-Request-ID": "lb-7f3a.42"})
    assert response.headers["x-request-id"] == "lb-7f3a.42"
    assert json_logs.where(event="request", request_id="lb-7f3a.42")


@pytest.mark.parametrize(
    "incoming", ["", "x" * 200, "two words", "new\u2028line", "<script>", "../../etc"]
)
def test_an_unusable_request_id_is_replaced_by_a_fresh_one(client, incoming):
    response = client.get("/admin/login", headers={"X-Request-ID": incoming.encode("utf-8")})
    returned = response.headers["x-request-id"]
    assert returned != incoming
    assert len(returned) == 32 and int(returned, 16) >= 0, returned


def test_lines_logged_while_handling_a_request_carry_its_id(json_logs, tmp_path):
    settings = make_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        db_connect_timeout=1,
        data_dir=tmp_path,
    )
    with TestClient(create_app(settings)) as client:
        token = csrf_token(client)
        response = client.post(
            "/admin/login",
            data={"username": "a@example.com", "password": "whatever", "csrftoken": token},
        )
    assert response.status_code == 503, response.text
    request_id = response.headers["x-request-id"]
    warning = json_logs.where(level="warning", request_id=request_id)
    assert warning and "database unavailable" in warning[0]["event"], json_logs.text
    assert json_logs.where(event="request", request_id=request_id, status=503)
    assert "Traceback" not in json_logs.text, "an outage is a warning, not a traceback"


def test_probes_are_counted_but_not_logged_when_healthy(client, json_logs):
    client.get("/healthz")
    client.get("/readyz")
    assert not json_logs.where(event="request", route="/healthz")
    assert not json_logs.where(event="request", route="/readyz")


def test_passwords_hashes_tokens_and_cookies_never_reach_the_logs(
    client, superuser, settings, json_logs
):
    wrong = "not-the-password-Zq81"
    assert login(client, superuser, wrong).status_code == 400
    assert login(client, superuser).status_code == 303
    client.get("/admin/product/list", headers={"Authorization": "Bearer sekrit-bearer-value"})
    client.get("/admin/login?password=in-a-query-string-77&token=tok-in-query-88")
    logging.getLogger("admin_app.test").warning(
        "debugging %s", {"password": "dict-password-55", "user": "x"}
    )
    secrets = {
        "the password": PASSWORD,
        "a wrong password": wrong,
        "the password hash": password_hash(),
        "the session cookie": client.cookies["admin_session"],
        "the CSRF token": client.cookies[CSRF_COOKIE],
        "a bearer token": "sekrit-bearer-value",
        "a password in a query string": "in-a-query-string-77",
        "a token in a query string": "tok-in-query-88",
        "a password in a dict": "dict-password-55",
    }
    logged = json_logs.text
    assert json_logs.lines(), "something was logged"
    for what, value in secrets.items():
        assert value not in logged, f"{what} appeared in the logs"


def test_secrets_inside_free_text_are_masked():
    hashed = password_hash()
    cases = {
        f"UPDATE admin_user SET password_hash='{hashed}'": hashed,
        "GET /reset?token=abc123def&x=1": "abc123def",
        "Authorization: Bearer eyJhbGciOi.xyz": "eyJhbGciOi.xyz",
        "cannot connect to postgresql://admin:hunter2@db:5432/shop": "hunter2",
        "{'password': 'p4ss w0rd'}": "p4ss w0rd",
        "CSRF check refused POST /admin/password-reset/eyJ1Ijo.axVp.ig5-Fw: missing": "eyJ1Ijo",
        "opened https://a.example/admin/invitation/eyJ1IjoyfQ.axVpng.Xy_9?x=1": "axVpng",
    }
    for message, secret in cases.items():
        masked = redact_text(message)
        assert secret not in masked, masked
        assert MASK in masked
    template = "route=/admin/password-reset/{token}"
    assert redact_text(template) == template, "a route template holds no token"


def test_database_errors_never_render_bound_values(settings):
    """An error from a statement carrying a hash must not print the hash (hide_parameters)."""
    hashed = password_hash()

    async def go() -> str:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                await connection.execute(
                    text("INSERT INTO no_such_table (password_hash) VALUES (:h)"), {"h": hashed}
                )
        except DBAPIError as error:
            return str(error)
        finally:
            await engine.dispose()
        return ""

    message = asyncio.run(go())
    assert "no_such_table" in message, message
    assert hashed not in message


def test_an_error_page_shows_the_request_id_to_quote(tmp_path):
    settings = make_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        db_connect_timeout=1,
        data_dir=tmp_path,
    )
    with TestClient(create_app(settings)) as client:
        token = csrf_token(client)
        page = client.post(
            "/admin/login",
            data={"username": "a@example.com", "password": "whatever", "csrftoken": token},
            headers={"accept": "text/html"},
        )
    assert page.status_code == 503
    assert f"Reference: <code>{page.headers['x-request-id']}</code>" in page.text


def test_console_format_is_for_people(json_logs):
    """LOG_FORMAT=console (what `make run` uses): readable lines, still without secrets."""
    import io

    from admin_app.observability.logs import configure_logging

    stream = io.StringIO()
    configure_logging(make_settings(log_format="console"), stream=stream)
    logging.getLogger("admin_app.test").warning("hello %s", "there", extra={"token": "t0ps3cret"})
    line = stream.getvalue().strip()
    assert not line.startswith("{")
    assert "hello there" in line and "warning" in line
    assert "t0ps3cret" not in line


@pytest.mark.parametrize(
    "extra",
    [
        {"method": "GET", "route": "/admin/{key}/list", "status": 200, "user_id": 7},
        {"method": "POST", "route": "unmatched", "status": 404, "user_id": None, "client": None},
        # What the chain masks: a sensitive name, a secret inside text, an override.
        {"csrftoken": "abc", "note": "https://u:hunter2@db/x", "pid": 1, "level": "warning"},
    ],
)
def test_the_access_line_is_the_line_the_full_chain_writes(extra):
    """The access line takes a shorter path than other records; it must come out the same."""
    formatter = make_formatter("json")
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "request", (), None)
    record.__dict__.update(extra)
    tokens = bind_request("req-1")
    try:
        direct = json.loads(formatter.format(record))
        chained = json.loads(structlog.stdlib.ProcessorFormatter.format(formatter, record))
    finally:
        unbind_request(tokens)
    assert direct.pop("timestamp")[:16] == chained.pop("timestamp")[:16]
    assert list(direct.items()) == list(chained.items())
    assert direct["request_id"] == "req-1"


@contextmanager
def served_logging() -> Iterator[None]:
    """The configured handler as the root logger's only one, as in a served process:
    pytest adds capture handlers of its own for each test's body."""
    saved = logging.root.handlers[:]
    logging.root.handlers[:] = [logs._direct_handler]
    try:
        yield
    finally:
        logging.root.handlers[:] = saved


ACCESS_FIELDS = {
    "method": "GET",
    "route": "/admin/{key}/list",
    "status": 200,
    "duration_ms": 1.25,
    "user_id": 7,
    "client": "127.0.0.1",
}


def test_the_access_line_written_directly_is_the_line_logging_writes(json_logs):
    """The middleware writes its line past `logging`'s dispatch; the line must not change."""
    tokens = bind_request("req-2")
    try:
        with served_logging():
            assert write_access_line("request", dict(ACCESS_FIELDS))
            logging.getLogger(ACCESS_LOGGER).info("request", extra=dict(ACCESS_FIELDS))
    finally:
        unbind_request(tokens)
    direct, logged = json_logs.lines()[-2:]
    assert direct.pop("timestamp")[:16] == logged.pop("timestamp")[:16]
    assert list(direct.items()) == list(logged.items())
    assert direct["request_id"] == "req-2" and direct["logger"] == ACCESS_LOGGER


def test_an_added_handler_still_gets_every_access_line(json_logs):
    """With anything else listening (a capture handler, a filter), the line goes through
    `logging`, so nothing that watches the logs misses it."""
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    collect = Collect()
    with served_logging():
        logging.root.addHandler(collect)
        assert not write_access_line("request", dict(ACCESS_FIELDS))
        logging.root.removeHandler(collect)
        assert not seen and not json_logs.lines(), "nothing written by the direct path"
        access = logging.getLogger(ACCESS_LOGGER)
        access.addFilter(lambda record: False)
        try:
            assert not write_access_line("request", dict(ACCESS_FIELDS))
        finally:
            access.filters.clear()
        assert write_access_line("request", dict(ACCESS_FIELDS))
    assert len(json_logs.lines()) == 1


def test_every_request_writes_its_access_line_through_the_direct_path(json_logs, settings):
    dispatched: list[logging.LogRecord] = []
    access = logging.getLogger(ACCESS_LOGGER)
    access.handle = dispatched.append  # type: ignore[method-assign]  # `logging`'s way in
    try:
        with TestClient(create_app(settings)) as client, served_logging():
            client.get("/admin/login")
    finally:
        del access.handle
    assert not dispatched, "the access line went through logging's dispatch"
    lines = [line for line in json_logs.lines() if line.get("logger") == ACCESS_LOGGER]
    assert [line["route"] for line in lines][-1] == "/admin/login"
    assert lines[-1]["status"] == 200 and lines[-1]["method"] == "GET"
