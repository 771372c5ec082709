"""`/admin/ws` and `/admin/events` through the app: who may connect, what they are told, when
they are cut off. One app per test (TestClient), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient, WebSocketDenialResponse, WebSocketTestSession

from admin_app.auth.users import set_password
from admin_app.main import create_app
from admin_app.models import AdminUser
from admin_app.settings import Settings
from admin_app.web import live_socket
from tests.conftest import TEST_SECRET, make_settings
from tests.helpers import (
    CSRF_COOKIE,
    PASSWORD,
    create_admin,
    csrf_token,
    fetch,
    login,
    metric,
    run,
)

ORIGIN = "http://testserver"
Match = Callable[[dict[str, Any]], bool]


@pytest.fixture
def live_settings(settings: Settings, backend: str) -> Settings:
    # On PostgreSQL a revocation is announced on commit, so the timer must not be what
    # closes the socket: make it an hour. SQLite has only the timer: make it short.
    interval = 3600.0 if backend == "postgresql" else 0.2
    return settings.model_copy(update={"live_check_interval": interval, "live_heartbeat": 0.2})


@pytest.fixture
def app_client(live_settings: Settings) -> Iterator[TestClient]:
    create_admin(live_settings, "root@example.com", full_name="Rita Root")
    create_admin(live_settings, "sam@example.com", superuser=False, full_name="Sam Staff")
    # Sam's role lets him see the catalogue, not the admin accounts.
    fetch(
        live_settings,
        "INSERT INTO role (name, description, scope, created_at, version) "
        "VALUES ('Staff', '', '{}', CURRENT_TIMESTAMP, 1)",
    )
    for model in ("product", "category", "tag"):
        fetch(
            live_settings,
            "INSERT INTO role_permission (role_id, code) "
            "SELECT id, :c FROM role WHERE name = 'Staff'",
            c=f"{model}:view",
        )
    fetch(
        live_settings,
        "INSERT INTO admin_user_role (user_id, role_id) SELECT u.id, r.id "
        "FROM admin_user u, role r WHERE u.email = 'sam@example.com'",
    )
    with TestClient(create_app(live_settings)) as client:
        yield client


class Browser:
    """One signed-in user, sharing the test's app (one lifespan) with the other users."""

    def __init__(self, client: TestClient, email: str) -> None:
        self.client = client
        client.cookies.clear()
        assert login(client, email).status_code == 303
        csrf_token(client)
        self.cookies = dict(client.cookies)
        client.cookies.clear()

    @property
    def headers(self) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def socket(self, origin: str = ORIGIN) -> Any:
        return self.client.websocket_connect(
            "/admin/ws", headers={**self.headers, "origin": origin}
        )

    def post(self, url: str, data: dict[str, Any] | None = None) -> Any:
        form = {**(data or {}), "csrftoken": self.cookies[CSRF_COOKIE]}
        return self.client.post(url, data=form, headers=self.headers, follow_redirects=False)


def receive(ws: WebSocketTestSession, within: float = 5.0) -> dict[str, Any]:
    """The next message from the app, or fail after `within` seconds instead of hanging."""

    async def get() -> dict[str, Any]:
        with anyio.fail_after(within):
            return await ws._send_rx.receive()  # type: ignore[no-any-return]

    try:
        return ws.portal.call(get)
    except TimeoutError:
        raise AssertionError(f"the app sent nothing within {within} s") from None


def next_json(ws: WebSocketTestSession, match: Match, within: float = 5.0) -> dict[str, Any]:
    """The first JSON message that `match`es, within a deadline."""
    deadline = time.monotonic() + within
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        message = receive(ws, left)
        assert message["type"] == "websocket.send", f"closed instead: {message}; saw {seen}"
        data = json.loads(message["text"])
        if match(data):
            return data
        seen.append(data)
    raise AssertionError(f"no matching message within {within} s; saw {seen}")


def kind(name: str, **fields: Any) -> Match:
    return lambda m: m["type"] == name and all(m.get(k) == v for k, v in fields.items())


def watching(ws: WebSocketTestSession, model: str | None, pk: str | None = None, **extra: Any):
    ws.send_json({"type": "watch", "model": model, "pk": pk, **extra})
    return next_json(ws, kind("watching"))


def closed(ws: WebSocketTestSession, within: float = 5.0) -> tuple[dict[str, Any], list[dict]]:
    """Messages until the app closes the socket, and the close itself."""
    seen = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        message = receive(ws, left)
        if message["type"] == "websocket.close":
            return message, seen
        seen.append(json.loads(message["text"]))
    raise AssertionError(f"the socket stayed open for {within} s; saw {seen}")


