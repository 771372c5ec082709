"""The one typed settings object, read from the environment and an optional `.env`.

Nothing else in the package reads `os.environ`. `load_settings()` turns every
invalid value into a `ConfigError` whose message is one line naming the variable,
so the CLI and the ASGI entry point can print it and exit without a traceback.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or image) root: `templates/`, `static/` and `alembic/` live here."""

log = logging.getLogger(__name__)

Environment = Literal["development", "test", "production"]

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "secret-key", "dev", "insecure", "xxx"}
)
"""Values that people leave in `.env` files; refused outside development."""

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class ConfigError(Exception):
    """An invalid setting; the message is one line that names the variable."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the app. Field `foo_bar` is read from the variable `FOO_BAR`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    environment: Environment = "development"
    """`development` (the default), `test` or `production`."""

    data_dir: Path = PROJECT_ROOT / "var"
    """Where the embedded SQLite database, uploads and the dev secret key live."""

    database_url: str = ""
    """SQLAlchemy URL; empty means the embedded SQLite file `<DATA_DIR>/admin_app.db`."""

    database_pooler: Literal["none", "pgbouncer"] = "none"
    """`pgbouncer` when `DATABASE_URL` is a pooler in transaction pooling mode (PgBouncer
    or alike), which hands the server connection to another client after each
    transaction: the app then keeps no prepared statement beyond one round trip."""

    database_direct_url: str = ""
    """PostgreSQL itself, bypassing the pooler, for what needs a session of its own:
    live updates' `LISTEN` and migrations. Empty: `DATABASE_URL`."""

    database_replica_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated PostgreSQL streaming replicas: list pages, search, export,
    relation pickers and dashboard counts read from one of them (docs/deploy.md,
    "Read replicas"); everything else, and every write, uses `DATABASE_URL`."""

    replica_max_lag: float = Field(default=5.0, gt=0, le=3600)
    """Seconds a replica may be behind the primary and still be read from."""

    replica_sticky_seconds: float = Field(default=10.0, ge=0, le=3600)
    """Seconds after a successful write during which that browser reads from the primary,
    so it sees what it has just saved."""

    secret_key: SecretStr | None = None
    """Signs cookies and tokens. Required outside development."""

    secret_key_fallbacks: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    """Comma-separated previous keys: what they signed or encrypted is still accepted,
    while everything new uses `SECRET_KEY`. For rotating the key without logging
    everybody out; remove them once `admin-app rotate-secrets` has run."""

    debug: bool = False
    """Show tracebacks in error pages. Never in production."""

    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"]
    )
    """Comma-separated Host header values the app answers; `*` allows any."""

    https_only: bool = False
    """Redirect to https, mark cookies Secure and send HSTS."""

    db_pool_size: int = Field(default=20, ge=1, le=200)
    """Connections one process may hold (PostgreSQL): every request's queries share
    them; a request waits (`DB_POOL_TIMEOUT`) when all are in use."""

    db_pool_timeout: float = Field(default=30.0, gt=0, le=120)
    """Seconds a request waits for a free connection before failing with 503. Long enough
    that a burst queues (FIFO) while the database answers: 64 clients at once on two
    cores waited up to 5 s, and the old default of 5 turned the tail into 503s."""

    db_connect_timeout: float = Field(default=5.0, gt=0, le=120)
    """Seconds to wait for the database server to accept a connection."""

    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )
    """Proxies whose X-Forwarded-For/-Proto headers are believed; `*` trusts any."""

    session_idle_timeout: int = Field(default=2 * 3600, ge=60)
    """Seconds without a request after which a login session ends."""

    session_absolute_timeout: int = Field(default=12 * 3600, ge=300)
    """Seconds after login at which a session ends however active it is."""

    login_max_failures: int = Field(default=5, ge=1)
    """Failed logins per account within `LOGIN_WINDOW` before further tries are refused."""

    login_max_failures_per_ip: int = Field(default=20, ge=1)
    """Failed logins from one client IP within `LOGIN_WINDOW` before it is refused."""

    login_window: int = Field(default=15 * 60, ge=10)
    """Seconds over which failed logins are counted; also how long a lockout lasts."""

    max_request_size: int = Field(default=8 * 1024 * 1024, ge=1024)
    """Largest request body in bytes (uploads included); larger gets 413."""

    max_form_size: int = Field(default=1024 * 1024, ge=1024)
    """Largest url-encoded form body in bytes; larger gets 413."""

    max_image_size: int = Field(default=5 * 1024 * 1024, ge=1024)
    """Largest product image in bytes."""

    max_import_size: int = Field(default=200 * 1024 * 1024, ge=1024)
    """Largest file in bytes an import job takes (CSV or XLSX); it is streamed to disk."""

    media_dir: Path | None = None
    """Where uploaded files are stored; default `<DATA_DIR>/media`."""

    email_backend: Literal["smtp", "console"] = "console"
    """`smtp` sends through SMTP_HOST; `console` prints messages (still via the outbox)."""

    smtp_host: str = "localhost"
    """SMTP server host."""

    smtp_port: int = Field(default=25, ge=1, le=65535)
    """SMTP server port."""

    smtp_user: str = ""
    """SMTP user name; empty means no authentication."""

    smtp_password: SecretStr = SecretStr("")
    """SMTP password."""

    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    """`starttls` upgrades a plain connection; `tls` is implicit TLS (usually port 465)."""

    email_from: str = "Store Admin <admin@localhost>"
    """The From address of every message."""

    smtp_timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds to wait for the SMTP server to connect or answer a command."""

    public_url: str = ""
    """Base URL of the app for links in emails, e.g. `https://admin.example.com`;
    empty means the URL of the request that queued the message."""

    email_worker: bool = True
    """Run the outbox worker inside the web process (off when `admin-app worker` runs apart)."""

    email_max_attempts: int = Field(default=8, ge=1, le=100)
    """Delivery attempts per message before it is marked dead."""

    email_backoff: float = Field(default=30.0, gt=0, le=86400)
    """Seconds before the first retry; each later retry waits twice as long."""

    email_backoff_max: float = Field(default=3600.0, gt=0, le=7 * 86400)
    """The longest wait between two attempts, in seconds."""

    email_lease: float = Field(default=120.0, gt=0, le=86400)
    """Seconds a claimed message stays reserved for its worker; a crashed worker's
    messages are retried after this."""

    email_batch_size: int = Field(default=50, ge=1, le=1000)
    """Messages a worker claims and sends over one SMTP connection."""

    email_poll_interval: float = Field(default=5.0, gt=0, le=3600)
    """Seconds an idle worker waits before looking for due messages again."""

    email_breaker_threshold: int = Field(default=5, ge=1, le=1000)
    """Consecutive SMTP connection failures that open the circuit breaker."""

    email_breaker_cooldown: float = Field(default=60.0, gt=0, le=86400)
    """Seconds the open breaker waits before trying the SMTP server again."""

    webhook_timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds a webhook endpoint has to answer one delivery; then it counts as failed."""

    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    """Delivery attempts per webhook event before it is dead (a Redeliver brings it back)."""

    webhook_backoff: float = Field(default=30.0, gt=0, le=86400)
    """Seconds before a webhook's first retry; each later retry waits twice as long."""

    webhook_backoff_max: float = Field(default=3600.0, gt=0, le=7 * 86400)
    """The longest wait between two attempts of a webhook delivery, in seconds."""

    webhook_lease: float = Field(default=120.0, gt=0, le=86400)
    """Seconds claimed webhook deliveries stay reserved for their worker; a crashed
    worker's deliveries are retried after this."""

    webhook_batch_size: int = Field(default=50, ge=1, le=1000)
    """Webhook deliveries a worker claims at a time (across all endpoints)."""

    webhook_poll_interval: float = Field(default=1.0, gt=0, le=3600)
    """Seconds the webhook worker waits before looking for due deliveries again."""

    webhook_breaker_threshold: int = Field(default=5, ge=1, le=1000)
    """Consecutive failed deliveries to one endpoint that open its circuit breaker."""

    webhook_breaker_cooldown: float = Field(default=60.0, gt=0, le=86400)
    """Seconds an endpoint's open breaker waits before one trial delivery."""

    trash_retention_days: int = Field(default=30, ge=1, le=36500)
    """Days a deleted customer, product or order stays in the trash before the worker
    deletes it for good (`admin_app.trash.purge`)."""

    password_reset_max_age: int = Field(default=30 * 60, ge=60, le=7 * 86400)
    """Seconds a password-reset link stays valid."""

    invitation_max_age: int = Field(default=3 * 86400, ge=3600, le=30 * 86400)
    """Seconds an invitation link stays valid."""

    password_reset_max_per_email: int = Field(default=3, ge=1)
    """Reset emails one address may be sent within `PASSWORD_RESET_WINDOW`."""

    password_reset_max_per_ip: int = Field(default=10, ge=1)
    """Reset requests one client IP may make within `PASSWORD_RESET_WINDOW`."""

    password_reset_window: int = Field(default=3600, ge=10)
    """Seconds over which reset requests are counted."""

    require_2fa: bool = False
    """Superusers must enroll in two-factor login before using the admin."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Lowest level of log lines written by `admin-app serve` (one JSON object a line)."""

    log_format: Literal["json", "console"] = "json"
    """`json` for log collectors; `console` for people reading a terminal."""

    metrics_token: SecretStr | None = None
    """Bearer token that `/metrics` requires (`Authorization: Bearer <token>`)."""

    metrics_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated client addresses or networks (CIDR) allowed to read `/metrics`."""

    prometheus_multiproc_dir: Path | None = None
    """Directory shared by worker processes for their metrics; `serve --workers N` makes one."""

    graceful_shutdown_timeout: int = Field(default=30, ge=1, le=3600)
    """Seconds `serve` lets in-flight requests finish after SIGTERM before closing them."""

    live_check_interval: float = Field(default=15.0, gt=0, le=3600)
    """Seconds between re-checks of the login sessions behind open live connections
    (one query per process, however many connections). Revocations on PostgreSQL
    are announced at once; this bounds how late an expired session is noticed."""

    live_heartbeat: float = Field(default=20.0, gt=0, le=600)
    """Seconds between keep-alives on `/admin/events` and presence refreshes between
    processes; a process that stops refreshing is forgotten after three of them."""

    live_queue_size: int = Field(default=100, ge=1, le=10_000)
    """Messages queued per live client; a client that falls further behind is told
    to refresh instead of holding up the others."""

    live_max_connections_per_user: int = Field(default=50, ge=1, le=10_000)
    """Live connections (tabs) one account may hold open in each process; more get 429,
    so one account cannot tie up a worker's memory and sockets."""

    admin_host: str = ""
    """The host name that serves the admin (`admin.example.com`); empty: every allowed
    host. Probes, `/metrics` and static files answer on any allowed host."""

    api_host: str = ""
    """The host name that serves `/api` (`api.example.com`); empty: every allowed host."""

    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated origins (`https://app.example.com`) whose pages may call `/api`
    from a browser. Empty: none. `*` is refused: list the origins."""

    api_rate_limit: int = Field(default=600, ge=1, le=1_000_000)
    """Calls one API token may make per `API_RATE_WINDOW`, counted across processes;
    more get 429 with Retry-After."""

    api_rate_window: int = Field(default=60, ge=1, le=86_400)
    """Seconds over which `API_RATE_LIMIT` counts a token's calls."""

    oidc_issuer: str = ""
    """The OpenID Connect provider's issuer URL (its discovery document is
    `<issuer>/.well-known/openid-configuration`); empty: no single sign-on."""

    oidc_client_id: str = ""
    """This app's client id at the provider."""

    oidc_client_secret: SecretStr = SecretStr("")
    """This app's client secret; empty for a public client (PKCE alone)."""

    oidc_scopes: str = "openid email profile"
    """Scopes asked for; add the one that releases the role claim if the provider needs it."""

    oidc_role_claim: str = "groups"
    """The ID token claim (a string or a list of strings) whose values pick roles."""

    oidc_role_map: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """`value=Role,value=Role`: which claim value gives which role (by name). The role
    name `Superuser` makes the account a superuser. Unmapped values give nothing."""

    oidc_provider_name: str = "single sign-on"
    """The label of the login page's button: "Sign in with <name>"."""

    oidc_mfa_amr: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["mfa", "otp", "hwk"]
    )
    """`amr` values of the ID token that count as a second factor done at the provider;
    empty: the app's own two-factor step always applies."""

    oidc_clock_skew: int = Field(default=60, ge=0, le=600)
    """Seconds of clock difference with the provider tolerated for `exp` and `iat`."""

    sso_only: bool = False
    """Turn password sign-in off, except for `SSO_BREAK_GLASS_EMAIL`."""

    sso_break_glass_email: str = ""
    """The one superuser who may still sign in with a password under `SSO_ONLY`."""

    @field_validator(
        "allowed_hosts",
        "forwarded_allow_ips",
        "metrics_allow_ips",
        "api_cors_origins",
        "oidc_mfa_amr",
        mode="before",
    )
    @classmethod
    def _hosts_from_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _replicas_from_csv(cls, value: Any) -> Any:
        urls = _split_csv(value)
        if isinstance(urls, list):
            return [_normalised(url) for url in urls]
        return urls

    @field_validator("secret_key_fallbacks", mode="before")
    @classmethod
    def _keys_from_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", value):
            raise ValueError(
                f"{value!r} is not a base URL; expected for example https://admin.example.com"
            )
        return value

    @field_validator("email_from")
    @classmethod
    def _check_email_from(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError(
                f"{value!r} has no email address; expected for example "
                "'Store Admin <admin@example.com>'"
            )
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one host name, for example 'admin.example.com'")
        return value

    @field_validator("metrics_allow_ips")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network; expected for example "
                    "10.0.0.0/8 or 192.0.2.7"
                ) from None
        return value

    @field_validator("api_cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*":
                raise ValueError(
                    "'*' would let any site call the API; list the origins, "
                    "for example https://app.example.com"
                )
            if not re.fullmatch(r"https?://[^/\s?#]+", origin):
                raise ValueError(
                    f"{origin!r} is not an origin; expected scheme and host only, "
                    "for example https://app.example.com"
                )
        return value

    @field_validator("metrics_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError(
                "must be at least 16 characters; generate one with: openssl rand -hex 32"
            )
        return value

    @field_validator("database_url", "database_direct_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        if not value:
            return value
        return _normalised(value)

    @model_validator(mode="after")
    def _hosts_are_allowed(self) -> Settings:
        for name, host in (("ADMIN_HOST", self.admin_host), ("API_HOST", self.api_host)):
            if host and "*" not in self.allowed_hosts and host not in self.allowed_hosts:
                raise ValueError(
                    f"{name}: {host!r} is not in ALLOWED_HOSTS, so it would be refused; "
                    f"add it there too"
                )
        return self

    @model_validator(mode="after")
    def _secret_key_outside_development(self) -> Settings:
        if self.environment == "development":
            return self
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if key.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "SECRET_KEY: must be set to a long random value outside development "
                f"(ENVIRONMENT={self.environment}); generate one with: python3 -c "
                "'import secrets; print(secrets.token_urlsafe(50))'"
            )
        return self

    @model_validator(mode="after")
    def _pooler_needs_postgresql(self) -> Settings:
        if self.is_sqlite and self.database_pooler != "none":
            raise ValueError(
                f"DATABASE_POOLER: {self.database_pooler} needs DATABASE_URL to be the "
                "pooler's postgresql+asyncpg:// address; SQLite has no pooler"
            )
        direct = self.database_direct_url
        if direct and (self.is_sqlite or make_url(direct).get_backend_name() == "sqlite"):
            raise ValueError(
                "DATABASE_DIRECT_URL: is for PostgreSQL behind a pooler; both it and "
                "DATABASE_URL must be postgresql+asyncpg:// URLs"
            )
        return self

    @model_validator(mode="after")
    def _replicas_need_postgresql(self) -> Settings:
        urls = [make_url(url) for url in self.database_replica_urls]
        if urls and (self.is_sqlite or any(u.get_backend_name() == "sqlite" for u in urls)):
            raise ValueError(
                "DATABASE_REPLICA_URLS: read replicas are PostgreSQL streaming replicas; both "
                "they and DATABASE_URL must be postgresql+asyncpg:// URLs"
            )
        return self

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _role_map(cls, value: Any) -> Any:
        return parse_role_map(value) if isinstance(value, str) else value

    @field_validator("oidc_issuer")
    @classmethod
    def _check_issuer(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not _ISSUER.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an https:// URL (http:// only for localhost or 127.0.0.1); "
                "expected for example https://login.example.com/realms/staff"
            )
        return value

    @model_validator(mode="after")
    def _sso_complete(self) -> Settings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError(
                "OIDC_CLIENT_ID: must be set with OIDC_ISSUER (the app's client id at the provider)"
            )
        if self.sso_only and not self.oidc_issuer:
            raise ValueError(
                "SSO_ONLY: turns password sign-in off, so OIDC_ISSUER and OIDC_CLIENT_ID "
                "must be set"
            )
        if self.sso_break_glass_email and "@" not in self.sso_break_glass_email:
            raise ValueError(
                f"SSO_BREAK_GLASS_EMAIL: {self.sso_break_glass_email!r} is not an email address"
            )
        return self

    @property
    def replica_urls(self) -> list[URL]:
        """The read replicas' URLs (`DATABASE_REPLICA_URLS`), in the order given."""
        return [make_url(url) for url in self.database_replica_urls]

    @property
    def sso_enabled(self) -> bool:
        """Whether sign-in through the OpenID Connect provider is offered."""
        return bool(self.oidc_issuer)

    @property
    def db_url(self) -> URL:
        """The database URL, with the embedded SQLite default filled in."""
        if self.database_url:
            return make_url(self.database_url)
        return make_url(f"sqlite+aiosqlite:///{self.data_dir / 'admin_app.db'}")

    @property
    def direct_db_url(self) -> URL:
        """PostgreSQL without the pooler in between (`DATABASE_URL` when none is set)."""
        if self.database_direct_url:
            return make_url(self.database_direct_url)
        return self.db_url

    def through_pooler(self, url: URL) -> bool:
        """Whether connections to `url` go through a transaction-pooling `DATABASE_POOLER`:
        `DATABASE_URL`, and the replicas (each behind a pooler of its own, when there is one
        in front of the primary)."""
        return self.database_pooler != "none" and (url == self.db_url or url in self.replica_urls)

    @property
    def media_root(self) -> Path:
        """Where uploads live."""
        return self.media_dir or self.data_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.get_backend_name() == "sqlite"

    @property
    def secret(self) -> str:
        """The secret key as a plain string; `load_settings` guarantees one is set."""
        if self.secret_key is None:
            raise ConfigError("SECRET_KEY: not set")
        return self.secret_key.get_secret_value()

    @property
    def secret_keys(self) -> list[str]:
        """Every key that is accepted, the fallbacks first and the current key last: the
        order itsdangerous takes (it signs with the last one)."""
        fallbacks = [key.get_secret_value() for key in self.secret_key_fallbacks]
        return [key for key in fallbacks if key != self.secret] + [self.secret]


_ISSUER = re.compile(
    r"(https://[^/\s?#]+|http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?)(/[^\s?#]*)?"
)


def parse_role_map(value: str) -> dict[str, str]:
    """`admins=Superuser,support=Support` as {claim value: role name}; a value may hold
    `=` (split at the last one), neither side may be empty."""
    mapping: dict[str, str] = {}
    for item in _split_csv(value):
        claim, sep, role = item.rpartition("=")
        if not sep or not claim.strip() or not role.strip():
            raise ValueError(
                f"OIDC_ROLE_MAP: {item!r} is not claim-value=Role name; expected for example "
                "admins=Superuser,support=Support"
            )
        mapping[claim.strip()] = role.strip()
    return mapping


def normalise_database_url(value: str) -> URL:
    """Parse a URL and pick the async driver for its backend, or raise `ValueError`."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(
            f"cannot parse {value!r}; expected for example "
            "postgresql+asyncpg://user:password@host:5432/dbname or sqlite+aiosqlite:///path.db"
        ) from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported database {url.drivername!r}; use postgresql+asyncpg:// "
            "or sqlite+aiosqlite://"
        )
    return url.set(drivername=driver)


def _normalised(value: str) -> str:
    return normalise_database_url(value).render_as_string(hide_password=False)


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    name = "_".join(str(part) for part in first["loc"]).upper()
    message = str(first["msg"]).removeprefix("Value error, ")
    if name and not message.startswith(name):
        message = f"{name}: {message}"
    return f"invalid setting {message}"


def _dev_secret_key(data_dir: Path) -> str:
    """Return the development key kept in `<DATA_DIR>/secret_key`, creating it once."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    log.warning("SECRET_KEY is not set: generated a development key in %s", path)
    return key


def load_settings(*, generate_dev_key: bool = True, **overrides: Any) -> Settings:
    """Read the settings from the environment, or raise `ConfigError` with a one-line message.

    In development a missing `SECRET_KEY` is filled from `<DATA_DIR>/secret_key`
    (made on first use) unless `generate_dev_key` is false, as for `check --deploy`,
    which reports the missing key instead.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None
    if not generate_dev_key:
        return settings
    if settings.secret_key is None and settings.environment == "development":
        try:
            key = _dev_secret_key(settings.data_dir)
        except OSError as error:
            raise ConfigError(
                f"invalid setting DATA_DIR: cannot keep the development key there: {error}"
            ) from None
        settings = settings.model_copy(update={"secret_key": SecretStr(key)})
    return settings
