"""Reads from a real streaming replica, through a served app and a signed-in browser.

One throw-away primary and a `pg_basebackup -R` hot standby of it (`cluster.py`), and
`admin-app serve` with `DATABASE_REPLICA_URLS` naming the standby. Reads are told apart
by pausing the standby's WAL replay (`pg_wal_replay_pause()`): what the primary writes
next is then on the primary only, so a page that shows the old value was read from the
replica and one that shows the new value from the primary.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
from click.testing import CliRunner

from admin_app.cli import main
from admin_app.migrations import upgrade
from tests.cli.test_check import hardened
from tests.conftest import make_settings
from tests.forms import read_form
from tests.helpers import CSRF_COOKIE, PASSWORD, create_admin, metric, post_form
from tests.pgcluster import ThrowawayCluster, _bin_dir
from tests.replicas.cluster import StreamingReplica, caught_up, sql
from tests.servers import Server, poll

MAX_LAG = 3
STICKY = 3
STICKY_COOKIE = "admin_wrote"
METRICS_TOKEN = "replica-metrics-token-0123456789"


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ThrowawayCluster, StreamingReplica]]:
    """A migrated primary with one superuser, and a streaming replica of it."""
    bin_dir = _bin_dir()
    assert bin_dir is not None, "needs PostgreSQL server binaries (/usr/lib/postgresql/*/bin)"
    primary = ThrowawayCluster(bin_dir)
    replica: StreamingReplica | None = None
    try:
        primary.start()
        sql(primary, "CREATE DATABASE admin", database="postgres")
        settings = make_settings(
            database_url=primary.url("admin"), data_dir=tmp_path_factory.mktemp("data")
        )
        upgrade(settings)
        create_admin(settings, "root@example.com")
        replica = StreamingReplica(primary)
        replica.start()
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


@pytest.fixture(scope="module")
def served(pair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    primary, replica = pair
    data = tmp_path_factory.mktemp("served")
    env = {
        "DATABASE_URL": primary.url("admin"),
        "DATABASE_REPLICA_URLS": replica.url("admin"),
        "REPLICA_MAX_LAG": str(MAX_LAG),
        "REPLICA_STICKY_SECONDS": str(STICKY),
        "DATA_DIR": str(data),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "replica-test-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "METRICS_TOKEN": METRICS_TOKEN,
        "DB_CONNECT_TIMEOUT": "2",
    }
    server = Server(env, log_file=data / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.terminate()
        server.wait_exit()
        server.close()


@contextmanager
def paused(pair: tuple[ThrowawayCluster, StreamingReplica]) -> Iterator[None]:
    """The replica caught up, then its replay paused: the primary's next writes are its own."""
    primary, replica = pair
    caught_up(primary, replica)
    replica.pause()
    try:
        yield
    finally:
        replica.resume()


def signed_in(server: Server, *, reader: bool = True) -> httpx2.Client:
    """A browser signed in as the superuser; a `reader` has not written anything since
    (the login's own read-your-writes cookie is dropped)."""
    client = httpx2.Client(base_url=server.base, timeout=15, follow_redirects=False)
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "username": "root@example.com",
            "password": PASSWORD,
            "csrftoken": client.cookies[CSRF_COOKIE],
        },
    )
    assert response.status_code == 303, response.text
    assert STICKY_COOKIE in response.cookies, "a successful POST leaves the read-your-writes cookie"
    if reader:
        client.cookies.delete(STICKY_COOKIE)
    return client


def category(primary: ThrowawayCluster, name: str) -> int:
    """A new category, written on the primary directly."""
    slug = f"{name.lower().replace(' ', '-')}-{time.monotonic_ns()}"
    rows = sql(
        primary, "INSERT INTO category (name, slug) VALUES ($1, $2) RETURNING id", name, slug
    )
    return int(rows[0][0])


def rename(primary: ThrowawayCluster, pk: int, name: str) -> None:
    sql(primary, "UPDATE category SET name = $1, version = version + 1 WHERE id = $2", name, pk)


