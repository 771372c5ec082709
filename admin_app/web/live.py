"""The live endpoints: `/admin/ws` (WebSocket) and `/admin/events` (server-sent events).

Both need the admin login and carry the same messages (`admin_app.live.messages`).
The WebSocket also takes the browser's page, for presence; see `LiveSocket`.
A refused WebSocket gets a real HTTP answer (401, 403, 503) where the server
supports it, so clients see why.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from starlette_admin import BaseModelView

from admin_app.live.hub import Closing, Page, Subscriber
from admin_app.live.identity import Identity, allowed_origin, identify
from admin_app.live.messages import dumps
from admin_app.live.service import LiveService, get_live
from admin_app.state import get_settings
from admin_app.web.live_socket import LiveSocket

SIGN_IN = "Sign in to the admin first."
UNAVAILABLE = "The database cannot be reached right now. Try again in a few seconds."
TOO_MANY = "This account has too many live connections open; close some tabs."


def live_routes(views: Sequence[BaseModelView]) -> list[BaseRoute]:
    """The routes, for the app's route list (ahead of the admin's mount)."""
    endpoints = LiveEndpoints(views)
    return [
        WebSocketRoute("/admin/ws", endpoints.socket, name="live_ws"),
        Route("/admin/events", endpoints.events, methods=["GET"], name="live_events"),
    ]


def refusal(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"error": detail, "status": status}, status_code=status)


class LiveEndpoints:
    def __init__(self, views: Sequence[BaseModelView]) -> None:
        self.views = views

    async def _identify(self, conn: Request | WebSocket) -> Identity | Response:
        try:
            identity = await identify(conn, self.views)
        except (SQLAlchemyError, OSError):
            return refusal(503, UNAVAILABLE)
        return identity if identity is not None else refusal(401, SIGN_IN)

    async def socket(self, websocket: WebSocket) -> None:
        """Authenticate, then hand the connection to `LiveSocket`."""
        if not allowed_origin(websocket, get_settings(websocket).allowed_hosts):
            await _deny(websocket, refusal(403, "Connections from other sites are refused."))
            return
        identity = await self._identify(websocket)
        if isinstance(identity, Response):
            await _deny(websocket, identity)
            return
        if not get_live(websocket).has_room_for(identity.user):
            await _deny(websocket, refusal(429, TOO_MANY))
            return
        await websocket.accept()
        await LiveSocket(websocket, get_live(websocket), identity).run()

    async def events(self, request: Request) -> Response:
        """The same feed as an event stream; `?model=` (and `&pk=`) narrow it."""
        identity = await self._identify(request)
        if isinstance(identity, Response):
            return identity
        model, pk = request.query_params.get("model"), request.query_params.get("pk")
        if pk is not None and not model:
            return refusal(400, "`pk` needs `model` as well, for example ?model=product&pk=1.")
        if model is not None and model not in identity.models:
            return refusal(403, f"You cannot follow changes to {model!r:.60}.")
        live = get_live(request)
        if not live.has_room_for(identity.user):
            return refusal(429, TOO_MANY)
        subscriber = live.connect(
            identity.user, identity.session_id, identity.models, feed=True, grants=identity.grants
        )
        if model and pk is not None and not await live.may_see(subscriber, model, pk):
            live.disconnect(subscriber)
            return refusal(403, f"You cannot follow that {model:.60}.")
        live.watch(subscriber, Page(model, pk) if model else None)
        return StreamingResponse(
            _stream(request, live, subscriber),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


async def _deny(websocket: WebSocket, response: Response) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008)


async def _stream(
    request: Request, live: LiveService, subscriber: Subscriber
) -> AsyncIterator[str]:
    """Messages as `data:` events, a comment every heartbeat, until the client leaves."""
    hello = {"type": "hello", "user": subscriber.user.to_json()}
    gone = asyncio.create_task(_wait_for_disconnect(request, subscriber))
    try:
        yield f"retry: 3000\ndata: {dumps(hello)}\n\n"
        while True:
            try:
                async with asyncio.timeout(live.heartbeat):
                    item = await subscriber.next()
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if isinstance(item, Closing):
                if item.reason:
                    yield f"data: {dumps({'type': 'error', 'detail': item.reason})}\n\n"
                return
            yield f"data: {item}\n\n"
    finally:
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone
        live.disconnect(subscriber)


async def _wait_for_disconnect(request: Request, subscriber: Subscriber) -> None:
    # Under ASGI spec 2.3 (uvicorn today) StreamingResponse notices the disconnect itself;
    # under 2.4 it only would when a write fails, up to a heartbeat later. This covers both.
    while (await request.receive())["type"] != "http.disconnect":
        pass
    subscriber.close(1000, "")
