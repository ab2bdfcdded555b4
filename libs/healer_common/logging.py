"""structlog set-up: JSON lines in containers, readable lines on a terminal, one format for every service.

Standard-library logging (faststream, nats, kubernetes) is routed through the same renderer so a service
prints one kind of line. Secrets never reach a log: settings hold them as SecretStr, and `redact` masks
any key that looks like one in an event dict.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET_KEY = re.compile(r"(token|secret|password|routing_key|api_key|authorization|webhook_url)", re.I)


def redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if _SECRET_KEY.search(key) and event[key] not in (None, ""):
            event[key] = "***"
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
