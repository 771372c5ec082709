"""HEAD requests are served as GET; the server sends the response without its body.

starlette-admin and the app's own form pages read every method but GET as a posted
form: a HEAD of the login page was a failed login (400), of a 2FA code form a wrong
code, of a create or edit form a submission (422). RFC 9110 says a HEAD is answered
exactly as a GET without the content. Each handler checking for it would be one more
place to forget; here the app sees a GET, once for all routes.

Only the application's copy of the scope changes: the ASGI server keeps its own, still
saying HEAD, and leaves the body out (uvicorn does).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HeadAsGetMiddleware:
    """Hand a HEAD request to the app as a GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)
