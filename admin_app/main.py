"""The app factory and its lifespan; `admin_app.main:app` is the ASGI entry point.

Middleware, outermost first (Starlette's own error handling wraps them all):

1. `ForwardedClientMiddleware`: client IP and scheme from `X-Forwarded-*`, only when the
   connection comes from a proxy in `FORWARDED_ALLOW_IPS` and the address is an IP
   (uvicorn's `ProxyHeadersMiddleware`, checked); so Secure cookies and https URLs work
   behind a TLS-terminating proxy.
2. `ObservabilityMiddleware`: request id (`X-Request-ID`), access log line, metrics.
3. `HeadAsGetMiddleware`: the app serves a HEAD as a GET (the server drops the body),
   so no handler mistakes it for a posted form. After the access log, which says HEAD.
4. `PacingMiddleware`: at most a few requests begin per turn of the event loop, so a
   storm of arrivals cannot stall timers and probes.
5. `HostCheckMiddleware`: a Host outside `ALLOWED_HOSTS` gets 400 (probes and
   `/metrics` excepted).
6. `HTTPSOnlyMiddleware`, only when `HTTPS_ONLY`: http is redirected to https.
7. `SecurityHeadersMiddleware`: CSP with a per-request nonce, framing, sniffing, HSTS,
   and `Cache-Control: no-store` on pages and data.
8. `CompressionMiddleware`: gzip for larger text responses (never event streams), to
   clients that accept it.
9. `BodyLimitMiddleware`: 413 for bodies over `MAX_FORM_SIZE` / `MAX_REQUEST_SIZE`.
10. `SessionCookieMiddleware`: the signed cookie that carries only the login session's
    token (Starlette's, each cookie value verified once).
11. `ReadYourWritesMiddleware`, only with `DATABASE_REPLICA_URLS`: a successful write
    keeps that browser reading from the primary for `REPLICA_STICKY_SECONDS`.
12. `DBSessionMiddleware`: one database session per request (none of a transaction for
    the admin's list pages and relation pickers and the API's reads, which only read;
    those and the dashboard read from a replica when there is one fit,
    `admin_app.replicas`).

`/admin/ws` and `/admin/events` (live activity, `admin_app.web.live`) are app routes
ahead of the admin's mount, with their own login check. `/api` (`admin_app.api`) takes
bearer tokens only, never the session cookie.

Inside `/admin`: the time zone, flash messages, CSRF and login
(`admin_app.middleware.admin_guards`, plain-ASGI twins of starlette-admin's own).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Host, Mount, Route, Router

from admin_app.admin.base import AppModelView
from admin_app.admin.import_jobs import UPLOAD_PATH
from admin_app.admin.site import AppAdmin, build_admin
from admin_app.admin.webhook_topics import webhook_topics
from admin_app.api.routes import api_mount
from admin_app.api.routes import reads_only as api_reads
from admin_app.audit.recorder import start_recording
from admin_app.bulk_edit.runs import BulkEditRuns
from admin_app.db import (
    create_engine,
    create_sessionmaker,
)
from admin_app.email.delivery import Mailer
from admin_app.email.worker import running_worker
from admin_app.imports.tasks import ImportTasks
from admin_app.live.scopes import Scopes
from admin_app.live.service import LiveService
from admin_app.media import MediaStore
from admin_app.middleware.compression import CompressionMiddleware
from admin_app.middleware.db_session import DBSessionMiddleware, ErrorPage, ReadsOnly
from admin_app.middleware.forwarded import ForwardedClientMiddleware
from admin_app.middleware.head import HeadAsGetMiddleware
from admin_app.middleware.hosts import HostCheckMiddleware
from admin_app.middleware.https import HTTPSOnlyMiddleware
from admin_app.middleware.limits import BodyLimitMiddleware
from admin_app.middleware.observability import ObservabilityMiddleware
from admin_app.middleware.pacing import PacingMiddleware
from admin_app.middleware.read_your_writes import ReadYourWritesMiddleware
from admin_app.middleware.security_headers import SecurityHeadersMiddleware
from admin_app.middleware.session_cookie import SessionCookieMiddleware
from admin_app.observability.logs import configure_logging
from admin_app.observability.metrics import Metrics
from admin_app.observability.sources import default_sources
from admin_app.replicas.health import ReplicaSet
from admin_app.replicas.routing import ReadRouter
from admin_app.replicas.sticky import StickyReads
from admin_app.settings import ConfigError, Settings, load_settings
from admin_app.templating import STATIC_DIR, app_templates
from admin_app.trash.purge import running_purges
from admin_app.web import health, metrics
from admin_app.web.errors import exception_handlers
from admin_app.web.live import live_routes
from admin_app.web.static import FingerprintedStaticFiles
from admin_app.web.url_paths import remember_url_paths
from admin_app.webhooks.capture import start_capture
from admin_app.webhooks.dispatcher import Dispatcher, running_dispatcher

SESSION_COOKIE = "admin_session"


class AppState(TypedDict):
    """What the lifespan shares; Starlette copies it into each request's `request.state`.

    Read through the accessors: `admin_app.state` (settings, sessions), `get_mailer`,
    `get_live` and `get_metrics` beside their services.
    """

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    media: MediaStore
    mailer: Mailer
    metrics: Metrics
    live: LiveService
    imports: ImportTasks
    bulk_edits: BulkEditRuns
    reads: ReadRouter
    webhooks: Dispatcher


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the application for `settings` (read from the environment when omitted)."""
    settings = settings or load_settings()
    handlers = exception_handlers(app_templates())
    app_metrics = Metrics.for_settings(settings)
    for source in default_sources(settings):
        app_metrics.add_source(source)
    sticky = StickyReads(
        settings.secret_keys, settings.replica_sticky_seconds, secure=settings.https_only
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        start_recording()  # every ORM change this process makes goes to the audit log
        start_capture(webhook_topics(admin.model_views))  # ... and to webhooks that follow it
        engine = create_engine(settings)
        sessions = create_sessionmaker(engine)
        mailer = Mailer(settings, sessions)
        dispatcher = Dispatcher(settings, sessions)
        live = LiveService(settings, sessions, app_metrics, Scopes(admin.model_views, sessions))
        app_metrics.watch_pool(engine)
        lag_monitor = asyncio.create_task(app_metrics.watch_event_loop(), name="loop-lag")
        await live.start()
        imports = ImportTasks(
            settings, sessions, _import_views(admin.model_views), live.publish, live.tell
        )
        imports.resume_soon()  # jobs a stopped process left behind
        bulk_edits = BulkEditRuns()
        replicas = ReplicaSet.for_settings(settings, app_metrics)
        await replicas.check()  # the first requests already know which replicas are fit
        replica_monitor = asyncio.create_task(replicas.watch(), name="replica-lag")
        try:
            async with (
                running_worker(mailer, enabled=settings.email_worker),
                running_dispatcher(dispatcher, enabled=settings.email_worker),
                running_purges(
                    sessions, settings.trash_retention_days, enabled=settings.email_worker
                ),
            ):
                yield {
                    "settings": settings,
                    "engine": engine,
                    "sessionmaker": sessions,
                    "media": MediaStore(settings.media_root),
                    "mailer": mailer,
                    "metrics": app_metrics,
                    "live": live,
                    "imports": imports,
                    "bulk_edits": bulk_edits,
                    "reads": ReadRouter(replicas, sticky, app_metrics),
                    "webhooks": dispatcher,
                }
        finally:
            replica_monitor.cancel()
            await imports.stop()
            await bulk_edits.stop()
            lag_monitor.cancel()
            await live.stop()
            await engine.dispose()
            await replicas.dispose()
            app_metrics.close(os.getpid())

    admin = build_admin(settings)
    app = Starlette(
        debug=settings.debug,
        routes=[
            *_routes(),
            *live_routes(admin.model_views),
            api_mount(admin.model_views, settings),
        ],
        middleware=_middleware(settings, app_metrics, handlers[Exception], admin, sticky),
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    admin.mount_to(app)
    _split_hosts(app, settings)
    remember_url_paths(app.router)
    return app


def _split_hosts(app: Starlette, settings: Settings) -> None:
    """With `ADMIN_HOST` or `API_HOST`, the admin (its mount, live feed and `/`) and the API
    answer only on their own host name (Starlette `Host` routes); anywhere else they are
    404. Probes, `/metrics` and static files stay on every allowed host: a `Host` route
    takes every path of its host, so each one carries them too."""
    routes = app.router.routes
    api = [r for r in routes if isinstance(r, Mount) and r.path == "/api"]
    admin = [r for r in routes if _is_admin_route(r)]
    rest = [r for r in routes if r not in api and r not in admin]
    hosted: dict[str, list[BaseRoute]] = {}
    for host, part in ((settings.admin_host, admin), (settings.api_host, api)):
        if host:
            hosted.setdefault(host, []).extend(part)
    unhosted = [*([] if settings.admin_host else admin), *([] if settings.api_host else api)]
    hosts = [Host(host, app=Router(routes=[*own, *rest])) for host, own in hosted.items()]
    routes[:] = [*hosts, *unhosted, *rest]


def _is_admin_route(route: BaseRoute) -> bool:
    path = str(getattr(route, "path", ""))
    return path in ("", "/") or path == "/admin" or path.startswith("/admin/")


def _reads_only(admin: AppAdmin) -> ReadsOnly:
    """The requests that run without a transaction: the admin's list pages and pickers
    (`reads_only`), and the JSON API's reads, whose only write (a token's `last_used_at`,
    once a minute) is one statement."""
    return lambda scope: admin.reads_only(scope) or api_reads(scope)


def _replica_reads(admin: AppAdmin) -> ReadsOnly:
    """The requests that may read from a replica: the admin's lists, searches, pickers,
    exports and dashboard (`reads_from_replica`), and the JSON API's reads."""
    return lambda scope: admin.reads_from_replica(scope) or api_reads(scope)


def _import_views(views: Iterable[Any]) -> dict[str, AppModelView]:
    """The views import jobs may write into, by key."""
    return {str(v.key): v for v in views if isinstance(v, AppModelView) and not v.read_only}


async def _home(request: Request) -> RedirectResponse:
    return RedirectResponse(request.url_for("admin:index"), status_code=302)


def _routes() -> list[BaseRoute]:
    return [
        Route("/", _home, name="home"),
        *health.routes,
        *metrics.routes,
        Mount("/static", app=FingerprintedStaticFiles(directory=STATIC_DIR), name="static"),
    ]


def _middleware(
    settings: Settings,
    app_metrics: Metrics,
    error_page: ErrorPage,
    admin: AppAdmin,
    sticky: StickyReads,
) -> list[Middleware]:
    stack = [
        Middleware(ForwardedClientMiddleware, trusted_hosts=settings.forwarded_allow_ips),
        Middleware(ObservabilityMiddleware, metrics=app_metrics),
        Middleware(HeadAsGetMiddleware),
        Middleware(PacingMiddleware),
        Middleware(HostCheckMiddleware, allowed_hosts=settings.allowed_hosts),
    ]
    if settings.https_only:
        stack.append(Middleware(HTTPSOnlyMiddleware))
    stack += [
        Middleware(SecurityHeadersMiddleware, hsts=settings.https_only),
        # Level 3: a 170 kB list page compresses to 19 kB in 0.8 ms; level 6 saves 2 kB
        # more for 2 ms of CPU on every page (nginx's default is 1).
        Middleware(CompressionMiddleware, minimum_size=1024, compresslevel=3),
        Middleware(
            BodyLimitMiddleware,
            max_form=settings.max_form_size,
            max_upload=settings.max_request_size,
            streamed=UPLOAD_PATH,
            max_streamed=settings.max_import_size,
        ),
        Middleware(
            SessionCookieMiddleware,
            secret_keys=settings.secret_keys,
            session_cookie=SESSION_COOKIE,
            max_age=settings.session_absolute_timeout,
            same_site="lax",
            https_only=settings.https_only,
        ),
    ]
    replicas = bool(settings.database_replica_urls)
    if replicas:
        stack.append(Middleware(ReadYourWritesMiddleware, sticky=sticky))
    stack.append(
        Middleware(
            DBSessionMiddleware,
            error_page=error_page,
            reads_only=_reads_only(admin),
            replica_reads=_replica_reads(admin) if replicas else None,
        )
    )
    return stack


def __getattr__(name: str) -> Any:
    """Build `app` on first access, so importing this module reads no settings.

    This is the process entry point for ASGI servers (each uvicorn or gunicorn worker
    imports it), so it also sets up the process's JSON logging and freezes what startup
    built out of the garbage collector's way; `create_app` does neither.
    """
    if name != "app":
        raise AttributeError(name)
    try:
        settings = load_settings()
        configure_logging(settings)
        application = create_app(settings)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    globals()["app"] = application
    # Everything built so far (modules, mappers, the app) lives as long as the process.
    # Frozen, it is left out of the garbage collector's full passes, which otherwise
    # walk it all and stall the event loop for 100-150 ms under load.
    gc.collect()
    gc.freeze()
    return application
