"""structlog set-up: JSON lines in containers, readable lines on a terminal, one format for every service.

Standard-library logging (faststream, nats, kubernetes) is routed through the same renderer so a service
prints one kind of line. Secrets never reach a log: settings hold them as SecretStr, `redact` masks any key
that looks like one in an event dict, and the password (or NATS token) inside any URL of any value, which
`redact_url` also masks wherever the CLI shows a URL (`healer status`, `healer config show`).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET_KEY = re.compile(r"(token|secret|password|routing_key|api_key|authorization|webhook_url)", re.I)
# scheme://user:password@ or scheme://token@ (NATS takes a bare token there); a query parameter that holds a secret
_USERINFO = re.compile(r"\b(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<userinfo>[^\s/@,]+)@", re.I)
_SECRET_PARAM = re.compile(r"(?P<name>[?&](?:[a-z_]*token|[a-z_]*key|secret|password|sig|signature)=)[^&#\s]+", re.I)
_BARE_TOKEN_SCHEMES = {"nats", "tls", "ws", "wss"}


def _mask_userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match.group("scheme"), match.group("userinfo")
    user, colon, _password = userinfo.partition(":")
    if colon:
        return f"{scheme}://{user}:***@"
    return f"{scheme}://***@" if scheme.lower() in _BARE_TOKEN_SCHEMES else match.group(0)


def redact_url(text: str) -> str:
    """Every URL in `text` (a comma-separated list of them too) with its password, token or secret parameter
    masked: `redis://:hunter2@redis:6379/0` -> `redis://:***@redis:6379/0`."""
    if "://" not in text:
        return text
    return _SECRET_PARAM.sub(r"\g<name>***", _USERINFO.sub(_mask_userinfo, text))


def redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        value = event[key]
        if _SECRET_KEY.search(key) and value not in (None, ""):
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = redact_url(value)
    return event


def configure_logging(level: str = "INFO", fmt: str = "auto", **bound: Any) -> None:
    """Configure structlog and stdlib logging once per process."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # libraries speak only when something is wrong
    structlog.contextvars.clear_contextvars()
    if bound:
        structlog.contextvars.bind_contextvars(**bound)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