# Who may connect


def test_a_socket_without_a_session_is_refused_with_401(app_client):
    with pytest.raises(WebSocketDenialResponse) as refused:
        app_client.websocket_connect("/admin/ws", headers={"origin": ORIGIN}).__enter__()
    assert refused.value.status_code == 401
    assert "Sign in" in refused.value.json()["error"]


def test_one_account_cannot_hold_more_live_connections_than_its_share(live_settings):
    capped = live_settings.model_copy(update={"live_max_connections_per_user": 2})
    create_admin(capped, "root@example.com")
    create_admin(capped, "sam@example.com")
    with TestClient(create_app(capped)) as client:
        rita = Browser(client, "root@example.com")
        with rita.socket() as first, rita.socket() as second:
            next_json(first, kind("hello"))
            next_json(second, kind("hello"))
            with pytest.raises(WebSocketDenialResponse) as refused:
                rita.socket().__enter__()
            assert refused.value.status_code == 429
            assert "too many live connections" in refused.value.json()["error"]
            feed = client.get("/admin/events", headers=rita.headers)
            assert feed.status_code == 429
            with Browser(client, "sam@example.com").socket() as other:  # others unaffected
                next_json(other, kind("hello"))
        with rita.socket() as again:  # closing tabs gives the room back
            next_json(again, kind("hello"))


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://testserver.evil.example",
        "null",
        "",
        "ftp://testserver",
    ],
)
def test_a_socket_from_another_site_is_refused_with_403(app_client, origin):
    rita = Browser(app_client, "root@example.com")
    with pytest.raises(WebSocketDenialResponse) as refused:
        rita.socket(origin=origin).__enter__()
    assert refused.value.status_code == 403, "a cross-site page must not ride the cookie"
    assert "other sites" in refused.value.json()["error"]


def test_a_socket_from_an_allowed_host_is_accepted(app_client):
    rita = Browser(app_client, "root@example.com")
    with rita.socket(origin="http://localhost:8000") as ws:
        hello = next_json(ws, kind("hello"))
    assert hello["user"]["name"] == "Rita Root"


def test_an_expired_cookie_is_refused(app_client, live_settings):
    rita = Browser(app_client, "root@example.com")
    rita.post("/admin/logout")
    with pytest.raises(WebSocketDenialResponse) as refused:
        rita.socket().__enter__()
    assert refused.value.status_code == 401


def test_the_event_stream_needs_a_session_too(app_client):
    response = app_client.get("/admin/events")
    assert response.status_code == 401
    assert response.json()["error"] == "Sign in to the admin first."


# When it is cut off


def test_logout_closes_the_socket(app_client):
    rita = Browser(app_client, "root@example.com")
    with rita.socket() as ws:
        next_json(ws, kind("hello"))
        assert rita.post("/admin/logout").status_code == 303
        close, seen = closed(ws)
    assert close["code"] == 4401, f"expected 'session ended' (4401), got {close}"
    assert any("session has ended" in m.get("detail", "") for m in seen), seen


def test_a_password_change_made_elsewhere_closes_the_socket(app_client, live_settings):
    # As `admin-app changepassword` would: another process, its own database connection.
    rita = Browser(app_client, "root@example.com")

    async def change(session: Any) -> None:
        user = await session.get(AdminUser, 1)
        await set_password(session=session, user=user, password=PASSWORD + " again")

    with rita.socket() as ws:
        next_json(ws, kind("hello"))
        run(live_settings, change)
        close, _ = closed(ws)
    assert close["code"] == 4401


def test_a_message_from_a_revoked_session_is_refused_at_once(
    app_client, live_settings, monkeypatch
):
    # A revocation nobody announced (a bare UPDATE), and a timer too slow to notice it:
    # only the check that every message makes can close this socket.
    monkeypatch.setattr(live_socket, "RECHECK_AFTER", 0.0)  # the socket has only just opened
    slow = live_settings.model_copy(update={"live_check_interval": 3600.0})
    with TestClient(create_app(slow)) as other:
        rita = Browser(other, "root@example.com")
        with rita.socket() as ws:
            next_json(ws, kind("hello"))
            fetch(slow, "UPDATE admin_session SET revoked_at = CURRENT_TIMESTAMP")
            ws.send_json({"type": "watch", "model": "product"})
            close, _ = closed(ws)
    assert close["code"] == 4401, "every message re-checks the session"


