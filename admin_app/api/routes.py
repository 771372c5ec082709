"""The API's routes, mounted at `/api` by the app factory."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Scope

from admin_app.admin.base import AppModelView
from admin_app.api.endpoints import ModelEndpoints, json_errors
from admin_app.api.openapi import document
from admin_app.settings import Settings
from admin_app.templating import STATIC_DIR

API_VERSION = "1"


def reads_only(scope: Scope) -> bool:
    """A GET of the model API (a list or a record): it runs without a transaction, and
    may read from a replica."""
    path: str = scope["path"]
    return scope["method"] in ("GET", "HEAD") and path.startswith(
        scope.get("root_path", "") + "/api/v1/"
    )


def api_mount(views: Iterable[AppModelView], settings: Settings) -> Mount:
    """`/api`: the description, its reference page, and every model's endpoints; pages of
    the `API_CORS_ORIGINS` may call it from a browser (with a token, never cookies)."""
    by_key = {str(view.key): view for view in views}
    endpoints = ModelEndpoints(by_key)
    spec = document(by_key.values(), API_VERSION)

    async def openapi(request: Request) -> Response:
        return JSONResponse(spec)

    async def docs(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "api.html", media_type="text/html")

    return Mount(
        "/api",
        routes=[
            Route("/openapi.json", openapi, name="openapi"),
            Route("/docs", docs, name="docs"),
            Route("/v1/{model}", json_errors(endpoints.list), methods=["GET"], name="list"),
            Route("/v1/{model}", json_errors(endpoints.create), methods=["POST"], name="create"),
            Route(
                "/v1/{model}/{pk}", json_errors(endpoints.retrieve), methods=["GET"], name="record"
            ),
            Route(
                "/v1/{model}/{pk}", json_errors(endpoints.update), methods=["PATCH"], name="update"
            ),
            Route(
                "/v1/{model}/{pk}", json_errors(endpoints.delete), methods=["DELETE"], name="delete"
            ),
        ],
        name="api",
        middleware=_cors(settings),
    )


def _cors(settings: Settings) -> list[Middleware]:
    if not settings.api_cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match"],
            expose_headers=["ETag", "Location", "Retry-After"],
            allow_credentials=False,  # tokens, not cookies
            max_age=600,
        )
    ]
