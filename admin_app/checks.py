"""What `admin-app check --deploy` looks for: settings that are unsafe in production.

Like Django's `check --deploy`: every check runs, every problem is reported on one
line that names the setting, says why it matters and how to fix it. The settings
checks are pure functions of `Settings`; the database checks connect once, bounded
by `DB_CONNECT_TIMEOUT`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.auth.oidc import OidcClient, OidcError
from admin_app.auth.sso import SUPERUSER
from admin_app.models import Role
from admin_app.replicas.health import LAG_QUERY, lag_from
from admin_app.schema_version import current_revisions, head_revisions, schema_state
from admin_app.settings import PLACEHOLDER_SECRETS, Settings

MIN_SECRET_LENGTH = 50
MIN_SECRET_CHARACTERS = 5
_PLACEHOLDER = re.compile(
    r"change.?(me|this|it)|replace|example|placeholder|insecure|dummy|not.?secret|your.?(secret|key)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Issue:
    """One unsafe setting: which, and what to do about it."""

    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.message}"


Check = Callable[[Settings], "Issue | None"]


def check_environment(settings: Settings) -> Issue | None:
    if settings.environment == "production":
        return None
    return Issue(
        "ENVIRONMENT",
        f"is {settings.environment}; set ENVIRONMENT=production so a missing SECRET_KEY "
        "stops the app instead of being generated",
    )


def check_debug(settings: Settings) -> Issue | None:
    if not settings.debug:
        return None
    return Issue("DEBUG", "is on, so error pages show tracebacks and code; set DEBUG=false")


def _weakness(key: str) -> str | None:
    """Why `key` is too easy to guess, or None."""
    if key.strip().lower() in PLACEHOLDER_SECRETS or _PLACEHOLDER.search(key):
        return "is a placeholder value"
    if len(key) < MIN_SECRET_LENGTH:
        return f"is only {len(key)} characters long (at least {MIN_SECRET_LENGTH} needed)"
    if len(set(key)) < MIN_SECRET_CHARACTERS:
        return f"uses fewer than {MIN_SECRET_CHARACTERS} different characters"
    return None


def check_secret_key(settings: Settings) -> Issue | None:
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    fix = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    problem = "is not set (development would generate one per machine)" if not key else None
    problem = problem or _weakness(key)
    if problem is None:
        return None
    return Issue("SECRET_KEY", f"{problem}; anyone who guesses it can forge sessions; {fix}")


def check_secret_key_fallbacks(settings: Settings) -> Issue | None:
    keys = [key.get_secret_value() for key in settings.secret_key_fallbacks]
    weak = [(n, problem) for n, key in enumerate(keys, 1) if (problem := _weakness(key))]
    if not weak:
        return None
    n, problem = weak[0]
    return Issue(
        "SECRET_KEY_FALLBACKS",
        f"key {n} of {len(keys)} {problem}; sessions and links signed with it are still "
        "accepted, so anyone who guesses it can forge them; run admin-app rotate-secrets, "
        "then remove it",
    )


def check_allowed_hosts(settings: Settings) -> Issue | None:
    if "*" not in settings.allowed_hosts:
        return None
    return Issue(
        "ALLOWED_HOSTS",
        "contains '*', so any Host header is answered (links in emails and redirects "
        "can point elsewhere); list your domain names, e.g. ALLOWED_HOSTS=admin.example.com",
    )


def check_https_only(settings: Settings) -> Issue | None:
    if settings.https_only:
        return None
    return Issue(
        "HTTPS_ONLY",
        "is off, so cookies are not Secure and there is no HSTS; set HTTPS_ONLY=true "
        "(behind a TLS proxy, also set FORWARDED_ALLOW_IPS)",
    )


def check_email_backend(settings: Settings) -> Issue | None:
    if settings.email_backend != "console":
        return None
    return Issue(
        "EMAIL_BACKEND",
        "is console, so emails are only written to the log, never sent; "
        "set EMAIL_BACKEND=smtp and SMTP_HOST",
    )


def check_database_backend(settings: Settings) -> Issue | None:
    if not settings.is_sqlite:
        return None
    return Issue(
        "DATABASE_URL",
        "is SQLite, which cannot be shared by several replicas and has no backups or "
        "failover; use postgresql+asyncpg://user:password@host:5432/db",
    )


def check_database_direct_url(settings: Settings) -> Issue | None:
    if settings.database_pooler == "none" or settings.database_direct_url:
        return None
    return Issue(
        "DATABASE_DIRECT_URL",
        f"is not set while DATABASE_POOLER={settings.database_pooler}: live updates cannot "
        "LISTEN through a transaction-pooling PgBouncer (pages would hear only of changes "
        "made in the same process) and migrations would run through it; point it at "
        "PostgreSQL itself, "
        "e.g. DATABASE_DIRECT_URL=postgresql+asyncpg://user:password@db-host:5432/db",
    )


def check_replica_sticky_seconds(settings: Settings) -> Issue | None:
    if not settings.database_replica_urls:
        return None
    if settings.replica_sticky_seconds >= settings.replica_max_lag:
        return None
    return Issue(
        "REPLICA_STICKY_SECONDS",
        f"is {settings.replica_sticky_seconds:g}, shorter than REPLICA_MAX_LAG="
        f"{settings.replica_max_lag:g}: after a save, a list may go back to a replica that "
        "has not replayed it yet and show the old values; set REPLICA_STICKY_SECONDS to at "
        "least REPLICA_MAX_LAG",
    )


def check_replica_urls(settings: Settings) -> Issue | None:
    same = [url for url in settings.replica_urls if _server(url) == _server(settings.db_url)]
    if not same:
        return None
    return Issue(
        "DATABASE_REPLICA_URLS",
        f"names the primary itself ({display(same[0])}): its reads gain nothing; list the "
        "standbys' addresses, e.g. postgresql+asyncpg://user:password@replica-1:5432/db",
    )


def _server(url: URL) -> tuple[str | None, int, str | None]:
    return url.host, url.port or 5432, url.database


def display(url: URL) -> str:
    """A database URL without its password, for a message."""
    return url.render_as_string(hide_password=True)


def check_public_url(settings: Settings) -> Issue | None:
    if settings.public_url:
        return None
    return Issue(
        "PUBLIC_URL",
        "is not set, so links in emails (password reset, invitations) are built from the "
        "request's host and the port the app listens on, not the address people use; "
        "set PUBLIC_URL=https://admin.example.com",
    )


def check_require_2fa(settings: Settings) -> Issue | None:
    if settings.require_2fa:
        return None
    return Issue(
        "REQUIRE_2FA", "is off, so a stolen password is enough to log in; set REQUIRE_2FA=true"
    )


def check_forwarded_allow_ips(settings: Settings) -> Issue | None:
    if "*" not in settings.forwarded_allow_ips:
        return None
    return Issue(
        "FORWARDED_ALLOW_IPS",
        "is '*', so any client can claim any address in X-Forwarded-For (login throttling "
        "and the metrics allow-list can be bypassed); list your proxies' addresses or networks",
    )


def check_smtp_tls(settings: Settings) -> Issue | None:
    if settings.email_backend != "smtp" or settings.smtp_tls != "none" or not settings.smtp_user:
        return None
    return Issue(
        "SMTP_TLS",
        "is none while SMTP_USER is set, so the SMTP password crosses the network in clear; "
        "set SMTP_TLS=starttls or tls",
    )


def check_api_host(settings: Settings) -> Issue | None:
    if not settings.api_cors_origins or (settings.api_host and settings.admin_host):
        return None
    return Issue(
        "API_HOST",
        "API_CORS_ORIGINS lets other sites' pages call the API on the admin's own host; "
        "serve each on its own name, e.g. ADMIN_HOST=admin.example.com and "
        "API_HOST=api.example.com",
    )


def check_sso_break_glass(settings: Settings) -> Issue | None:
    if not settings.sso_only or settings.sso_break_glass_email:
        return None
    return Issue(
        "SSO_BREAK_GLASS_EMAIL",
        "is not set while SSO_ONLY=true, so nobody can sign in while the provider is down "
        "or misconfigured; name one superuser, e.g. SSO_BREAK_GLASS_EMAIL=root@example.com",
    )


SETTINGS_CHECKS: tuple[Check, ...] = (
    check_environment,
    check_debug,
    check_secret_key,
    check_secret_key_fallbacks,
    check_allowed_hosts,
    check_https_only,
    check_forwarded_allow_ips,
    check_email_backend,
    check_public_url,
    check_smtp_tls,
    check_database_backend,
    check_database_direct_url,
    check_replica_urls,
    check_replica_sticky_seconds,
    check_require_2fa,
    check_api_host,
    check_sso_break_glass,
)


def settings_issues(settings: Settings) -> list[Issue]:
    """Every unsafe production setting, in a stable order."""
    return [issue for check in SETTINGS_CHECKS if (issue := check(settings)) is not None]


async def database_issues(engine: AsyncEngine) -> list[Issue]:
    """The database cannot be reached, or its schema is not at this code's migration head."""
    try:
        async with engine.connect() as connection:
            current = await current_revisions(connection)
    except Exception as error:  # every way of failing to connect is one report
        # Imported here: the CLI package imports this module.
        from admin_app.cli.common import describe, display_url

        return [
            Issue(
                "DATABASE_URL",
                f"cannot connect to {display_url(engine.url)}: {describe(error)}",
            )
        ]
    state = schema_state(current)
    if state == "current":
        return []
    at = ", ".join(sorted(current))
    head = ", ".join(sorted(head_revisions()))
    if state == "ahead":
        detail = f"is at {at}, which this version does not know (newer than {head})"
        fix = "deploy the version that wrote it"
    elif state == "empty":
        detail = f"has no schema yet (the newest revision is {head})"
        fix = "run: admin-app db upgrade"
    else:
        detail = f"is at {at}, not at the newest revision {head}"
        fix = "run: admin-app db upgrade"
    return [Issue("migrations", f"the database {detail}; {fix}")]