def test_a_role_taken_away_closes_the_socket_and_the_reconnect_sees_less(live_settings):
    # Sam's open tab must not keep hearing of products once his role is gone: the timer's
    # check reads his grants as they are now and closes the socket so the page reconnects.
    quick = live_settings.model_copy(update={"live_check_interval": 0.2})
    with TestClient(create_app(quick)) as other:
        create_admin(quick, "sam@example.com", superuser=False)
        fetch(
            quick,
            "INSERT INTO role (name, description, scope, created_at, version) "
            "VALUES ('Staff', '', '{}', CURRENT_TIMESTAMP, 1)",
        )
        fetch(
            quick,
            "INSERT INTO role_permission (role_id, code) "
            "SELECT id, 'product:view' FROM role WHERE name = 'Staff'",
        )
        fetch(
            quick,
            "INSERT INTO admin_user_role (user_id, role_id) "
            "SELECT u.id, r.id FROM admin_user u, role r",
        )
        sam = Browser(other, "sam@example.com")
        with sam.socket() as ws:
            next_json(ws, kind("hello"))
            time.sleep(1.0)  # several checks: unchanged grants leave the socket open
            assert watching(ws, "product")["page"] == {"model": "product", "pk": None}
            fetch(quick, "DELETE FROM admin_user_role")
            close, _ = closed(ws)
        assert close["code"] == 4409, f"expected 'permissions changed' (4409), got {close}"
        with sam.socket() as ws:
            next_json(ws, kind("hello"))
            ws.send_json({"type": "watch", "model": "product"})
            refused = next_json(ws, kind("error"))
        assert "product" in refused["detail"], refused


# What it is told


def test_changes_reach_list_and_record_watchers_after_commit(app_client):
    rita = Browser(app_client, "root@example.com")
    with rita.socket() as on_list, rita.socket() as on_record:
        watching(on_list, "category")
        assert (
            rita.post("/admin/category/create", {"name": "Bath", "slug": "bath"}).status_code == 303
        )
        created = next_json(on_list, kind("change", model="category"))
        pk = created["pks"][0]
        assert created["action"] == "created" and created["user"] == {"id": 1, "name": "Rita Root"}
        watching(on_record, "category", pk)
        rita.post(f"/admin/category/edit?pk={pk}", {"name": "Bathroom", "slug": "bath"})
        assert next_json(on_record, kind("change"))["action"] == "updated"
        assert next_json(on_list, kind("change"))["action"] == "updated"


def test_a_new_admin_account_is_announced_too(app_client):
    # AdminUserView replaces starlette-admin's create(); it must still announce the account.
    rita = Browser(app_client, "root@example.com")
    with rita.socket() as ws:
        watching(ws, "admin-user")
        form = {
            "email": "new@example.com",
            "full_name": "New Person",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "is_active": "on",
        }
        assert rita.post("/admin/admin-user/create", form).status_code == 303
        created = next_json(ws, kind("change"))
    assert created["action"] == "created" and created["model"] == "admin-user"


def test_an_invited_account_is_announced_too(app_client):
    rita = Browser(app_client, "root@example.com")
    with rita.socket() as ws:
        watching(ws, "admin-user")
        form = {"email": "invited@example.com", "is_active": "on", "send_invitation": "on"}
        assert rita.post("/admin/admin-user/create", form).status_code == 303
        created = next_json(ws, kind("change"))
    assert created["action"] == "created" and created["model"] == "admin-user", (
        "an account created with an invitation must reach the live feed like any other"
    )


def test_a_refused_change_publishes_nothing(app_client):
    rita = Browser(app_client, "root@example.com")
    with rita.socket() as ws:
        watching(ws, "category")
        assert rita.post("/admin/category/create", {"name": "", "slug": ""}).status_code == 422
        rita.post("/admin/category/create", {"name": "Real", "slug": "real"})
        first = next_json(ws, kind("change"))
    assert first["action"] == "created"
    assert len(first["pks"]) == 1, "only the stored category may be announced"


def test_a_batch_delete_is_one_message_naming_every_record(app_client, live_settings):
    rita = Browser(app_client, "root@example.com")
    for n in range(3):
        rita.post("/admin/category/create", {"name": f"C{n}", "slug": f"c{n}"})
    pks = [str(row[0]) for row in fetch(live_settings, "SELECT id FROM category ORDER BY id")]
    with rita.socket() as ws:
        watching(ws, "category")
        response = rita.post("/admin/category/delete", {"pks": pks})  # confirmed on its page
        assert response.status_code == 303, response.text
        deleted = next_json(ws, kind("change", action="deleted"))
    assert sorted(deleted["pks"]) == sorted(pks)


