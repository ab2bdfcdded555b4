"""Resource exhaustion predictions for every capacity series in the history: where it is, where it is heading
(a Theil-Sen trend, so one spike or a gap does not bend it), and when it will cross the exhaustion threshold
(80 % by default, H2's) if that is within the horizon.

A capacity series is one whose unit is a ratio (signals.py, or a name ending in `_ratio`); one that counts
what is left (`..._remaining_ratio`) runs out when it falls below 1 - threshold. Pure.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from healer_common.contract.signals import METRICS
from healer_common.durations import spoken_duration
from services.memory_bridge.analysis.history import Series
from services.memory_bridge.analysis.report import ExhaustionForecast
from services.memory_bridge.analysis.stats import theil_sen

DAY_S = 86_400.0
MIN_POINTS = 10
MIN_SPAN_S = 3_600.0


def limit_of(name: str, threshold: float) -> tuple[float, int] | None:
    """The level at which the series is exhausted and the direction it gets there in (+1 up, -1 down)."""
    signal = METRICS.get(name)
    if not (name.endswith("_ratio") or (signal is not None and signal.unit == "ratio")):
        return None
    return (1 - threshold, -1) if "remaining" in name else (threshold, 1)


def _forecast(series: Series, now: dt.datetime, limit: float, direction: int, horizon_s: float) -> ExhaustionForecast:
    t0 = float(series.times[0])
    slope, intercept = theil_sen(series.times - t0, series.values)
    current = intercept + slope * (now.timestamp() - t0)
    exhausted_at: dt.datetime | None = None
    if direction * current >= direction * limit:
        exhausted_at = now
        outlook = "already past it"
    elif direction * slope > 0 and (limit - current) / slope <= horizon_s:
        exhausted_at = now + dt.timedelta(seconds=(limit - current) / slope)
        outlook = f"reaches it in {spoken_duration((limit - current) / slope)} ({exhausted_at:%a %H:%M} UTC)"
    else:
        outlook = "not heading there within the horizon"
    return ExhaustionForecast(
        series=str(series.key),
        namespace=series.key.namespace,
        current=round(current, 4),
        threshold=limit,
        slope_per_day=round(slope * DAY_S, 6),
        exhausted_at=exhausted_at,
        description=f"{series.key} at {current:.0%}, {slope * DAY_S:+.1%} a day, limit {limit:.0%}: {outlook}",
    )


def forecast_exhaustion(
    series: list[Series], now: dt.datetime, threshold: float, horizon_s: float
) -> list[ExhaustionForecast]:
    """A forecast for each capacity series with enough history, the soonest exhausted first."""
    found = []
    for s in series:
        limit = limit_of(s.key.name, threshold)
        if limit is None or len(s.times) < MIN_POINTS or float(np.ptp(s.times)) < MIN_SPAN_S:
            continue
        found.append(_forecast(s, now, limit[0], limit[1], horizon_s))
    far = now + dt.timedelta(days=36_500)
    return sorted(found, key=lambda f: f.exhausted_at or far)
