"""A series' daily profile, as the trend keeps it: the mean of each `slot_s` slot over the last few days.

trend.py adds every closed sample and asks, once per slot, for the shape of an earlier day around the same
hours (`DailyProfile.shape`): the window's times and the horizon, a day (or two) before. This is state the
detector legitimately learns about a series, as its anomaly baselines do; predict_linear has no such memory,
which bench/trend.py reports (with and without it).

The shape is a quadratic fitted to the slot means around those hours (weighted by their sample counts), not
the raw means: each mean carries the noise of its few samples, and on a smooth daily swing the fit averages
it away, halving the forecast's error where a crossing near a daily peak makes every hundredth count.
24 bytes a slot: two days of quarter hours are about 5 KiB per followed series.
"""

from __future__ import annotations

import numpy as np

from services.detector.trend_fit import DayShape, Floats

DAY_S = 86_400.0
MARGIN_SLOTS = 2  # slots fitted beyond each end, so the ends of the span are not extrapolated


class DailyProfile:
    def __init__(self, *, slot_s: float, days: int, reach_s: float) -> None:
        """`reach_s`: how far around the day-old hours a shape may look (the window and the horizon)."""
        self.slot_s = slot_s
        size = int(((days + 1) * DAY_S + reach_s) // slot_s) + 2 * MARGIN_SLOTS + 2  # a day more: for rhythm()
        self._sum = np.zeros(size)
        self._count = np.zeros(size)
        self._number = np.full(size, np.iinfo(np.int64).min, np.int64)  # which absolute slot each entry holds

    def add(self, time: float, value: float) -> None:
        number = int(time // self.slot_s)
        index = number % self._number.size
        if self._number[index] != number:
            self._number[index], self._sum[index], self._count[index] = number, 0.0, 0.0
        self._sum[index] += value
        self._count[index] += 1

    def rhythm(self) -> float:
        """How much a day repeats: the spread of differences from a day ago over that from half a day ago
        (near 0 for a daily rhythm, above 1 for a wandering series; NaN until both are known).

        A daily swing makes half-day differences large and day differences small; a trend or a random walk
        makes a day's differences larger than half a day's."""
        day = round(DAY_S / self.slot_s)
        seen = self._number > np.iinfo(np.int64).min
        means = np.where(seen, self._sum / np.maximum(self._count, 1), np.nan)
        by_number = dict(zip(self._number[seen].tolist(), means[seen].tolist(), strict=True))
        pairs = {
            lag: [by_number[n] - by_number[n - lag] for n in by_number if n - lag in by_number]
            for lag in (day, day // 2)
        }
        if min(len(found) for found in pairs.values()) < day - 2 * MARGIN_SLOTS:  # a whole day of them
            return float("nan")
        return float(np.std(pairs[day]) / max(np.std(pairs[day // 2]), 1e-12))

    def shape(self, past: Floats, future: Floats, days_ago: int) -> DayShape | None:
        """The profile `days_ago` days before the given times, or None if those hours were not all seen."""
        shift = days_ago * DAY_S
        first = int((past[0] - shift) // self.slot_s) - MARGIN_SLOTS
        numbers = np.arange(first, int((future[-1] - shift) // self.slot_s) + MARGIN_SLOTS + 1)
        index = numbers % self._number.size
        seen = self._number[index] == numbers
        if not seen[MARGIN_SLOTS:-MARGIN_SLOTS].all():
            return None
        counts = self._count[index][seen]
        means = self._sum[index][seen] / counts
        centre = (past[-1] - shift) / self.slot_s
        u = numbers[seen] + 0.5 - centre  # slot centres, in slots from the day-old "now"
        design = np.column_stack([np.ones(u.size), u, u * u])
        weighted = design * counts[:, None]
        inverse = np.linalg.inv(design.T @ weighted)
        coef = inverse @ (weighted.T @ means)
        misfit = means - design @ coef
        variance = float(misfit @ (misfit * counts)) / max(1, u.size - 3)  # per sample

        def along(times: Floats) -> Floats:
            v = (times - shift) / self.slot_s - centre
            return np.column_stack([np.ones(v.size), v, v * v])

        ahead = along(future)
        errors = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", ahead, inverse * variance, ahead), 0.0))
        return DayShape(past=along(past) @ coef, future=ahead @ coef, future_errors=errors)
