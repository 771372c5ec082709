"""Structured logs: one JSON object per line on stdout, configured once per process.

Everything goes through the standard `logging` module (the app's own loggers,
uvicorn's, SQLAlchemy's) and structlog's `ProcessorFormatter` renders each record:
context bound for the current request (its id) is merged in, values that could hold
a secret are masked, and the result is one JSON line. The app's code keeps using
`logging.getLogger(__name__)`, with structured fields passed as `extra=`.

Nothing is configured at import time or in `create_app`: the process entry points
(`admin-app serve`, the ASGI `admin_app.main:app`) call `configure_logging`, so tests
and applications that embed the app keep their own logging.
"""

from __future__ import annotations

import functools
import logging
import logging.config
import os
import re
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import IO, Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from admin_app.settings import Settings

MASK = "[redacted]"

SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|hash|cookie|authori[sz]ation|csrf|otp|credential", re.I
)
"""A field whose name matches is never written, whatever its value."""

_NAMES = r"password|passwd|secret|token|csrftoken|api_key|otp"
_SENSITIVE_TEXT = [
    # argon2 hashes, as stored in admin_user.password_hash
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s'\",)\]]+"), MASK),
    # key=value pairs in query strings and form dumps
    (re.compile(rf"((?:{_NAMES})=)[^\s&'\",;)]+", re.I), rf"\1{MASK}"),
    # 'key': 'value' in dict reprs
    (re.compile(rf"(['\"](?:{_NAMES})['\"]\s*:\s*['\"])[^'\"]*", re.I), rf"\1{MASK}"),
    (re.compile(r"(Bearer\s+)[\w.~+/=-]+", re.I), rf"\1{MASK}"),
    # the token in a password-reset or invitation link's path: whoever has it owns the
    # account. (A route template's `{token}` is no token.)
    (re.compile(r"(/(?:password-reset|invitation)/)[\w.~%-]+"), rf"\1{MASK}"),
    # passwords inside URLs: scheme://user:password@host. Every part is bounded: an
    # unbounded `\w[\w+.-]*://` tried at each letter of a 20 kB word took seconds (quadratic),
    # and blocked the event loop whenever a long request value was logged (`make stress`).
    (re.compile(r"\b([A-Za-z][\w+.-]{0,31}://[^:/\s@]{1,256}:)[^@\s/]{1,256}@"), rf"\1{MASK}@"),
]
"""Secrets that may turn up inside a message or a traceback; masked in place."""

QUIET_LOGGERS = ("uvicorn.access",)
"""The request middleware writes one access line per request; uvicorn's would repeat it
(with the raw path, which may carry tokens)."""


_MAYBE_SECRET = re.compile(r"\$argon2|=|bearer|['\"]\s*:|://|password-reset/|invitation/", re.I)
"""Something one of the patterns above needs: text without any is returned as is, at once
(a timestamp, a route, an address)."""


def redact_text(text: str) -> str:
    """`text` with anything that looks like a hash, token or password masked."""
    if not _MAYBE_SECRET.search(text):
        return text
    for pattern, replacement in _SENSITIVE_TEXT:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=1024)
def _sensitive_key(key: str) -> bool:
    return SENSITIVE_KEY.search(key) is not None


