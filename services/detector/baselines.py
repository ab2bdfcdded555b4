"""Anomaly alerts: series of the metrics in `detector.anomaly.metrics` are scored against their own rolling
baseline (anomaly.py); a score of `alert_score` at `sigma` robust standard deviations or more raises the
metric's rule id (H7 for queue_depth, H6 for query latency ...) with label anomaly="true" and severity
warning, resolved once no anomaly has been seen for `resolve_for_s`.

A baseline is two weeks of samples (about a megabyte), so at most `max_series` series get one, first come
first served. Baselines live in this process and are saved to Redis every minute and on shutdown
(baseline_store.py), so a restarted or replacing replica resumes them; see docs/detector.md ("Detector: scaling
out") for what that means with several replicas at once. Pure; evaluation.py feeds it the same batches as
the threshold rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from healer_common.contract.alerts import CATALOGUE, Alert, Evidence, alert_fingerprint
from healer_common.contract.amounts import amount, unit_of
from healer_common.settings.detector import AnomalySettings
from services.detector.anomaly import AnomalyScore, AnomalyScorer, anomaly_params
from services.detector.raising import firing_alert, resolved_alert, utc_at
from services.detector.rules.model import MetricRule
from services.detector.series import MetricBatch, SeriesIndex, resource_of


@dataclass
class Baseline:
    scorer: AnomalyScorer
    alert_id: str
    alert: Alert | None = None
    last_anomaly: float = 0.0


class BaselineEngine:
    def __init__(self, rules: tuple[MetricRule, ...], index: SeriesIndex, cfg: AnomalySettings) -> None:
        self._alert_ids = {m: next((r.alert_id for r in rules if r.metric == m), "H2") for m in cfg.metrics}
        self._index = index
        self._cfg = cfg
        self._baselines: dict[int, Baseline] = {}
        self._saved: dict[str, dict[str, Any]] = {}

    def restore(self, saved: dict[str, dict[str, Any]]) -> None:
        """Baselines a previous process saved (`snapshot`), by series; each is resumed when its series reports."""
        self._saved.update(saved)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every baseline's state by series (`name{labels}` with the cluster), for Redis."""
        return {self._key(n): b.scorer.state() for n, b in self._baselines.items()}

    def _key(self, number: int) -> str:
        series = self._index.series[number]
        return f"{series.cluster}/{series.text()}"

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(self._alert_ids)

    def observe(self, batches: dict[str, MetricBatch], now: dt.datetime) -> list[Alert]:
        alerts: list[Alert] = []
        for metric, alert_id in self._alert_ids.items():
            batch = batches.get(metric)
            if batch is None:
                continue
            for number, value, when in zip(
                batch.series.tolist(), batch.values.tolist(), batch.times.tolist(), strict=True
            ):
                baseline = self._baselines.get(number) or self._start(number, alert_id)
                if baseline is not None:
                    found = baseline.scorer.observe(when, value)
                    alerts += self._judge(number, baseline, found, when=when, value=value, now=now)
        return alerts

    def _with_baseline(self, batch: MetricBatch) -> npt.NDArray[np.bool_]:
        """All samples while baselines can still be started; after that, only those of series that have one."""
        if len(self._baselines) < self._cfg.max_series:
            return np.ones(batch.series.size, np.bool_)
        return np.isin(batch.series, np.fromiter(self._baselines, np.int64, len(self._baselines)))

    def _start(self, number: int, alert_id: str) -> Baseline | None:
        if len(self._baselines) >= self._cfg.max_series:
            return None
        params = anomaly_params(self._cfg)
        saved = self._saved.pop(self._key(number), None) if self._saved else None
        scorer = AnomalyScorer.from_state(saved, params) if saved else AnomalyScorer(params)
        baseline = self._baselines[number] = Baseline(scorer, alert_id)
        return baseline

    def _judge(
        self, number: int, baseline: Baseline, found: AnomalyScore, *, when: float, value: float, now: dt.datetime
    ) -> list[Alert]:
        anomalous = found.score >= self._cfg.alert_score and found.sigmas >= self._cfg.sigma
        if anomalous:
            baseline.last_anomaly = when
            if baseline.alert is None:
                baseline.alert = self._firing(number, baseline, found, when=when, value=value, now=now)
                return [baseline.alert]
        elif baseline.alert is not None and when - baseline.last_anomaly >= self._cfg.resolve_for_s:
            said = amount(value, unit_of(self._index.series[number].name))
            evidence = Evidence(kind="series", summary=f"back within its baseline at {said}", time=utc_at(when))
            resolved = resolved_alert(
                baseline.alert, ends_at=utc_at(when), evidence=evidence, cause=f"baseline-{when}", now=now
            )
            baseline.alert = None
            return [resolved]
        return []

    def _firing(
        self, number: int, baseline: Baseline, found: AnomalyScore, *, when: float, value: float, now: dt.datetime
    ) -> Alert:
        series = self._index.series[number]
        resource = resource_of(series.labels)
        identity = {**series.labels, "metric": series.name, "check": "anomaly"}
        fingerprint = alert_fingerprint(baseline.alert_id, series.cluster, resource, identity)
        against = "the same time yesterday or last week" if found.seasonal else "its baseline"
        said = amount(value, unit_of(series.name))
        how = f"{series.name} = {said} is {found.sigmas:.1f} sigma from {against} (anomaly score {found.score:.2f})"
        target = str(resource) if resource else series.text()
        starts = utc_at(when)
        return firing_alert(
            alert_id=baseline.alert_id,
            severity="warning",
            fingerprint=fingerprint,
            cluster=series.cluster,
            resource=resource,
            labels={**series.labels, "metric": series.name, "anomaly": "true", "anomaly_score": f"{found.score:.2f}"},
            summary=f"{CATALOGUE[baseline.alert_id].name} anomaly: {target} {how}",
            description=f"{series.text()}: {how}",
            starts_at=starts,
            evidence=[Evidence(kind="series", summary=how, ref=series.text()[:2_048], values=[value], time=starts)],
            cause=f"baseline-{when}",
            now=now,
        )
