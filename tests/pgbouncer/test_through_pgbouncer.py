"""The admin behind Debian's PgBouncer in transaction pooling mode (`DATABASE_POOLER`).

Two app processes, as two replicas, share one PgBouncer whose pool holds two server
connections, and several administrators work through them at once. PgBouncer gives
each transaction (and each statement outside one: the read-only pages) whichever
server connection is free, so a prepared statement kept across round trips ends up
missing, or clashing with another process's of the same name. With
`DATABASE_POOLER=pgbouncer` everything works; without it the same setup fails, which
is what makes the setting necessary. Live updates between the replicas go through
`DATABASE_DIRECT_URL`, since a transaction-pooled connection cannot keep a LISTEN.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, closing, contextmanager
from pathlib import Path

import asyncpg
import httpx2
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL, make_settings
from tests.helpers import CSRF_COOKIE, PASSWORD, create_admin, fetch
from tests.live.clients import SESSION_COOKIE, next_message, of_type, open_socket, submit
from tests.live.servers import AppServer, server_env
from tests.pgbouncer.bouncer import PgBouncer

POOL_SIZE = 2
"""Server connections PgBouncer may open to the database: far fewer than clients."""

WORKERS = 6
ROUNDS = 3
VERSION = re.compile(r'name="_version" value="(\d+)"')
PREPARED_ERROR = re.compile(r"prepared statement \S+ (already exists|does not exist)")


@pytest.fixture
def database(postgres_backend: str, databases, tmp_path: Path) -> str:
    """A migrated database (reached directly) with two superusers, Ann and Bob."""
    url = databases.new(postgres_backend, tmp_path)
    settings = make_settings(database_url=url)
    create_admin(settings, "ann@example.com", full_name="Ann Editor")
    create_admin(settings, "bob@example.com", full_name="Bob Viewer")
    return url


@contextmanager
def replicas(
    database: str, tmp_path: Path, *, pool_size: int, **settings: str
) -> Iterator[tuple[PgBouncer, AppServer, AppServer]]:
    """A PgBouncer in front of `database` and two app processes whose DATABASE_URL is it."""
    with ExitStack() as stack:
        bouncer = stack.enter_context(
            PgBouncer(TEST_DATABASE_URL, tmp_path / "pgbouncer", pool_size=pool_size)
        )
        name = str(make_url(database).database)
        env = server_env(bouncer.url(name), tmp_path / "data", **settings)
        first = stack.enter_context(AppServer(env, tmp_path / "a.log"))
        second = stack.enter_context(AppServer(env, tmp_path / "b.log"))
        yield bouncer, first, second


def pooled(
    database: str, tmp_path: Path
) -> AbstractContextManager[tuple[PgBouncer, AppServer, AppServer]]:
    """The replicas set up as docs/deploy.md says: pooler declared, direct URL given."""
    return replicas(
        database,
        tmp_path,
        pool_size=POOL_SIZE,
        DATABASE_POOLER="pgbouncer",
        DATABASE_DIRECT_URL=database,
    )


def sign_in(base_url: str, email: str) -> tuple[httpx2.Client, int]:
    """A client of `base_url` and the status of its login (303 when it worked)."""
    client = httpx2.Client(base_url=base_url, follow_redirects=False, timeout=30)
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"username": email, "password": PASSWORD, "csrftoken": client.cookies[CSRF_COOKIE]},
    )
    return client, response.status_code


def post(client: httpx2.Client, url: str, data: dict[str, str]) -> httpx2.Response:
    return client.post(url, data={**data, "csrftoken": client.cookies[CSRF_COOKIE]})


def customer_round(client: httpx2.Client, email: str, direct: str) -> list[str]:
    """List, create, open, edit and delete one customer; what did not answer as it should."""
    wrong: list[str] = []

    def expect(what: str, response: httpx2.Response, status: int) -> httpx2.Response:
        if response.status_code != status:
            wrong.append(f"{what}: {response.status_code} {response.text[:200]!r}")
        return response

    fields = {"first_name": "Pat", "last_name": "Pooled", "email": email, "country": "FR"}
    expect("list", client.get("/admin/customer/list"), 200)
    expect("create", post(client, "/admin/customer/create", fields), 303)
    found = fetch(
        make_settings(database_url=direct), "SELECT id FROM customer WHERE email = :e", e=email
    )
    if not found:
        return [*wrong, f"create: {email} was not stored"]
    pk = found[0][0]
    expect("detail", client.get(f"/admin/customer/detail?pk={pk}"), 200)
    form = expect("edit form", client.get(f"/admin/customer/edit?pk={pk}"), 200)
    version = VERSION.search(form.text)
    edited = {**fields, "city": "Lyon", "_version": version.group(1) if version else "1"}
    expect("edit", post(client, f"/admin/customer/edit?pk={pk}", edited), 303)
    page = expect("list after edit", client.get("/admin/customer/list"), 200)
    if email not in page.text:
        wrong.append(f"list: the new customer {email} is not listed")
    expect("delete preview", client.get(f"/admin/customer/delete?pks={pk}"), 200)
    expect("delete", post(client, "/admin/customer/delete", {"pks": str(pk)}), 303)
    return wrong


def work_concurrently(servers: list[AppServer], direct: str) -> list[str]:
    """WORKERS administrators at once, alternating between the replicas, each doing
    ROUNDS customer rounds; every answer that was not the expected one."""

    def worker(n: int) -> list[str]:
        server = servers[n % len(servers)]
        client, status = sign_in(server.url, ("ann", "bob")[n % 2] + "@example.com")
        if status != 303:
            return [f"worker {n}: login answered {status}"]
        with closing(client):
            return [
                f"worker {n}: {problem}"
                for r in range(ROUNDS)
                for problem in customer_round(client, f"w{n}r{r}@example.com", direct)
            ]

    with ThreadPoolExecutor(WORKERS) as pool:
        return [problem for problems in pool.map(worker, range(WORKERS)) for problem in problems]


async def _prepared_statements_on_every_server(url: str) -> list[int]:
    """How many named prepared statements each server connection of the pool holds: as
    many clients as the pool has connections, each in an open transaction, so each
    holds a different one."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connections = [await asyncpg.connect(dsn, statement_cache_size=0) for _ in range(POOL_SIZE)]
    try:
        for connection in connections:
            await connection.execute("BEGIN")
        return [
            await c.fetchval("SELECT count(*) FROM pg_prepared_statements") for c in connections
        ]
    finally:
        for connection in connections:
            await connection.close()


