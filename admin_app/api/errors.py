"""Errors of the JSON API, as JSON: `{"error": "...", "fields": {...}}`, never a page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

NON_FIELD = "__all__"


class ApiError(HTTPException):
    """An expected failure of an API call: a status, a message, and per-field messages."""

    def __init__(
        self,
        status_code: int,
        message: str,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message, headers=dict(headers) if headers else None)
        self.message = message
        self.fields = dict(fields or {})


def error_json(error: HTTPException) -> JSONResponse:
    """The response for any HTTP error met while serving the API."""
    body: dict[str, Any] = {"error": str(getattr(error, "message", None) or error.detail)}
    fields = getattr(error, "fields", None)
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


def field_errors(errors: Mapping[Any, Any]) -> dict[str, str]:
    """starlette-admin's form errors (strings, or lists of them) as one message per field."""
    found: dict[str, str] = {}
    for name, message in errors.items():
        if isinstance(message, list | tuple):
            message = " ".join(str(m) for m in message)
        elif isinstance(message, dict):
            message = " ".join(f"{k}: {v}" for k, v in message.items())
        found[str(name)] = str(message)
    return found