def metrics(server: Server) -> str:
    response = httpx2.get(
        f"{server.base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200, response.text
    return response.text


def test_lists_searches_and_pickers_read_from_the_replica_until_it_lags(pair, served):
    primary, replica = pair
    pk = category(primary, "Atlas first")
    reader = signed_in(served)
    with paused(pair):
        rename(primary, pk, "Atlas second")
        started = time.monotonic()
        listing = reader.get("/admin/category/list?q=Atlas")
        picker = reader.get("/admin/_api/category/relation-lookup?q=Atlas")
        assert time.monotonic() - started < MAX_LAG, "too slow to tell the replica apart"
        assert listing.status_code == 200, listing.text
        assert "Atlas first" in listing.text and "Atlas second" not in listing.text, (
            "the search is answered by the replica, which has not replayed the rename"
        )
        assert picker.status_code == 200, picker.text
        assert "Atlas first" in picker.text, "the relation picker reads from the replica"
        assert sql(replica, "SELECT pg_is_in_recovery()")[0][0], "the replica is a standby"
        assert replica_reads(served) >= 2, "reads are counted per target"

        poll(
            lambda: "Atlas second" in reader.get("/admin/category/list?q=Atlas").text,
            within=MAX_LAG + 4,
            what=f"a replica more than REPLICA_MAX_LAG={MAX_LAG} s behind skipped for the primary",
        )
        assert lag_of(served, replica) > MAX_LAG, "/metrics shows the replica's lag"
    poll(
        lambda: lag_of(served, replica) <= MAX_LAG,
        within=5,
        what="the replica's lag back within REPLICA_MAX_LAG once replay resumes",
    )
    before = replica_reads(served)
    assert "Atlas second" in reader.get("/admin/category/list?q=Atlas").text
    assert replica_reads(served) == before + 1, "the replica is read from again"


def lag_of(server: Server, replica: StreamingReplica) -> float:
    lag = metric(metrics(server), "admin_app_db_replica_lag_seconds", replica=_name(replica))
    assert lag is not None, "/metrics has the replica's lag"
    return lag


def replica_reads(server: Server) -> float:
    return metric(metrics(server), "admin_app_db_reads_total", target="replica") or 0.0


def test_the_dashboard_and_exports_read_from_the_replica(pair, served):
    primary, _replica = pair
    pk = category(primary, "Delta first")
    reader = signed_in(served)
    with paused(pair):
        rename(primary, pk, "Delta second")
        before = replica_reads(served)
        assert reader.get("/admin/").status_code == 200
        assert replica_reads(served) == before + 1, "the dashboard's counts read a replica"
        exported = reader.post(
            "/admin/_api/category/action",
            params={"name": "export", "_list_query": "?q=Delta"},
            data={"scope": "all", "format": "csv", "csrftoken": reader.cookies[CSRF_COOKIE]},
        )
        assert exported.status_code == 200, exported.text[:500]
        assert "Delta first" in exported.text, "the export's rows come from the replica"
        assert "Delta second" not in exported.text


def test_a_save_goes_to_the_primary_and_its_author_sees_it_at_once(pair, served):
    primary, replica = pair
    pk = category(primary, "Globe first")
    writer = signed_in(served)
    other = signed_in(served)
    with paused(pair):
        form = read_form(writer.get(f"/admin/category/edit?pk={pk}").text)
        saved = post_form(
            writer,  # type: ignore[arg-type]
            f"/admin/category/edit?pk={pk}",
            dict(form.with_values({"name": "Globe second"})),
        )
        assert saved.status_code == 303, saved.text
        assert STICKY_COOKIE in saved.cookies, "a save leaves the read-your-writes cookie"
        on_primary = sql(primary, "SELECT name FROM category WHERE id = $1", pk)
        on_replica = sql(replica, "SELECT name FROM category WHERE id = $1", pk)
        assert on_primary[0][0] == "Globe second", "the save was written to the primary"
        assert on_replica[0][0] == "Globe first", "(replay is paused on the replica)"

        mine = writer.get("/admin/category/list?q=Globe")
        theirs = other.get("/admin/category/list?q=Globe")
        assert "Globe second" in mine.text, "the author's list reads from the primary"
        assert "Globe first" in theirs.text, "another browser still reads from the replica"
        assert "Globe second" not in theirs.text


def test_a_stopped_replica_falls_back_to_the_primary_within_a_second(pair, served):
    primary, replica = pair
    pk = category(primary, "Comet")
    reader = signed_in(served)
    caught_up(primary, replica)
    assert "Comet" in reader.get("/admin/category/list?q=Comet").text
    replica.stop("fast")
    try:
        rename(primary, pk, "Comet renamed")
        started = time.monotonic()
        page = reader.get("/admin/category/list?q=Comet")
        elapsed = time.monotonic() - started
        assert page.status_code == 200, page.text[:500]
        assert "Comet renamed" in page.text, "the page was read from the primary"
        assert elapsed < 1.0, f"the fallback took {elapsed:.2f} s"
        statuses = [reader.get(url).status_code for url in ("/admin/", "/admin/category/list")]
        assert statuses == [200, 200], "no error page while the replica is down"
        up = metric(metrics(served), "admin_app_db_replica_up", replica=_name(replica))
        assert up == 0, "/metrics says the replica is down"
    finally:
        replica.start()
    poll(
        lambda: metric(metrics(served), "admin_app_db_replica_up", replica=_name(replica)) == 1,
        within=5,
        what="the replica checked again and used once it is back",
    )
    errors = [line for line in served.output if '"level": "error"' in line]
    assert not errors, "\n".join(errors[-5:])
    assert "Traceback" not in "\n".join(served.output)


def _name(replica: StreamingReplica) -> str:
    return f"127.0.0.1:{replica.port}/admin"


def test_check_reports_a_replica_that_is_no_standby_is_behind_or_cannot_be_reached(
    pair, tmp_path, monkeypatch
):
    primary, replica = pair
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = hardened(primary.url("admin"), str(tmp_path)) | {"DB_CONNECT_TIMEOUT": "2"}

    def check(**changes: str) -> list[str]:
        result = CliRunner().invoke(main, ["check", "--deploy"], env=env | changes)
        lines = [line for line in result.stdout.splitlines() if line.startswith("DATABASE_RE")]
        assert (result.exit_code == 0) == (not lines), result.output
        return lines

    assert check(DATABASE_REPLICA_URLS=replica.url("admin")) == []
    itself = check(DATABASE_REPLICA_URLS=primary.url("admin"))
    assert len(itself) == 2, itself
    assert "names the primary itself" in itself[0] and "is not a standby" in itself[1]
    down = check(DATABASE_REPLICA_URLS="postgresql://u:hunter2@127.0.0.1:1/admin")
    assert len(down) == 1 and "cannot be reached" in down[0] and "hunter2" not in down[0]
    with paused(pair):
        category(primary, "Behind")
        behind = poll(
            lambda: check(DATABASE_REPLICA_URLS=replica.url("admin"), REPLICA_MAX_LAG="1"),
            within=5,
            what="a replica over a second behind reported",
        )
    assert len(behind) == 1 and "behind, more than REPLICA_MAX_LAG=1" in behind[0], behind