def server_connections(database: str) -> int:
    """Backends the app's pool opened on the database, PgBouncer's server connections
    (the live updates' own connection is named `admin-app live`)."""
    rows = fetch(
        make_settings(database_url=database),
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'admin-app' "
        "AND pid <> pg_backend_pid()",
    )
    return int(rows[0][0])


def test_administrators_work_through_two_replicas_and_a_two_connection_pgbouncer(
    database, tmp_path
):
    with pooled(database, tmp_path) as (bouncer, first, second):
        wrong = work_concurrently([first, second], database)
        logs = first.log() + second.log() + bouncer.log()
        assert not wrong, "requests through PgBouncer failed:\n" + "\n".join(wrong[:10])
        assert not PREPARED_ERROR.search(logs), PREPARED_ERROR.search(logs)
        through = bouncer.url(str(make_url(database).database))
        left = asyncio.run(_prepared_statements_on_every_server(through))
        assert left == [0] * POOL_SIZE, (
            f"prepared statements left on the server connections: {left}"
        )
        assert server_connections(database) <= POOL_SIZE, "the app went around the bouncer"
    settings = make_settings(database_url=database)
    live = fetch(settings, "SELECT count(*) FROM customer WHERE deleted_at IS NULL")[0][0]
    assert live == 0, "a delete (a move to the trash) was lost"
    audited = dict(
        fetch(
            settings,
            "SELECT action, count(*) FROM audit_entry WHERE model = 'customer' GROUP BY action",
        )
    )
    done = WORKERS * ROUNDS
    assert audited == {"create": done, "update": done, "trash": done}, audited


def test_a_change_through_one_replica_reaches_the_other_through_the_direct_url(database, tmp_path):
    with pooled(database, tmp_path) as (_bouncer, first, second):
        ann, _ = sign_in(first.url, "ann@example.com")
        bob, _ = sign_in(second.url, "bob@example.com")

        async def scenario() -> dict:
            async with open_socket(second.ws_url, bob.cookies[SESSION_COOKIE], second.url) as ws:
                await next_message(ws, of_type("hello"), within=5)
                await ws.send('{"type": "watch", "model": "category"}')
                await next_message(ws, of_type("watching"), within=5)
                created = await asyncio.to_thread(
                    submit, ann, "/admin/category/create", {"name": "Garden", "slug": "garden"}
                )
                assert created.status_code == 303, created.text[:300]
                return await next_message(ws, of_type("change", model="category"), within=5)

        message = asyncio.run(scenario())
    pk = fetch(
        make_settings(database_url=database), "SELECT id FROM category WHERE slug = 'garden'"
    )
    assert message["pks"] == [str(pk[0][0])]
    assert message["user"]["name"] == "Ann Editor"


def test_without_the_setting_the_second_replica_fails_through_pgbouncer(database, tmp_path):
    """The control: the same two replicas, the app's defaults. asyncpg names its
    prepared statements `__asyncpg_stmt_1__`, `_2__`... in each process, and keeps them;
    through one shared server connection the second process's first name is taken."""
    with replicas(database, tmp_path, pool_size=1, DATABASE_DIRECT_URL=database) as (
        _bouncer,
        first,
        second,
    ):
        statuses = []
        for server in (first, second, first, second):
            client, status = sign_in(server.url, "ann@example.com")
            with closing(client):
                statuses.append(status)
                if status == 303:
                    statuses.append(client.get("/admin/customer/list").status_code)
        logs = first.log() + second.log()
    assert any(status >= 500 for status in statuses), (
        f"every request worked without DATABASE_POOLER ({statuses}): the test no longer "
        "shows why the setting is needed"
    )
    assert PREPARED_ERROR.search(logs), f"failed for another reason:\n{logs[-3000:]}"