async def replica_issues(engine: AsyncEngine, max_lag: float) -> list[Issue]:
    """A read replica that cannot be reached, is no standby, or is too far behind now."""
    try:
        async with engine.connect() as connection:
            recovering, *state = (await connection.execute(LAG_QUERY)).one()
    except Exception as error:  # every way of failing to connect is one report
        from admin_app.cli.common import describe  # the CLI package imports this module

        return [_replica(engine, f"cannot be reached: {describe(error)}; reads use the primary")]
    if not recovering:
        return [
            _replica(
                engine,
                "is not a standby (pg_is_in_recovery() is false): writes made on the primary "
                "never reach it; list streaming replicas of DATABASE_URL only",
            )
        ]
    lag = lag_from(recovering, *state)
    if lag > max_lag:
        behind = "an unknown time" if math.isinf(lag) else f"{lag:.0f} s"
        return [
            _replica(
                engine,
                f"is {behind} behind, more than REPLICA_MAX_LAG={max_lag:g}: reads use the "
                "primary until it catches up",
            )
        ]
    return []


def _replica(engine: AsyncEngine, message: str) -> Issue:
    return Issue("DATABASE_REPLICA_URLS", f"{display(engine.url)} {message}")


async def sso_issues(settings: Settings, engine: AsyncEngine) -> list[Issue]:
    """With single sign-on on: the provider answers as `OIDC_ISSUER`, and every role of
    `OIDC_ROLE_MAP` exists (a missing one would silently give nobody that role)."""
    if not settings.sso_enabled:
        return []
    try:
        await OidcClient(settings).metadata()
    except OidcError as error:
        return [Issue("OIDC_ISSUER", f"{settings.oidc_issuer}: {error}")]
    wanted = set(settings.oidc_role_map.values()) - {SUPERUSER}
    try:
        async with engine.connect() as connection:
            found = set((await connection.scalars(select(Role.name))).all())
    except Exception:  # the database checks report an unreachable database
        return []
    missing = sorted(wanted - found)
    if not missing:
        return []
    return [
        Issue(
            "OIDC_ROLE_MAP",
            f"names roles that do not exist: {', '.join(missing)}; create them "
            "(Administration → Roles) or correct the map",
        )
    ]
