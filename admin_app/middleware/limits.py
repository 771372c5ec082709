"""Request body limits, by kind: forms are small, uploads may be larger. Too large gets 413."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.types import ASGIApp, Receive, Scope, Send


class BodyLimitMiddleware:
    """`max_upload` for multipart bodies, `max_form` for everything else."""

    def __init__(self, app: ASGIApp, *, max_form: int, max_upload: int) -> None:
        self.app = app
        self.max_form = max_form
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = Headers(scope=scope).get("content-type", "")
        limit = self.max_upload if content_type.startswith("multipart/") else self.max_form
        await RequestBodyLimitResponder(self.app, limit)(scope, receive, send)