def test_a_record_watcher_hears_only_of_its_record(app_client):
    rita = Browser(app_client, "root@example.com")
    rita.post("/admin/category/create", {"name": "One", "slug": "one"})
    rita.post("/admin/category/create", {"name": "Two", "slug": "two"})
    with rita.socket() as ws:
        watching(ws, "category", "2")
        rita.post("/admin/category/edit?pk=1", {"name": "Uno", "slug": "one"})
        rita.post("/admin/category/edit?pk=2", {"name": "Dos", "slug": "two"})
        change = next_json(ws, kind("change"))
    assert change["pks"] == ["2"], "the edit of record 1 must not reach record 2's page"


def test_presence_lists_everyone_on_the_record_until_they_leave(app_client):
    rita = Browser(app_client, "root@example.com")
    sam = Browser(app_client, "sam@example.com")
    rita.post("/admin/category/create", {"name": "Shared", "slug": "shared"})
    with rita.socket() as ws_rita:
        watching(ws_rita, "category", "1", mode="editing")
        with sam.socket() as ws_sam:
            watching(ws_sam, "category", "1")
            both = next_json(ws_rita, lambda m: m["type"] == "presence" and len(m["viewers"]) == 2)
            assert {(v["name"], v["mode"]) for v in both["viewers"]} == {
                ("Rita Root", "editing"),
                ("Sam Staff", "viewing"),
            }
        alone = next_json(ws_rita, lambda m: m["type"] == "presence" and len(m["viewers"]) == 1)
    assert alone["viewers"][0]["name"] == "Rita Root", "Sam disconnected: he must drop out"


def test_models_a_user_may_not_see_are_refused_but_the_socket_stays(app_client):
    sam = Browser(app_client, "sam@example.com")  # not a superuser: no admin accounts
    with sam.socket() as ws:
        ws.send_json({"type": "watch", "model": "admin-user"})
        error = next_json(ws, kind("error"))
        assert "admin-user" in error["detail"]
        assert watching(ws, "product")["page"] == {"model": "product", "pk": None}
    response = app_client.get("/admin/events?model=admin-user", headers=sam.headers)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("message", "code", "explained"),
    [
        ("not json", 1008, "must be JSON"),
        ("[" * 1000, 1008, "must be JSON"),  # nested too deep for the parser: not a 500
        ('{"type": "subscribe", "model": "product"}', 1008, "Only watch messages"),
        ('{"type": "watch", "model": "product", "pk": ""}', 1008, "malformed"),
        ('{"type": "watch", "model": "product", "mode": "owning"}', 1008, "malformed"),
        ('{"type": "watch", "model": ["product"]}', 1008, "malformed"),
        ('{"type": "watch", "model": "' + "x" * 2000 + '"}', 1009, "at most 1024 characters"),
    ],
)
def test_malformed_messages_end_the_connection_with_a_reason(app_client, message, code, explained):
    rita = Browser(app_client, "root@example.com")
    with rita.socket() as ws:
        next_json(ws, kind("hello"))
        ws.send_text(message)
        close, seen = closed(ws)
    assert close["code"] == code
    assert seen[-1]["type"] == "error", seen
    assert explained in seen[-1]["detail"]


def test_a_flood_of_messages_is_cut_off(app_client):
    rita = Browser(app_client, "root@example.com")
    with rita.socket() as ws:
        for _ in range(25):
            ws.send_json({"type": "watch", "model": "product"})
        close, seen = closed(ws)
    assert close["code"] == 1008
    assert "Too many messages" in seen[-1]["detail"]


# The event stream


def stream_until(lines: Iterator[str], match: Match, within: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    for line in lines:  # keep-alives arrive every 0.2 s, so this loop never blocks for long
        if line.startswith("data: ") and match(data := json.loads(line[6:])):
            return data
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"no matching event within {within} s")


