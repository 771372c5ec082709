"""Helpers shared by the HTTP tests: accounts, login, CSRF tokens, database snapshots."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from admin_app.auth.passwords import hash_password
from admin_app.db import Base, create_engine, create_sessionmaker, utcnow
from admin_app.models import AdminUser
from admin_app.settings import PROJECT_ROOT, Settings

PASSWORD = "correct horse battery staple"
CSRF_COOKIE = "starlette_admin_csrftoken"


@cache
def password_hash() -> str:
    """One real argon2id hash of PASSWORD, computed once per run."""
    return hash_password(PASSWORD)


def run(settings: Settings, work: Any) -> Any:
    """Run `await work(session)` against the test database, committing at the end."""

    async def go() -> Any:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def create_admin(
    settings: Settings, email: str = "root@example.com", *, superuser: bool = True, **fields: Any
) -> int:
    """Insert an account whose password is PASSWORD; return its id."""

    async def work(session: Any) -> int:
        user = AdminUser(
            email=email,
            full_name=fields.pop("full_name", "Test Admin"),
            password_hash=password_hash(),
            is_superuser=superuser,
            password_changed_at=utcnow(),
            **fields,
        )
        session.add(user)
        await session.flush()
        return int(user.id)

    return run(settings, work)


def csrf_token(client: TestClient) -> str:
    """The signed CSRF token, as the admin's JavaScript reads it from the cookie."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/admin/login")
    return str(client.cookies[CSRF_COOKIE])


def login(
    client: TestClient, email: str, password: str = PASSWORD, **headers: str
) -> httpx2.Response:
    """Post the login form as a browser would."""
    token = csrf_token(client)
    return client.post(
        "/admin/login",
        data={"username": email, "password": password, "csrftoken": token},
        headers=headers,
        follow_redirects=False,
    )


def post_form(client: TestClient, url: str, data: dict[str, Any], **kwargs: Any) -> httpx2.Response:
    """POST a form with a valid CSRF token, like the admin's own forms."""
    return client.post(url, data={**data, "csrftoken": csrf_token(client)}, **kwargs)


def table_counts(settings: Settings) -> dict[str, int]:
    """Rows per table: a snapshot to prove that a refused request changed nothing."""

    async def work(session: Any) -> dict[str, int]:
        counts = {}
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int(await session.scalar(select(func.count()).select_from(table)))
        return counts

    return run(settings, work)


def fetch(settings: Settings, statement: str, **params: Any) -> list[Any]:
    """Rows of one SQL statement."""

    async def work(session: Any) -> list[Any]:
        result = await session.execute(text(statement), params)
        return list(result) if result.returns_rows else []

    return run(settings, work)


def give_role(settings: Settings, email: str, role: str) -> None:
    """Give the account `email` the role named `role`."""
    fetch(
        settings,
        "INSERT INTO admin_user_role (user_id, role_id) "
        "SELECT u.id, r.id FROM admin_user u, role r WHERE u.email = :e AND r.name = :r",
        e=email,
        r=role,
    )


def make_role(
    settings: Settings, name: str, codes: list[str], scope: dict[str, Any] | None = None
) -> int:
    """Create a role holding `codes` (and a row scope, if given); return its id."""
    from admin_app.models import Role

    async def work(session: Any) -> int:
        role = Role(name=name, description="", scope=scope or {})
        role.permission_codes = codes
        session.add(role)
        await session.flush()
        return int(role.id)

    return int(run(settings, work))


def update_rows(settings: Settings, model: type[Base], **values: Any) -> None:
    """Set columns on every row of a model's table (typed, so timestamps work on both backends)."""
    from sqlalchemy import update

    async def work(session: Any) -> None:
        await session.execute(update(model).values(**values))

    run(settings, work)


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `predicate()` until it returns something truthy, or fail saying `what` never happened."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s (last: {value!r})")
        time.sleep(interval)


def copy_project(destination: Path) -> Path:
    """Copy the checkout's source files (those git tracks or would track) to `destination`.

    Run the copy in subprocesses with `PYTHONPATH=<destination>`, so that changes made
    to it, new models above all, never reach this process's metadata.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is not copied
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus exposition `text`, or None if absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def metric_labels(text: str, name: str, label: str) -> set[str]:
    """Every value `label` takes among the samples called `name`."""
    from prometheus_client.parser import text_string_to_metric_families

    found = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and label in sample.labels:
                found.add(sample.labels[label])
    return found


def local(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as the admin shows date-times (babel's medium format, English), in `zone`."""
    from babel import dates

    moment = moment.replace(microsecond=0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return str(dates.format_datetime(moment, "medium", zone, "en"))


def html_attributes(page: str, *names: str) -> tuple[str, ...]:
    """The values of the attributes `names` on a page's `<html>` element (each must be there)."""
    tag = re.search(r"<html\b[^>]*>", page)
    assert tag, "the page has no <html> element"
    found = [re.search(rf'\b{name}="([\w-]+)"', tag.group(0)) for name in names]
    missing = [name for name, match in zip(names, found, strict=True) if match is None]
    assert not missing, f"the <html> element has no {missing}: {tag.group(0)}"
    return tuple(match.group(1) for match in found if match is not None)
