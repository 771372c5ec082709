"""Error pages: HTML for browsers, JSON for clients that ask for it; 503 when the DB is down."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Forbidden", "You do not have permission to do this."),
    404: ("Page not found", "There is nothing at this address. Check the link, or go back."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    409: ("Conflict", "Someone else changed this in the meantime."),
    413: ("Too large", "What you sent is larger than this server accepts."),
    422: ("Invalid input", "Some values were not valid."),
    429: ("Too many requests", "Slow down and try again in a moment."),
    500: ("Server error", "Something went wrong on our side. It has been logged."),
    503: (
        "Temporarily unavailable",
        "The database cannot be reached right now. Try again in a few seconds.",
    ),
}

_UNAVAILABLE = (
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
)


HANDLED_ERROR = "handled_error"
"""Key in the request state naming the exception an error page was rendered for."""

_SQLITE_UNAVAILABLE = ("database is locked", "unable to open", "disk i/o error")


def _chain(error: BaseException) -> list[BaseException]:
    """The error, what caused it, and so on (exception groups included)."""
    found: list[BaseException] = []
    pending = [error]
    while pending:
        current = pending.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return found


def is_database_unavailable(error: BaseException) -> bool:
    """True when `error` (or what caused it) means the database cannot be reached."""
    for current in _chain(error):
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.OperationalError):
            text = str(current.orig).lower()
            if current.orig is None or "sqlite" not in type(current.orig).__module__:
                return True
            if any(reason in text for reason in _SQLITE_UNAVAILABLE):
                return True
        if isinstance(current, _UNAVAILABLE):
            return True
    return False


CONSTRAINT_MESSAGE = (
    "This change conflicts with data saved in the meantime (for example a duplicate "
    "value); nothing was saved. Reload and try again."
)


def _is_constraint(error: BaseException) -> bool:
    return any(isinstance(e, sa_exc.IntegrityError) for e in _chain(error))


STALE_MESSAGE = (
    "Someone else changed this record at the same moment; nothing was saved. Reload and try again."
)


def _is_stale(error: BaseException) -> bool:
    """A versioned row's UPDATE matched nothing: another request changed it first.

    Edit forms turn this into their own conflict page (`admin_app.admin.versioning`);
    anywhere else (two requests of one user changing their own account at once) it
    still means "lost the race", never a server fault.
    """
    return any(isinstance(e, StaleDataError) for e in _chain(error))


def is_bad_input(error: BaseException) -> bool:
    """True when a value from the request was refused on its way into a query.

    A page number beyond any integer type, a filter value that is not one of an enum's
    values, text the database cannot cast: the request is wrong, not the server.
    """
    for current in _chain(error):
        if isinstance(current, sa_exc.DataError | OverflowError | asyncpg.exceptions.DataError):
            return True
        if isinstance(current, sa_exc.StatementError) and isinstance(
            current.orig, LookupError | ValueError | TypeError | OverflowError
        ):
            return True
        if isinstance(current, sa_exc.OperationalError) and "too complex" in str(current.orig):
            return True
    return False


def wants_json(request: Request) -> bool:
    """Whether the client prefers JSON to HTML."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    templates: Jinja2Templates,
    request: Request,
    status: int,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error page for `status`, negotiated between HTML and JSON."""
    title, message = MESSAGES.get(status, ("Error", "The request failed."))
    message = detail or message
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        # Pages rendered outside the request middleware still carry the id to quote.
        headers = {**(headers or {}), "X-Request-ID": request_id}
    if wants_json(request):
        return JSONResponse(
            {"error": title, "detail": message, "status": status},
            status_code=status,
            headers=headers,
        )
    context = {"status": status, "title": title, "message": message, "request_id": request_id}
    return templates.TemplateResponse(
        request, "errors/error.html", context, status_code=status, headers=headers
    )


def exception_handlers(templates: Jinja2Templates) -> dict[Any, Callable[..., Any]]:
    """Handlers for `Starlette(exception_handlers=...)`."""

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        detail = None if error.detail == _default_phrase(error.status_code) else error.detail
        return error_response(templates, request, error.status_code, detail, error.headers)

    async def database_error(request: Request, error: Exception) -> Response:
        """Expected database failures, answered without the 500 machinery."""
        if is_bad_input(error):
            log.info("refused a request value: %s", error)
            return error_response(
                templates, request, 400, "A value in the request is not valid here."
            )
        if is_database_unavailable(error):
            log.warning("database unavailable: %s", error)
            return error_response(templates, request, 503, headers={"Retry-After": "5"})
        if _is_constraint(error):
            log.info("refused by a database constraint: %s", error)
            return error_response(templates, request, 409, CONSTRAINT_MESSAGE)
        if _is_stale(error):
            log.info("lost a race to change a row: %s", error)
            return error_response(templates, request, 409, STALE_MESSAGE)
        raise error

    async def server_error(request: Request, error: Exception) -> Response:
        setattr(request.state, HANDLED_ERROR, error)
        if any(
            known(error)
            for known in (is_bad_input, is_database_unavailable, _is_constraint, _is_stale)
        ):
            return await database_error(request, error)
        log.error("unhandled error", exc_info=error)
        return error_response(templates, request, 500)

    return {
        HTTPException: http_error,
        sa_exc.SQLAlchemyError: database_error,
        asyncpg.exceptions.PostgresError: database_error,
        OverflowError: database_error,
        ConnectionError: database_error,
        TimeoutError: database_error,
        Exception: server_error,
    }


def _default_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
