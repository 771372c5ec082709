"""Test fixtures: a fresh, migrated database per test, on SQLite and (when configured) PostgreSQL.

`TEST_DATABASE_URL` (for example `postgresql+asyncpg://postgres@127.0.0.1:5432/test`)
adds PostgreSQL: every database test then runs on both backends. The schema always
comes from the migrations, built once per run into a template that each test copies.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from admin_app.db import create_engine
from admin_app.main import create_app
from admin_app.migrations import upgrade
from admin_app.observability.logs import configure_logging
from admin_app.settings import Settings
from tests.email.sink import SmtpSink

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if TEST_DATABASE_URL else ["sqlite"]
TEST_SECRET = "test-secret-key-" + "x" * 40

# The tests decide every setting themselves; nothing leaks in from the shell.
for _name in list(os.environ):
    if _name.lower() in Settings.model_fields:
        del os.environ[_name]


def make_settings(**overrides: Any) -> Settings:
    """Settings for a test: explicit values only, no `.env` file."""
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": TEST_SECRET,
        "allowed_hosts": ["testserver", "localhost", "127.0.0.1"],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _pg_dsn(database: str | None = None) -> str:
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def _pg_url(database: str) -> str:
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


async def _pg_execute(*statements: str) -> None:
    connection = await asyncpg.connect(_pg_dsn(), timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class DatabaseFactory:
    """Makes fresh databases, migrated to head, by copying one template per backend."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = f"aat_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.templates: dict[str, str] = {}
        self.created: list[str] = []

    def template(self, backend: str) -> str:
        if backend not in self.templates:
            self.templates[backend] = self._build_template(backend)
        return self.templates[backend]

    def _build_template(self, backend: str) -> str:
        if backend == "sqlite":
            path = self.root / "template.db"
            upgrade(make_settings(database_url=f"sqlite+aiosqlite:///{path}"))
            return str(path)
        name = f"{self.prefix}_tpl"
        try:
            asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
        except (OSError, asyncpg.PostgresError) as error:
            pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unusable: {error}")
        self.created.append(name)
        upgrade(make_settings(database_url=_pg_url(name)))
        return name

    def new(self, backend: str, directory: Path) -> str:
        """The URL of a new database holding the migrated, empty schema."""
        template = self.template(backend)
        if backend == "sqlite":
            path = directory / "test.db"
            shutil.copyfile(template, path)
            return f"sqlite+aiosqlite:///{path}"
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self.created.append(name)
        return _pg_url(name)

    def empty(self, backend: str, directory: Path) -> str:
        """The URL of a new database with no schema at all."""
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{directory / 'empty.db'}"
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return _pg_url(name)

    def drop_all(self) -> None:
        # All at the end: each DROP DATABASE forces a checkpoint, and dropping them
        # behind the running tests made the whole suite four minutes slower.
        if self.created:
            asyncio.run(
                _pg_execute(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in self.created))
            )


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses the database runs once per configured backend."""
    return str(request.param)


@pytest.fixture
def postgres_backend() -> str:
    """For tests of PostgreSQL-only behaviour."""
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL-only: set TEST_DATABASE_URL to run")
    return "postgresql"


@pytest.fixture
def database_url(databases: DatabaseFactory, backend: str, tmp_path: Path) -> str:
    return databases.new(backend, tmp_path)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, recording what it receives."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.shutdown()


def smtp_overrides(sink: SmtpSink, **overrides: Any) -> dict[str, Any]:
    """Settings that send through `sink`, with retries fast enough for tests."""
    values: dict[str, Any] = {
        "email_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_timeout": 5.0,
        "email_from": "Store Admin <admin@store.test>",
        "email_poll_interval": 0.05,
        "email_backoff": 0.05,
        "email_backoff_max": 0.2,
        "email_lease": 5.0,
    }
    values.update(overrides)
    return values


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpSink) -> Settings:
    """The test settings, sending through the `smtp` server."""
    return settings.model_copy(update=smtp_overrides(smtp))


@pytest.fixture
def mail_client(mail_settings: Settings) -> Iterator[TestClient]:
    """A client of an app that sends through the `smtp` server."""
    with TestClient(create_app(mail_settings)) as test_client:
        yield test_client


@pytest.fixture
def superuser(settings: Settings) -> str:
    """The email of a superuser whose password is `tests.helpers.PASSWORD`."""
    from tests.helpers import create_admin

    create_admin(settings, "root@example.com", superuser=True)
    return "root@example.com"


@pytest.fixture
def admin_client(client: TestClient, superuser: str) -> TestClient:
    """A client logged in as a superuser."""
    from tests.helpers import login

    response = login(client, superuser)
    assert response.status_code == 303, response.text
    return client


def seed_small(settings: Settings) -> Settings:
    """Put a small demo store (and the demo roles) into the test database."""
    from admin_app.demo.seed import SeedPlan, seed

    async def go() -> None:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                await seed(connection, SeedPlan(customers=20, orders=40), progress=lambda *_: None)
        finally:
            await engine.dispose()

    asyncio.run(go())
    return settings


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    """The test database with a small store in it."""
    return seed_small(settings)


@pytest.fixture
def pg_settings(databases: DatabaseFactory, tmp_path: Path) -> Settings:
    """Settings on a fresh PostgreSQL database, for PostgreSQL-only behaviour."""
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL-only: set TEST_DATABASE_URL to run")
    return make_settings(
        database_url=databases.new("postgresql", tmp_path), data_dir=tmp_path / "data"
    )


@pytest.fixture
def sql(settings: Settings) -> Callable[..., list[Any]]:
    """Run one SQL statement against the test database from a sync test; return its rows."""

    def run(statement: str, **params: Any) -> list[Any]:
        async def go() -> list[Any]:
            engine = create_engine(settings)
            try:
                async with engine.begin() as connection:
                    result = await connection.execute(text(statement), params)
                    return list(result) if result.returns_rows else []
            finally:
                await engine.dispose()

        return asyncio.run(go())

    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under `TEST_FORBID_SKIPS=1` (set by .ci/run) a skipped test fails the run."""
    if not os.environ.get("TEST_FORBID_SKIPS"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"error: {len(skipped)} test(s) skipped; CI allows none", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


class LogCapture:
    """The JSON lines the app logged while the fixture was active.

    Lines of the test's own HTTP client (logger `httpx2`) are left out: in production
    the client is another process.
    """

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def _raw_lines(self) -> list[str]:
        return [
            line for line in self.stream.getvalue().splitlines() if '"logger": "httpx' not in line
        ]

    @property
    def text(self) -> str:
        return "\n".join(self._raw_lines())

    def lines(self) -> list[dict[str, Any]]:
        """Every line, parsed; a line that is not one JSON object fails the test."""
        parsed = []
        for line in self._raw_lines():
            try:
                parsed.append(json.loads(line))
            except ValueError:
                pytest.fail(f"log line is not JSON: {line!r}")
        return parsed

    def where(self, **fields: Any) -> list[dict[str, Any]]:
        """The lines whose fields have these values."""
        return [line for line in self.lines() if fields.items() <= line.items()]


@pytest.fixture
def json_logs() -> Iterator[LogCapture]:
    """Configure logging as `admin-app serve` does, into a buffer; undo it afterwards."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access"]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level, logger.propagate)
    knobs = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")
    saved_knobs = {knob: getattr(logging, knob) for knob in knobs}
    capture = LogCapture()
    configure_logging(make_settings(log_level="info"), stream=capture.stream)
    yield capture
    for knob, value in saved_knobs.items():
        setattr(logging, knob, value)
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.reset_defaults()
