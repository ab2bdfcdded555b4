"""The state of one metric rule over every series it watches, as numpy arrays: one "lane" per series.

A batch of samples updates all its lanes at once (`Lanes.observe`); the timer looks at every lane at once
(`Lanes.due`). Python-level work happens only for lanes that change state (fire, resolve, escalate), which is
what lets one process keep up with hundreds of thousands of samples a second.

Per lane: the limits (threshold, clear level, for/resolve durations, critical level) resolved for its
series' cluster and namespace; when the breach began; when the recovery began; whether it fires; the last
value and time; a small ring of recent values for evidence; and, for growth checks, two checkpoints of the
series a window apart and the peak since the last dip.

Comparisons are made on `sign * value` so one code path serves "above" (sign 1) and "below" (sign -1) rules.
Pure; thresholds.py owns the lanes and turns their transitions into alerts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from services.detector.rules.model import Limits

RECENT = 8
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_FLOAT_FIELDS = (
    "sthreshold",
    "sclear",
    "scritical",
    "for_s",
    "resolve_for_s",
    "breach_since",
    "clear_since",
    "last_value",
    "last_time",
    "last_gap",
    "window",
)
_GROWTH_FIELDS = ("ref_value", "ref_time", "cur_value", "cur_time", "peak")  # only growth checks keep these


@dataclass(frozen=True)
class Transitions:
    """Lanes that changed state in one update, each with the time it happened."""

    fire: Ints
    resolve: Ints
    escalate: Ints
    at: Floats  # per lane of the update (indexed like the lanes passed in), or the tick's time

    def __bool__(self) -> bool:
        return bool(self.fire.size or self.resolve.size or self.escalate.size)


class Lanes:
    def __init__(self, sign: float, check: Literal["threshold", "growing"], capacity: int = 1024) -> None:
        self.sign = sign
        self.check = check
        self.size = 0
        self.series = np.zeros(capacity, np.int64)
        self.firing = np.zeros(capacity, np.bool_)
        self.critical = np.zeros(capacity, np.bool_)
        self.pos = np.zeros(capacity, np.int8)
        self.recent = np.full((capacity, RECENT), np.nan)
        self._floats = _FLOAT_FIELDS + (_GROWTH_FIELDS if check == "growing" else ())
        for name in self._floats:
            setattr(self, name, np.full(capacity, np.nan))

    # declared for the type checker; set in __init__ from _FLOAT_FIELDS
    sthreshold: Floats
    sclear: Floats
    scritical: Floats
    for_s: Floats
    resolve_for_s: Floats
    breach_since: Floats
    clear_since: Floats
    last_value: Floats
    last_time: Floats
    last_gap: Floats
    ref_value: Floats
    ref_time: Floats
    cur_value: Floats
    cur_time: Floats
    peak: Floats
    window: Floats

    def add(self, series: int, limits: Limits) -> int:
        """A new lane for `series` with its limits; returns the lane number."""
        if self.size == len(self.series):
            self._grow()
        lane, s = self.size, self.sign
        self.size += 1
        self.series[lane] = series
        self.sthreshold[lane] = s * limits.threshold
        self.sclear[lane] = s * limits.clear
        self.scritical[lane] = s * limits.critical if limits.critical is not None else np.inf
        growth = self.check == "growing"  # a growth check fires as soon as it has grown over its window
        self.window[lane] = limits.for_s if growth else 0.0
        self.for_s[lane] = 0.0 if growth else limits.for_s
        self.resolve_for_s[lane] = limits.resolve_for_s
        return lane

    def _grow(self) -> None:
        capacity = len(self.series) * 3 // 2
        for name in ("series", "firing", "critical", "pos", *self._floats):
            old = getattr(self, name)
            new = np.full(capacity, np.nan) if old.dtype == np.float64 else np.zeros(capacity, old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
        recent = np.full((capacity, RECENT), np.nan)
        recent[: len(self.recent)] = self.recent
        self.recent = recent

    def observe(self, lanes: Ints, values: Floats, times: Floats) -> Iterator[tuple[Ints, Transitions]]:
        """Apply samples in time order per lane (a lane seen twice in a batch is applied twice, in order)."""
        for chosen in _rounds(lanes, times):
            lane, value, when = lanes[chosen], values[chosen], times[chosen]
            yield lane, self._apply(lane, value, when)

    def _apply(self, lane: Ints, value: Floats, when: Floats) -> Transitions:
        breached, cleared = self._judge(lane, value, when)
        since = self.breach_since[lane]
        since = np.where(breached, np.where(np.isnan(since), when, since), np.nan)
        self.breach_since[lane] = since
        firing = self.firing[lane]
        calm = self.clear_since[lane]
        calm = np.where(firing & cleared, np.where(np.isnan(calm), when, calm), np.nan)
        self.clear_since[lane] = calm
        self.last_value[lane] = value
        gap = when - self.last_time[lane]
        self.last_gap[lane] = np.where(gap > 0, gap, self.last_gap[lane])  # samples of one scrape are not a cadence
        self.last_time[lane] = when
        self.recent[lane, self.pos[lane]] = value
        self.pos[lane] = (self.pos[lane] + 1) % RECENT
        fire = ~firing & breached & (when - since >= self.for_s[lane])
        resolve = firing & cleared & (when - calm >= self.resolve_for_s[lane])
        escalate = firing & ~self.critical[lane] & (self.sign * value >= self.scritical[lane])
        idx = np.arange(lane.size)
        return Transitions(idx[fire], idx[resolve], idx[escalate], when)

    def _judge(self, lane: Ints, value: Floats, when: Floats) -> tuple[Bools, Bools]:
        """Breached and cleared, per sample: beyond the threshold / back past the clear level, or growing."""
        if self.check == "threshold":
            signed = self.sign * value
            return signed >= self.sthreshold[lane], signed < self.sclear[lane]
        return self._growing(lane, value, when)

    def _growing(self, lane: Ints, value: Floats, when: Floats) -> tuple[Bools, Bools]:
        """Growth over the last one to two windows with no dip deeper than the tolerance (sclear) since."""
        fresh = np.isnan(self.cur_time[lane]) | (value < self.peak[lane] - self.sclear[lane])
        for name, source in (("ref_value", value), ("ref_time", when), ("cur_value", value), ("cur_time", when)):
            getattr(self, name)[lane[fresh]] = source[fresh]
        self.peak[lane] = np.where(fresh, value, np.fmax(self.peak[lane], value))
        window = self.window[lane]
        rotate = when - self.cur_time[lane] >= window
        turned = lane[rotate]
        self.ref_value[turned], self.ref_time[turned] = self.cur_value[turned], self.cur_time[turned]
        self.cur_value[turned], self.cur_time[turned] = value[rotate], when[rotate]
        old_enough = when - self.ref_time[lane] >= window
        growing = old_enough & (value - self.ref_value[lane] >= self.sthreshold[lane])
        return growing, ~growing

    def due(self, now: float, stale_after: float) -> tuple[Transitions, Ints]:
        """The timer's view: breaches held long enough, recoveries held long enough, and stale lanes.

        A breach fires on the timer only while its series still reports: one that missed two of its samples
        (the gap between its last two, plus a second) has ended, as a deleted pod's memory series does, and
        fires nothing; Prometheus drops a pending alert whose series went stale in the same way."""
        n = self.size
        since, calm, last = self.breach_since[:n], self.clear_since[:n], self.last_time[:n]
        firing = self.firing[:n]
        stale = ~np.isnan(last) & (now - last > stale_after)
        gap = self.last_gap[:n]
        ended = ~np.isnan(gap) & (now - last > 2 * gap + 1.0)
        fire = ~firing & ~stale & ~ended & ~np.isnan(since) & (now - since >= self.for_s[:n])
        resolve = firing & (stale | (~np.isnan(calm) & (now - calm >= self.resolve_for_s[:n])))
        idx = np.arange(n)
        at = np.full(n, now)
        return Transitions(idx[fire], idx[resolve], np.zeros(0, np.int64), at), idx[stale]

    def forget(self, lanes: Ints) -> None:
        """Reset lanes whose series went silent; they start afresh if it reports again."""
        for name in (
            "breach_since",
            "clear_since",
            "last_time",
            "last_value",
            "last_gap",
            *self._floats[len(_FLOAT_FIELDS) :],
        ):
            getattr(self, name)[lanes] = np.nan
        self.firing[lanes] = False
        self.critical[lanes] = False
        self.recent[lanes] = np.nan

    def recent_values(self, lane: int) -> list[float]:
        """The last few values, oldest first, for an alert's evidence."""
        ring = np.roll(self.recent[lane], -int(self.pos[lane]))
        return [float(v) for v in ring if not np.isnan(v)]


def _rounds(lanes: Ints, times: Floats) -> Iterator[Ints]:
    """Index sets in which each lane appears once, in time order per lane."""
    everything = np.arange(lanes.size)
    if np.unique(lanes).size == lanes.size:
        yield everything
        return
    order = np.lexsort((times, lanes))
    ordered = lanes[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    rank = everything - np.maximum.accumulate(np.where(starts, everything, 0))
    for r in range(int(rank.max()) + 1):
        yield order[rank == r]
