"""How a signal's value is said to a person, by its unit (signals.py gives every metric one): alert summaries,
evidence and forecasts read `87 %`, `430 GiB`, `expires in 5 days`, `1,523`, not `0.8712`, `4.617e+11` or
`431994`. Pure; the detector's rules and memory's forecasts call it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from healer_common.contract.signals import METRICS
from healer_common.durations import spoken_duration

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
MINUTE_S = 60.0


def _number(value: float) -> str:
    """Two or three significant digits, never an exponent: 0.05, 2.3, 87, 1,523, 1,234,567."""
    size = abs(value)
    if size >= 100 or value == int(value):
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}" if size >= 1e-4 else f"{value:.1e}"


def _bytes(value: float) -> str:
    exponent = min(int(math.log(abs(value), 1024)), len(_BINARY) - 1) if abs(value) >= 1 else 0
    return f"{_number(value / 1024**exponent)} {_BINARY[exponent]}"


def _seconds(value: float) -> str:
    if abs(value) < MINUTE_S:
        return f"{_number(value)} s"
    return ("-" if value < 0 else "") + spoken_duration(abs(value))


_SAID: dict[str, Callable[[float], str]] = {
    "ratio": lambda value: f"{_number(value * 100)} %",
    "seconds": _seconds,
    "bytes": _bytes,
    "per_second": lambda value: f"{_number(value)}/s",
    "boolean": lambda value: "yes" if value >= 0.5 else "no",
}


def amount(value: float, unit: str | None) -> str:
    """`value` in `unit` (ratio, seconds, bytes, count, per_second, boolean) as a person reads it."""
    if not math.isfinite(value):
        return str(value)
    return _SAID.get(unit or "", _number)(value)


def per_minute(rate: float, unit: str | None) -> str:
    """A trend's slope: `+0.5 %/min`, `+1.2 GiB/min`, `-12/min`."""
    return f"{'-' if rate < 0 else '+'}{amount(abs(rate), unit)}/min"


def unit_of(metric: str) -> str | None:
    """The unit a metric is documented with, or None for a metric outside the vocabulary."""
    signal = METRICS.get(metric)
    return signal.unit if signal else None
