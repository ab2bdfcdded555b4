"""The anomaly baseline's clock: one mean per series per `detector.anomaly.step_s` (5 minutes), so a baseline of
`baseline_points` steps holds `baseline_points x step_s` of history (4,032 x 5 min = two weeks) whatever the
scrape interval, where one point per sample held 5.6 hours at 10 s.

Each series' samples are averaged over its current step; the mean goes to the scorer (baselines.py) when the
first sample of a later step arrives, dated by the step's last sample. Pure; evaluation.py puts it in front of
the baselines.
"""

from __future__ import annotations

import numpy as np

from services.detector.series import MetricBatch

_Step = tuple[int, float, int, float]  # step number, sum, count, last sample time


class StepMeans:
    def __init__(self, step_s: float) -> None:
        self.step_s = step_s
        self._open: dict[int, _Step] = {}

    def fold(self, batches: dict[str, MetricBatch]) -> dict[str, MetricBatch]:
        """The means of the steps these samples closed, by metric (series with no closed step are left out)."""
        closed: dict[str, MetricBatch] = {}
        for metric, batch in batches.items():
            numbers: list[int] = []
            values: list[float] = []
            times: list[float] = []
            for number, value, when in zip(
                batch.series.tolist(), batch.values.tolist(), batch.times.tolist(), strict=True
            ):
                step = int(when // self.step_s)
                current = self._open.get(number)
                if current is not None and current[0] != step:
                    numbers.append(number)
                    values.append(current[1] / current[2])
                    times.append(current[3])
                    current = None
                total, count = (current[1], current[2]) if current is not None else (0.0, 0)
                self._open[number] = (step, total + value, count + 1, when)
            if numbers:
                closed[metric] = MetricBatch(
                    np.asarray(numbers, np.int64), np.asarray(values, np.float64), np.asarray(times, np.float64)
                )
        return closed