def test_the_event_stream_carries_changes_and_keep_alives(app_client):
    rita = Browser(app_client, "root@example.com")
    with app_client.stream("GET", "/admin/events?model=category", headers=rita.headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert stream_until(lines, kind("hello"))["user"]["name"] == "Rita Root"
        assert ": keep-alive" in [next(lines) for _ in range(3)]
        rita.post("/admin/category/create", {"name": "Streamed", "slug": "streamed"})
        assert stream_until(lines, kind("change"))["model"] == "category"


def test_the_event_stream_ends_with_the_session(app_client):
    rita = Browser(app_client, "root@example.com")
    with app_client.stream("GET", "/admin/events", headers=rita.headers) as stream:
        lines = stream.iter_lines()
        stream_until(lines, kind("hello"))
        rita.post("/admin/logout")
        ended = stream_until(lines, kind("error"))
        assert "session has ended" in ended["detail"]
        assert list(lines) in ([], [""]), "nothing may follow: the stream is over"


def test_a_client_that_goes_away_is_forgotten(app_client):
    rita = Browser(app_client, "root@example.com")
    live = app_client.app_state["live"]
    with app_client.stream("GET", "/admin/events", headers=rita.headers) as stream:
        lines = stream.iter_lines()
        stream_until(lines, kind("hello"))
        assert len(live.hub.subscribers) == 1
    with rita.socket() as ws:
        next_json(ws, kind("hello"))
        assert len(live.hub.subscribers) == 1, "the closed stream must be gone"
    deadline = time.monotonic() + 5
    while live.hub.subscribers and time.monotonic() < deadline:
        time.sleep(0.01)  # polling: the app notices the socket's close asynchronously
    assert not live.hub.subscribers, "the closed socket must be gone"


def test_a_database_outage_is_a_503_not_an_error(postgres_backend, tmp_path):
    # A server that is not there: nothing listens on a port the OS just handed out.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = make_settings(
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/none",
        data_dir=tmp_path,
        db_connect_timeout=1,
    )
    data = base64.b64encode(json.dumps({"sid": "a-session-token"}).encode())
    cookie = {"cookie": f"admin_session={TimestampSigner(TEST_SECRET).sign(data).decode()}"}
    with TestClient(create_app(down)) as client:  # starts although nothing can be reached
        with pytest.raises(WebSocketDenialResponse) as refused:
            client.websocket_connect("/admin/ws", headers={**cookie, "origin": ORIGIN}).__enter__()
        assert refused.value.status_code == 503
        response = client.get("/admin/events", headers=cookie)
        assert response.status_code == 503
        assert "database cannot be reached" in response.json()["error"]


def test_connections_and_changes_are_in_the_metrics(app_client):
    metrics = app_client.app_state["metrics"]

    def value(name: str) -> float | None:
        return metric(metrics.render()[0].decode(), name)

    rita = Browser(app_client, "root@example.com")
    with rita.socket() as ws:
        watching(ws, "category")
        assert value("admin_app_live_connections") == 1.0
        rita.post("/admin/category/create", {"name": "Garden", "slug": "garden"})
        next_json(ws, kind("change", model="category"))
        assert value("admin_app_live_changes_published_total") == 1.0
    deadline = time.monotonic() + 5
    while value("admin_app_live_connections") and time.monotonic() < deadline:
        time.sleep(0.01)  # the app notices the close asynchronously
    assert value("admin_app_live_connections") == 0.0


# Row scopes


@pytest.fixture
def scoped_store(app_client: TestClient, live_settings: Settings) -> dict[str, Any]:
    """Orders of a French and of a German customer, and Fay, who sees French orders only."""
    from tests.conftest import seed_small
    from tests.helpers import give_role, make_role

    seed_small(live_settings)  # no demo roles: the fixture made one already
    make_role(live_settings, "France", ["order:view", "customer:view"], {"countries": ["FR"]})
    create_admin(live_settings, "fay@example.com", superuser=False, full_name="Fay France")
    give_role(live_settings, "fay@example.com", "France")
    by_country = dict(
        fetch(
            live_settings,
            "SELECT c.country, min(o.id) FROM orders o JOIN customer c ON c.id = o.customer_id "
            "WHERE c.country IN ('FR', 'DE') GROUP BY c.country",
        )
    )
    return {"french": str(by_country["FR"]), "german": str(by_country["DE"])}


def _touch_order(browser: Browser, pk: str) -> None:
    from tests.forms import read_form

    form = read_form(browser.client.get(f"/admin/order/edit?pk={pk}", headers=browser.headers).text)
    data = dict(form.with_values({"notes": f"touched {time.monotonic()}"}))
    assert browser.post(f"/admin/order/edit?pk={pk}", data).status_code == 303


def test_a_scoped_role_hears_only_of_records_in_its_scope(app_client, scoped_store):
    rita = Browser(app_client, "root@example.com")
    fay = Browser(app_client, "fay@example.com")
    with fay.socket() as ws:
        watching(ws, "order")
        _touch_order(rita, scoped_store["german"])
        _touch_order(rita, scoped_store["french"])
        change = next_json(ws, kind("change", model="order"))
    assert change["pks"] == [scoped_store["french"]], "the German order's change leaked"


