"""The read API's query parameters, read into typed filters: what `?since=2h&severity=critical&limit=50` asks.

Each list route names its parameters here (`ALERT_PARAMS`, ...), so the OpenAPI document and the parser cannot
disagree. A bad value raises `BadQuery` naming the parameter, the value and how to write it; the route answers
400 with that text. Filters that travel in message headers (an alert's status, severity, cluster, namespace,
fingerprint; a remediation's incident) are matched on headers, so a page is chosen without parsing bodies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import get_args

from healer_common.contract.alerts import SEVERITY_RANK, AlertStatus
from healer_common.contract.remediations import REMEDIATION_STATES
from healer_common.durations import parse_duration

DEFAULT_LIMIT = 100


class BadQuery(ValueError):
    """A query parameter the API cannot read; the message says which, what it got and how to write it."""


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    choices: tuple[str, ...] = ()
    kind: str = "string"


TIME_PARAMS = (
    Param(
        "since", "only what was stored at or after this time: ISO 8601 (2026-11-25T09:00:00Z) or a duration ago (2h)"
    ),
    Param("until", "only what was stored before this time (same forms as since)"),
)
PAGE_PARAMS = (
    Param("limit", f"how many items (default {DEFAULT_LIMIT}; at most api.max_page)", kind="integer"),
    Param("cursor", "the `next` of the previous page: continue with older items", kind="integer"),
)
ALERT_PARAMS = (
    Param("alert_id", "catalogue id, e.g. H8"),
    Param("status", "firing or resolved", choices=get_args(AlertStatus)),
    Param("severity", "info, warning or critical", choices=tuple(SEVERITY_RANK)),
    Param("cluster", "the cluster the alert is about"),
    Param("namespace", "the namespace the alert is about"),
    Param("fingerprint", "one alert's firings and resolutions"),
    *TIME_PARAMS,
    *PAGE_PARAMS,
)
INCIDENT_PARAMS = (
    Param("state", "open (kept in Redis, default) or resolved (read from the stream)", choices=("open", "resolved")),
    Param("severity", "info, warning or critical", choices=tuple(SEVERITY_RANK)),
    Param("cluster", "the cluster the incident is about"),
    *TIME_PARAMS,
    *PAGE_PARAMS,
)
REMEDIATION_PARAMS = (
    Param("state", "publications in this state, e.g. succeeded", choices=REMEDIATION_STATES),
    Param("incident_id", "the runs of one incident"),
    *TIME_PARAMS,
    *PAGE_PARAMS,
)

# query parameter -> the header that carries it on the bus (subjects.headers_for)
_HEADER_OF = {
    "status": "Healer-Status",
    "severity": "Healer-Severity",
    "cluster": "Healer-Cluster",
    "namespace": "Healer-Namespace",
    "fingerprint": "Healer-Fingerprint",
    "incident_id": "Healer-Incident-Id",
}


@dataclass(frozen=True)
class ListQuery:
    """One list request, read and checked: limits, time bounds, the subject token and the header filters."""

    limit: int = DEFAULT_LIMIT
    cursor: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    token: str | None = None  # the subject token that narrows the stream (alert id, state)
    headers: dict[str, str] = field(default_factory=dict)
    state: str | None = None

    def matches(self, headers: Mapping[str, str]) -> bool:
        return all(headers.get(name) == value for name, value in self.headers.items())


def parse_time(name: str, text: str, now: dt.datetime) -> dt.datetime:
    """An ISO 8601 time with its zone, or a duration ago (`2h` means two hours before now)."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return now - dt.timedelta(seconds=parse_duration(text))
        except ValueError:
            raise BadQuery(
                f"{name}={text!r} is neither a time nor a duration: write 2026-11-25T09:00:00Z or 2h"
            ) from None
    if when.tzinfo is None:
        raise BadQuery(f"{name}={text!r} has no time zone: add Z (UTC) or an offset such as +02:00")
    return when.astimezone(dt.UTC)


def _integer(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadQuery(f"{name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise BadQuery(f"{name}={value} is out of range: use {low} to {high}")
    return value


def _checked(params: tuple[Param, ...], given: Mapping[str, str]) -> dict[str, str]:
    known = {p.name: p for p in params}
    for name, value in given.items():
        param = known.get(name)
        if param is None:
            raise BadQuery(f"unknown parameter {name!r}; this route takes {', '.join(known)}")
        if param.choices and value not in param.choices:
            raise BadQuery(f"{name}={value!r} is not one of {', '.join(param.choices)}")
    return dict(given)


def read_query(
    params: tuple[Param, ...], given: Mapping[str, str], now: dt.datetime, max_page: int, *, narrows: str | None = None
) -> ListQuery:
    """Read a list route's parameters; `narrows` names the one that narrows the subject (alert_id)."""
    values = _checked(params, given)
    since = parse_time("since", values["since"], now) if "since" in values else None
    until = parse_time("until", values["until"], now) if "until" in values else None
    if since is not None and until is not None and since >= until:
        raise BadQuery(f"since ({since.isoformat()}) must come before until ({until.isoformat()})")
    return ListQuery(
        limit=_integer("limit", values["limit"], 1, max_page) if "limit" in values else min(DEFAULT_LIMIT, max_page),
        cursor=_integer("cursor", values["cursor"], 1, 2**63) if "cursor" in values else None,
        since=since,
        until=until,
        token=values.get(narrows) if narrows else None,
        headers={_HEADER_OF[k]: v for k, v in values.items() if k in _HEADER_OF and k != narrows},
        state=values.get("state"),
    )
