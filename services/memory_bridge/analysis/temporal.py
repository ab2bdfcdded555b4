"""Temporal patterns: "Monday 09:00: queue_depth in cto at 3x its normal level", with how significant that is.

Every alert rate (per alert id and namespace) and every metric series is laid on an hourly grid. An hour of
the day that is high on most days is a daily pattern; an hour of the week that is high on its own is a weekly
one (one week of history shows a weekly hour once; more weeks make it surer). "High" is at least twice the
normal level and significant after a Bonferroni correction over every hour tested in every signal:

    alert rates   normal = the mean rate of the other hours; a Poisson test of the hour's count
    series        normal = the median hourly mean; spread = 1.4826 MAD; a z test of the hour's mean

A series pattern predicts the alert its kind of load leads to: the catalogue's temporal mapping (queue depth:
H7, usage ratios: H2, container memory: H8, databases: H6, network and probes: H5). Pure.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from healer_common.contract.catalogue import metric_alerts
from services.memory_bridge.analysis.history import Series
from services.memory_bridge.analysis.report import TemporalPattern
from services.memory_bridge.analysis.stats import beta_mean, normal_sf, poisson_sf, robust_centre_spread
from services.memory_bridge.occurrences import Occurrence

HOUR_S = 3600
MIN_RATIO = 2.0
MIN_Z = 3.0
ALPHA = 0.01
DAILY_SHARE = 0.6
MIN_DAYS = 3
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SERIES_ALERTS = metric_alerts()


def series_alert(name: str) -> str | None:
    return SERIES_ALERTS.get(name)


Source = Literal["alerts", "series"]


@dataclass(frozen=True)
class _Candidate:
    signal: str
    source: Source
    namespace: str | None
    weekday: int | None
    hour: int
    ratio: float
    p_raw: float
    support: int
    observed: int
    high: int
    predicts: str | None


@dataclass(frozen=True)
class Grid:
    """Whole hours from the window's first to its last."""

    start: dt.datetime
    hours: int

    @classmethod
    def of(cls, start: dt.datetime, end: dt.datetime) -> Grid:
        first = start.replace(minute=0, second=0, microsecond=0)
        return cls(first, max(1, int((end - first).total_seconds() // HOUR_S)))

    def index(self, epoch: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        return ((epoch - self.start.timestamp()) // HOUR_S).astype(np.intp)

    def slots(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Weekday and hour of day of each grid hour."""
        times = [self.start + dt.timedelta(hours=h) for h in range(self.hours)]
        return np.asarray([t.weekday() for t in times]), np.asarray([t.hour for t in times])


def _count_candidates(grid: Grid, signal: str, namespace: str | None, times: list[float]) -> list[_Candidate]:
    counts = np.bincount(np.clip(grid.index(np.asarray(times)), 0, grid.hours - 1), minlength=grid.hours)
    weekdays, hours = grid.slots()
    found = []
    for weekday, mask in [(None, hours == h) for h in range(24)] + [
        (w, (weekdays == w) & (hours == h)) for w in range(7) for h in range(24)
    ]:
        if not mask.any() or mask.all():
            continue
        observed, n = int(counts[mask].sum()), int(mask.sum())
        normal = float(counts[~mask].mean())
        ratio = (observed / n) / normal if normal > 0 else math.inf
        days_high = int((counts[mask] > normal).sum())
        if weekday is None and (n < MIN_DAYS or days_high < DAILY_SHARE * n):
            continue
        hour = int(hours[mask][0])
        p_raw = poisson_sf(observed, max(normal, 1 / grid.hours) * n)
        found.append(
            _Candidate(signal, "alerts", namespace, weekday, hour, ratio, p_raw, observed, n, days_high, signal)
        )
    return found


def _series_candidates(grid: Grid, series: Series) -> list[_Candidate]:
    index = np.clip(grid.index(series.times), 0, grid.hours - 1)
    sums = np.bincount(index, weights=series.values, minlength=grid.hours)
    seen = np.bincount(index, minlength=grid.hours)
    has = seen > 0
    means = np.where(has, sums / np.maximum(seen, 1), np.nan)
    centre, spread = robust_centre_spread(means[has])
    if centre <= 0:
        return []
    weekdays, hours = grid.slots()
    found = []
    for weekday, mask in [(None, has & (hours == h)) for h in range(24)] + [
        (w, has & (weekdays == w) & (hours == h)) for w in range(7) for h in range(24)
    ]:
        n = int(mask.sum())
        if n == 0:
            continue
        level = float(means[mask].mean())
        high = (means[mask] - centre) / spread >= MIN_Z
        if weekday is None and (n < MIN_DAYS or high.sum() < DAILY_SHARE * n):
            continue
        z = (level - centre) / spread * math.sqrt(n)
        hour = int(hours[mask][0])
        key = series.key
        predicts = series_alert(key.name)
        highs = int(high.sum())
        found.append(
            _Candidate(
                str(key),
                "series",
                key.namespace,
                weekday,
                hour,
                level / centre,
                normal_sf(z),
                highs,
                n,
                highs,
                predicts,
            )
        )
    return found


def _describe(c: _Candidate, p_value: float) -> str:
    when = f"{WEEKDAYS[c.weekday]} {c.hour:02d}:00" if c.weekday is not None else f"every day {c.hour:02d}:00"
    what = f"{c.signal} alerts in {c.namespace or 'the cluster'}" if c.source == "alerts" else c.signal
    level = "rate" if c.source == "alerts" else "level"
    return f"{when}: {what} at {c.ratio:.1f}x the normal {level} (p = {p_value:.1e})"


def find_temporal_patterns(
    occurrences: list[Occurrence], series: list[Series], start: dt.datetime, end: dt.datetime, min_support: int
) -> list[TemporalPattern]:
    grid = Grid.of(start, end)
    by_alert: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for o in occurrences:
        if not o.is_change:
            by_alert[(o.key, o.namespace)].append(o.time.timestamp())
    candidates = [c for (key, ns), times in by_alert.items() for c in _count_candidates(grid, key, ns, times)]
    candidates += [c for s in series if len(s.times) for c in _series_candidates(grid, s)]
    tests = max(1, len(candidates))
    daily = {(c.signal, c.namespace, c.hour) for c in candidates if c.weekday is None and _keeps(c, tests, min_support)}
    found = []
    for c in candidates:
        if not _keeps(c, tests, min_support) or (c.weekday is not None and (c.signal, c.namespace, c.hour) in daily):
            continue
        p_value = min(1.0, c.p_raw * tests)
        found.append(
            TemporalPattern(
                signal=c.signal,
                source=c.source,
                namespace=c.namespace,
                weekday=c.weekday,
                hour=c.hour,
                ratio=round(c.ratio, 2) if math.isfinite(c.ratio) else 999.0,
                p_value=p_value,
                support=c.support,
                observed=c.observed,
                probability=round(beta_mean(c.high, c.observed - c.high), 4),
                predicts=c.predicts,
                description=_describe(c, p_value),
            )
        )
    return sorted(found, key=lambda p: (p.p_value, -p.ratio))


def _keeps(c: _Candidate, tests: int, min_support: int) -> bool:
    enough = c.support >= min_support if c.source == "alerts" else c.support >= 1
    return enough and c.ratio >= MIN_RATIO and c.p_raw * tests <= ALPHA