def test_a_scoped_role_cannot_watch_or_follow_a_record_outside_its_scope(app_client, scoped_store):
    rita = Browser(app_client, "root@example.com")
    fay = Browser(app_client, "fay@example.com")
    german = scoped_store["german"]
    with rita.socket() as ws_rita, fay.socket() as ws_fay:
        watching(ws_rita, "order", german, mode="editing")
        ws_fay.send_json({"type": "watch", "model": "order", "pk": german})
        error = next_json(ws_fay, kind("error"))
        assert "cannot watch" in error["detail"]
        assert (
            watching(ws_fay, "order", scoped_store["french"])["page"]["pk"]
            == (scoped_store["french"])
        )
    refused = app_client.get(f"/admin/events?model=order&pk={german}", headers=fay.headers)
    assert refused.status_code == 403


REFUNDS_LEAD = ["order:view", "order:approve", "change-request:view"]
"""A lead who decides refunds; given with a row scope on orders, or without."""


@pytest.fixture
def refund_people(scoped_store: dict[str, Any], live_settings: Settings) -> dict[str, str]:
    """A refund clerk and three refund leads: for French orders, German orders, any order.
    Returns a second German order too (the seeded store has several)."""
    from tests.helpers import give_role, make_role

    clerk = ["order:view", "order:propose_refund", "change-request:view"]
    people = {
        "clerk@example.com": ("Refund clerk", clerk, None),
        "fr-lead@example.com": ("French refunds", REFUNDS_LEAD, {"countries": ["FR"]}),
        "de-lead@example.com": ("German refunds", REFUNDS_LEAD, {"countries": ["DE"]}),
        "lead@example.com": ("All refunds", REFUNDS_LEAD, None),
    }
    for email, (role, codes, scope) in people.items():
        make_role(live_settings, role, codes, scope)
        create_admin(live_settings, email, superuser=False, full_name=role)
        give_role(live_settings, email, role)
    german = fetch(
        live_settings,
        "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id "
        "WHERE c.country = 'DE' ORDER BY o.id",
    )
    assert len(german) >= 2, "the seeded store has two German orders"
    return {**scoped_store, "german 2": str(german[1][0])}


def _refund_requested(clerk: Browser, settings: Settings, order: str) -> str:
    """The clerk asks for the order's refund; the change request's id."""
    response = clerk.post(f"/admin/_api/order/row-action?name=refund&pk={order}")
    assert response.status_code == 200, response.text
    found = fetch(
        settings,
        "SELECT max(id) FROM change_request WHERE model = 'order' AND record_pk = :pk",
        pk=order,
    )
    return str(found[0][0])


def _requests_until(ws: WebSocketTestSession, wanted: str) -> list[str]:
    """The change requests this socket hears of, in order, up to `wanted`."""
    heard: list[str] = []
    while wanted not in heard:
        heard += next_json(ws, kind("change", model="change-request"))["pks"]
    return heard


def test_a_change_request_is_told_only_to_those_whose_scope_holds_its_record(
    app_client, live_settings, refund_people
):
    """The change requests' list shows a request to those whose row scope on orders holds
    its order; the live feed tells of it (new or decided) to the same people only."""
    clerk = Browser(app_client, "clerk@example.com")
    french_lead, german_lead, any_lead = (
        Browser(app_client, email)
        for email in ("fr-lead@example.com", "de-lead@example.com", "lead@example.com")
    )
    with french_lead.socket() as fr, german_lead.socket() as de, any_lead.socket() as anyone:
        for ws in (fr, de, anyone):
            watching(ws, "change-request")
        german = _refund_requested(clerk, live_settings, refund_people["german"])
        french = _refund_requested(clerk, live_settings, refund_people["french"])
        assert _requests_until(de, german) == [german]
        decided = german_lead.post(
            f"/admin/_api/change-request/row-action?name=reject&pk={german}",
            {"comment": "Not this one."},
        )
        assert decided.status_code == 200, decided.text
        later = _refund_requested(clerk, live_settings, refund_people["german 2"])

        assert _requests_until(fr, french) == [french], "a German order's request reached FR"
        assert _requests_until(de, later) == [german, later], "a French order's request reached DE"
        assert _requests_until(anyone, later) == [german, french, german, later], (
            "a lead without a row scope hears of every request, new and decided"
        )