def redact(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """structlog processor: mask sensitive fields and scrub secrets from free text."""
    for key, value in list(event.items()):
        if _sensitive_key(key):
            event[key] = MASK
        elif isinstance(value, str):
            event[key] = redact_text(value)
    return event


def _add_pid(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    event.setdefault("pid", os.getpid())  # tells the workers of one server apart
    return event


def _drop_internal(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    return event


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _add_pid,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]


ACCESS_LOGGER = "admin_app.access"
"""The logger of the one line per request (`admin_app.middleware.observability`)."""

_RECORD_KEYS = frozenset(logging.LogRecord("name", 0, "pathname", 0, "msg", (), None).__dict__)
"""What every `LogRecord` has; the rest of a record's attributes came as `extra=`."""


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, with a direct path for the access line in JSON.

    Every request writes that line, and the processor chain (a copy of the record,
    eleven processors) was a third of its cost, about 3% of a list page's CPU. The
    direct path builds the same event in the same order, masks it with the same
    `redact` and renders it with the same renderer (tests compare the two paths)."""

    def __init__(self, *, json_renderer: Processor | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._json = json_renderer

    def format(self, record: logging.LogRecord) -> str:
        plain = record.name == ACCESS_LOGGER and not (record.exc_info or record.stack_info)
        if self._json is None or not plain:
            return super().format(record)
        extra = {k: v for k, v in record.__dict__.items() if k not in _RECORD_KEYS}
        return self.access_line(record.getMessage(), record.levelname, record.name, extra)

    def access_line(self, message: str, level: str, logger: str, extra: dict[str, Any]) -> str:
        """The JSON line of an access record (`extra` as given to `logging`)."""
        assert self._json is not None
        # In the order of `_shared_processors`, then the formatter's own processors.
        event: EventDict = {"event": message}
        for key, value in structlog.contextvars.get_contextvars().items():
            event.setdefault(key, value)
        event["level"] = level.lower()
        event["logger"] = logger
        event.update(extra)
        _add_pid(None, "", event)
        event["timestamp"] = datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")
        _drop_internal(None, "", event)
        return str(self._json(None, "", redact(None, "", event)))


_access_logger = logging.getLogger(ACCESS_LOGGER)  # looked up once: `getLogger` takes a lock
_direct_handler: logging.StreamHandler[Any] | None = None
"""The handler `configure_logging` set up, when it writes JSON lines (see `write_access_line`)."""


def write_access_line(message: str, extra: dict[str, Any]) -> bool:
    """Write an access line straight through the handler `configure_logging` set up: the
    same line, at the same place, under the same lock, without `logging`'s record and
    dispatch (about 4% of a list page's CPU). False, and nothing written, when logging
    is arranged any other way (a capture handler or filter added, another level or
    format, a write that failed): the caller then logs the record the usual way."""
    handler = _direct_handler
    if handler is None or not _only_through(handler):
        return False
    formatter = handler.formatter
    assert isinstance(formatter, _Formatter)
    line = formatter.access_line(message, "INFO", ACCESS_LOGGER, extra) + handler.terminator
    handler.acquire()
    try:
        handler.stream.write(line)
        handler.flush()
    except Exception:
        return False
    finally:
        handler.release()
    return True


def _only_through(handler: logging.StreamHandler[Any]) -> bool:
    """Whether an INFO record of the access logger would reach `handler` and nothing else,
    unfiltered, and be formatted by the JSON `_Formatter`."""
    logger: logging.Logger | None = _access_logger
    if not _access_logger.isEnabledFor(logging.INFO) or _access_logger.filters:
        return False
    while logger is not None and logger is not logging.root:
        if logger.handlers or not logger.propagate:
            return False
        logger = logger.parent
    handlers = logging.root.handlers
    return (
        len(handlers) == 1
        and handlers[0] is handler
        and not handler.filters
        and handler.level <= logging.INFO
        and isinstance(handler.formatter, _Formatter)
        and handler.formatter._json is not None
    )


def make_formatter(log_format: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The `logging.Formatter` that renders every record (a dictConfig `()` factory)."""
    json_lines = log_format == "json"
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return _Formatter(
        json_renderer=renderer if json_lines else None,
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _drop_internal,
            redact,
            renderer,
        ],
    )


def logging_config(settings: Settings, stream: IO[str] | None = None) -> dict[str, Any]:
    """A `logging.config.dictConfig` that sends every logger to one handler on `stream`."""
    level = settings.log_level.upper()
    handler: dict[str, Any] = {"class": "logging.StreamHandler", "formatter": "structured"}
    # By name, not object, so uvicorn can hand this dict to the worker processes it spawns.
    handler["stream"] = stream if stream is not None else "ext://sys.stdout"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": "admin_app.observability.logs.make_formatter",
                "log_format": settings.log_format,
            }
        },
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn installs handlers of its own on these unless told otherwise
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            **{name: {"handlers": [], "propagate": False} for name in QUIET_LOGGERS},
            # starlette-admin describes every view at INFO when the app is built.
            "starlette_admin": {"level": "WARNING" if level == "INFO" else level},
        },
    }


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Send all logs of this process, as JSON lines (or console lines), to `stream` (stdout)."""
    logging.config.dictConfig(logging_config(settings, stream))
    global _direct_handler
    handlers = logging.root.handlers
    direct = handlers[0] if len(handlers) == 1 else None
    _direct_handler = direct if isinstance(direct, logging.StreamHandler) else None
    # No line written shows where a call was made, nor its thread's or process's name
    # (`_add_pid` adds the pid): the logging HOWTO's "Optimization" settings skip
    # working them out for every record. 5% of a list page's CPU, which writes one line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind_request(request_id: str) -> Any:
    """Attach `request_id` to every log line written while this request runs."""
    return structlog.contextvars.bind_contextvars(request_id=request_id)


def unbind_request(tokens: MutableMapping[str, Any]) -> None:
    """Undo `bind_request`."""
    structlog.contextvars.reset_contextvars(**tokens)
