"""Units the sandbox reads in scenarios and writes in objects: Kubernetes quantities (`512Mi`, `250m`) and
RFC 3339 timestamps as the API server prints them. Durations (`90s`, `5m`, `1h30m`, `3d`) are read in the one
grammar of `healer_common.durations`.
"""

from __future__ import annotations

import datetime as dt
import re

_SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "m": 1e-3,
    "": 1,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$")


def parse_quantity(text: str | int | float) -> float:
    """A Kubernetes quantity as a plain number (bytes, cores): `512Mi` -> 536870912, `250m` -> 0.25."""
    if isinstance(text, int | float):
        return float(text)
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (e.g. 512Mi, 20Gi, 250m, 2)")
    return float(match.group(1)) * _SUFFIXES[match.group(2) or ""]


def format_bytes(value: float) -> str:
    """Bytes as the largest binary suffix that divides them, as `kubectl` shows them: 536870912 -> 512Mi."""
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        unit = _SUFFIXES[suffix]
        if value >= unit and value % unit == 0:
            return f"{int(value // unit)}{suffix}"
    return str(int(value))


def rfc3339(when: dt.datetime) -> str:
    """A timestamp as the API server writes it: UTC, seconds, `Z`."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(when: dt.datetime) -> str:
    """A MicroTime (Events' eventTime, Leases): UTC with microseconds and `Z`."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 timestamp or Unix seconds (as Prometheus and Loki accept them) as an aware datetime."""
    try:
        return dt.datetime.fromtimestamp(float(text), dt.UTC)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither an RFC 3339 timestamp nor Unix seconds") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
