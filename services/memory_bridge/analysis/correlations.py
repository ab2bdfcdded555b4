"""Alert correlations: "A7 in cto is followed by H6 on redis 80 % of the time".

A trigger is an alert id or a change kind in a namespace; its occurrences are merged into episodes (a burst
of A7s on five pods within the window is one episode, not five pieces of evidence). For each trigger with
enough episodes and each alert on a workload of the same namespace, count the episodes followed by that
alert within the window, and compare with chance: the share of all time that lies within one window before
some occurrence of that alert. A pair is reported when it is followed at least half the time, at least twice
as often as chance, and a binomial test against chance is significant after a Bonferroni correction over
every pair tested. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import numpy.typing as npt

from healer_common.durations import format_duration
from services.memory_bridge.analysis.report import Correlation
from services.memory_bridge.analysis.stats import beta_mean, binomial_sf
from services.memory_bridge.occurrences import Occurrence

Trigger = tuple[str, str | None]
Consequence = tuple[str, str | None, str | None]
MIN_RATIO = 0.5
MIN_LIFT = 2.0
ALPHA = 0.01


def episodes(occurrences: list[Occurrence], gap_s: float) -> dict[Trigger, npt.NDArray[np.float64]]:
    """Start times of each trigger's episodes: occurrences closer than `gap_s` to an episode's start join it."""
    starts: dict[Trigger, list[float]] = defaultdict(list)
    for o in occurrences:
        t = o.time.timestamp()
        mine = starts[(o.key, o.namespace)]
        if not mine or t - mine[-1] > gap_s:
            mine.append(t)
    return {key: np.asarray(times) for key, times in starts.items()}


def chance(times: npt.NDArray[np.float64], window_s: float, start: float, end: float) -> float:
    """The share of [start, end] lying within `window_s` before one of `times`."""
    covered, reach = 0.0, start
    for t in times:
        lo, hi = max(t - window_s, reach), min(t, end)
        if hi > lo:
            covered += hi - lo
            reach = hi
    return covered / (end - start) if end > start else 1.0


def _followed(triggers: npt.NDArray[np.float64], alerts: npt.NDArray[np.float64], window_s: float) -> list[float]:
    """For each trigger followed by an alert within the window, the delay to the first one."""
    after = np.searchsorted(alerts, triggers, side="right")
    lags = []
    for t, i in zip(triggers, after, strict=True):
        if i < len(alerts) and alerts[i] - t <= window_s:
            lags.append(float(alerts[i] - t))
    return lags


def _describe(trigger: Trigger, consequence: Consequence, lags: list[float], n: int, lift: float) -> str:
    name, namespace = trigger
    followed, lag_s = len(lags), float(np.median(lags))
    what = f"a {name.removeprefix('change:')}" if name.startswith("change:") else name
    on = f" on {consequence[2]}" if consequence[2] else ""
    lag = format_duration(lag_s, parts=1)
    return (
        f"{what} in {namespace or 'the cluster'} is followed by {consequence[0]}{on} {followed / n:.0%} of the time "
        f"({followed} of {n}, after {lag} at the median; {lift:.0f}x chance)"
    )


def find_correlations(
    occurrences: list[Occurrence], start: dt.datetime, end: dt.datetime, window_s: float, min_support: int
) -> list[Correlation]:
    triggers = {k: t for k, t in episodes(occurrences, window_s).items() if len(t) >= min_support}
    by_alert: dict[Consequence, list[float]] = defaultdict(list)
    for o in occurrences:
        if not o.is_change:
            by_alert[(o.key, o.namespace, o.service)].append(o.time.timestamp())
    alerts = {k: np.sort(np.asarray(v)) for k, v in by_alert.items()}
    t0, t1 = start.timestamp(), end.timestamp()
    tested: list[tuple[Trigger, Consequence, list[float], float]] = []
    for trigger, times in triggers.items():
        for consequence, hits in alerts.items():
            if consequence[1] != trigger[1] or consequence[0] == trigger[0]:
                continue
            lags = _followed(times, hits, window_s)
            tested.append((trigger, consequence, lags, chance(hits, window_s, t0, t1)))
    found = []
    for trigger, consequence, lags, p0 in tested:
        n, k = len(triggers[trigger]), len(lags)
        if k < min_support or k / n < MIN_RATIO or k / n < MIN_LIFT * p0:
            continue
        p_value = min(1.0, binomial_sf(k, n, p0) * len(tested))
        if p_value > ALPHA:
            continue
        lift = (k / n) / p0 if p0 > 0 else float(n)
        lag = float(np.median(lags))
        found.append(
            Correlation(
                trigger=trigger[0],
                namespace=trigger[1],
                predicts=consequence[0],
                service=consequence[2],
                occurrences=n,
                followed=k,
                ratio=k / n,
                probability=beta_mean(k, n - k),
                lift=lift,
                p_value=p_value,
                median_lag_s=lag,
                description=_describe(trigger, consequence, lags, n, lift),
            )
        )
    return sorted(found, key=lambda c: (c.p_value, -c.ratio))
