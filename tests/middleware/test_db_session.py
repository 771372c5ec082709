"""One session per request: committed on success, rolled back on an error status or exception."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from admin_app.db import create_engine, create_sessionmaker
from admin_app.middleware.db_session import DBSessionMiddleware
from admin_app.models import AdminUser
from admin_app.state import get_session


def make_app(settings) -> Starlette:
    async def insert(request: Request) -> Response:
        session = get_session(request)
        await session.execute(
            text("INSERT INTO tag (name) VALUES (:n)"), {"n": request.query_params["n"]}
        )
        outcome = request.query_params.get("then", "ok")
        if outcome == "raise":
            raise RuntimeError("boom")
        if outcome == "http":
            raise HTTPException(409)
        if outcome == "stream":
            return StreamingResponse(iter([b"a", b"b"]))
        return JSONResponse({"ok": True}, status_code=int(request.query_params.get("status", 200)))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        engine = create_engine(settings)
        yield {"sessionmaker": create_sessionmaker(engine)}
        await engine.dispose()

    return Starlette(
        routes=[Route("/insert", insert)],
        middleware=[Middleware(DBSessionMiddleware)],
        lifespan=lifespan,
    )


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("then=ok", True),
        ("then=ok&status=302", True),
        ("then=stream", True),
        ("then=ok&status=422", False),
        ("then=http", False),
        ("then=raise", False),
    ],
)
def test_commit_only_when_the_response_succeeds(settings, sql, query, kept):
    with TestClient(make_app(settings), raise_server_exceptions=False) as client:
        client.get(f"/insert?n=t1&{query}", follow_redirects=False)
    rows = sql("SELECT name FROM tag")
    assert (rows == [("t1",)]) is kept, f"{query}: expected kept={kept}, found {rows}"


def make_failing_commit_app(settings, prepare) -> Starlette:
    """An endpoint that inserts a tag, lets `prepare` sabotage the commit, and answers 200."""
    from admin_app.templating import app_templates
    from admin_app.web.errors import exception_handlers

    async def insert(request: Request) -> Response:
        session = get_session(request)
        await session.execute(text("INSERT INTO tag (name) VALUES ('doomed')"))
        await prepare(session)
        return JSONResponse({"ok": True})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        engine = create_engine(settings)
        yield {"sessionmaker": create_sessionmaker(engine), "engine": engine}
        await engine.dispose()

    page = exception_handlers(app_templates())[Exception]
    return Starlette(
        routes=[Route("/insert", insert)],
        middleware=[Middleware(DBSessionMiddleware, error_page=page)],
        lifespan=lifespan,
    )


async def _violation_checked_at_commit(session) -> None:
    """Leave a constraint violation that the database only checks at COMMIT."""
    if session.bind.dialect.name == "sqlite":
        await session.execute(text("PRAGMA defer_foreign_keys = ON"))
        await session.execute(
            text("INSERT INTO product_tag (product_id, tag_id) VALUES (424242, 424242)")
        )
    else:
        await session.execute(
            text("CREATE TEMP TABLE pair (x int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
        )
        await session.execute(text("INSERT INTO pair VALUES (1), (1)"))


def test_a_commit_refused_by_a_constraint_answers_409_instead_of_the_success(settings, sql):
    with TestClient(make_failing_commit_app(settings, _violation_checked_at_commit)) as client:
        response = client.get("/insert", headers={"accept": "application/json"})
    assert response.status_code == 409, response.text
    assert "nothing was saved" in response.json()["detail"]
    assert sql("SELECT name FROM tag WHERE name = 'doomed'") == []


def test_a_connection_lost_before_commit_answers_503(postgres_backend, databases, tmp_path):
    """PostgreSQL restarts between the request's last query and its commit."""
    from tests.conftest import make_settings
    from tests.helpers import fetch

    settings = make_settings(database_url=databases.new(postgres_backend, tmp_path))

    async def kill_my_connection(session) -> None:
        pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        engine = create_engine(settings)
        try:
            async with engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await engine.dispose()

    with TestClient(make_failing_commit_app(settings, kill_my_connection)) as client:
        response = client.get("/insert", headers={"accept": "application/json"})
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        again = client.get("/insert", headers={"accept": "application/json"})
    # The pool replaced the dead connection: the next request reached the database
    # (its first query worked) before it lost that connection too.
    assert again.status_code == 503
    assert fetch(settings, "SELECT count(*) FROM tag WHERE name = 'doomed'") == [(0,)]


async def _row_changed_by_someone_else(session) -> None:
    """Change a versioned row that another writer has changed since it was read."""
    user = AdminUser(email="raced@example.com", password_hash="x")
    session.add(user)
    await session.flush()
    await session.execute(text("UPDATE admin_user SET version = version + 1"))
    user.full_name = "mine"  # the UPDATE at commit expects the version it read


def test_a_commit_that_lost_a_race_for_a_row_answers_409(settings, sql, caplog):
    app = make_failing_commit_app(settings, _row_changed_by_someone_else)
    with TestClient(app) as client:
        response = client.get("/insert", headers={"accept": "application/json"})
    assert response.status_code == 409, response.text
    assert "nothing was saved" in response.json()["detail"]
    assert sql("SELECT name FROM tag WHERE name = 'doomed'") == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
