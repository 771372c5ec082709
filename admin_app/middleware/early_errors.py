"""HTTP errors raised by middlewares, answered as the 4xx they are.

Exception handlers only see what is raised inside the innermost app. starlette-admin's
CSRF middleware reads the form itself, and a malformed one (more than 1,000 fields, a
broken multipart body) raises Starlette's `HTTPException(400)` there, outside every
handler: it became a 500 and an "unhandled error" in the log (found by `make stress`).
So did a client that disconnects while that middleware reads its body.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class EarlyHTTPErrorMiddleware:
    """Turn an `HTTPException` raised before the response started into that response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except ClientDisconnect:
            return  # the client left while its body was being read: no one to answer
        except HTTPException as error:
            if started:
                raise
            response = PlainTextResponse(
                str(error.detail), status_code=error.status_code, headers=error.headers
            )
            await response(scope, receive, send)
