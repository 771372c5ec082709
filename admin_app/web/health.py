"""Liveness and readiness probes."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from admin_app.email.breaker import BreakerState
from admin_app.email.delivery import get_mailer
from admin_app.models import DeliveryStatus, OutboxMessage, OutboxStatus, WebhookDelivery
from admin_app.schema_version import current_revisions, head_revisions, schema_state
from admin_app.state import get_settings
from admin_app.webhooks.dispatcher import get_dispatcher

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """The process is up and serving; never touches the database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers and has (at least) the schema this code needs.

    A schema *ahead* of this code (a revision it does not know) is ready: during a
    rolling deploy the new version migrates first, and the old replicas must keep
    serving until they are replaced. Migrations are written to allow that
    (docs/deploy.md). A schema behind, or none at all, is not ready.
    """
    engine = request.state.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await current_revisions(connection)
            state = schema_state(current)
            known = state in ("current", "ahead")
            waiting = await _outbox_counts(connection) if known else {}
            hooks = await _webhook_counts(connection) if known else {}
    except Exception as error:  # any failure to reach the database means "not ready"
        log.warning("readiness: database unreachable: %s", error)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    migrations = {"current": sorted(current), "head": sorted(head_revisions()), "state": state}
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "migrations": migrations,
        "email": _email_health(request, waiting),
        "webhooks": _webhook_health(request, hooks),
    }
    if state in ("empty", "behind"):
        body.update(status="unavailable", database="not migrated")
        body["hint"] = "run: admin-app db upgrade"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


async def _outbox_counts(connection: AsyncConnection) -> dict[str, int]:
    rows = await connection.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.status != OutboxStatus.SENT)
        .group_by(OutboxMessage.status)
    )
    counts = {"pending": 0, "dead": 0}
    counts.update({OutboxStatus(row[0]).value: int(row[1]) for row in rows})
    return counts


def _email_health(request: Request, waiting: dict[str, int]) -> dict[str, Any]:
    """Email never makes the app unready: an SMTP outage only delays messages."""
    breaker = get_mailer(request).breaker.status()
    return {
        "backend": get_settings(request).email_backend,
        "breaker": breaker.state.value,
        "consecutive_failures": breaker.consecutive_failures,
        "retry_in": breaker.retry_in,
        **waiting,
    }


async def _webhook_counts(connection: AsyncConnection) -> dict[str, int]:
    rows = await connection.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.status != DeliveryStatus.DELIVERED)
        .group_by(WebhookDelivery.status)
    )
    counts = {"pending": 0, "dead": 0}
    counts.update({DeliveryStatus(row[0]).value: int(row[1]) for row in rows})
    return counts


def _webhook_health(request: Request, waiting: dict[str, int]) -> dict[str, Any]:
    """Webhooks never make the app unready either: a failing endpoint only waits."""
    dispatcher = get_dispatcher(request)
    breakers = dispatcher.breakers.items() if dispatcher is not None else []
    open_ = sorted(endpoint for endpoint, b in breakers if b.state is not BreakerState.CLOSED)
    return {"open_breakers": open_, **waiting}


routes = [
    Route("/healthz", healthz, methods=["GET", "HEAD"], name="healthz"),
    Route("/readyz", readyz, methods=["GET", "HEAD"], name="readyz"),
]
