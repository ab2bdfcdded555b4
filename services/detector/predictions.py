"""Predicted alerts: a metric rule's series whose trend (trend.py) will cross the rule's threshold within
the horizon raises the rule's alert early, with label predicted="true" and severity warning; it is withdrawn
(resolved) when the tracker stops predicting (the trend turned for `withdraw_after_slots` fits in a row:
trend.py holds it, so `healer detect trend` says the same), or when the value crosses, since the threshold
rule then speaks for itself.

Only the metrics in `detector.trend.metrics` are followed, and a series only once it is past
`track_above` of its threshold: a disk at 10 % has no crossing worth predicting, and a trend costs about a
kilobyte a series. Pure; evaluation.py feeds it the same batches as the threshold rules.

The seed's three kinds of prediction are three engines over the same trend tracker, each with its own
settings (label `prediction`): `exhaustion` (`detector.trend`: disk, PVC, CPU, memory leaks, queues, within
30 minutes), `capacity` (`detector.capacity`: requests against what the nodes and quotas offer, a day of
15-minute slots along the daily profile, within 12 hours: a scale-up will be needed) and `degradation`
(`detector.degradation`: an upstream's latency decaying over a week of hourly slots, within 3 days).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from healer_common.contract.alerts import CATALOGUE, Alert, Evidence, alert_fingerprint
from healer_common.contract.amounts import amount, per_minute, unit_of
from healer_common.durations import spoken_duration
from healer_common.settings.detector import DetectorSettings, TrendSettings
from services.detector.raising import firing_alert, resolved_alert, utc_at
from services.detector.rule_config import RuleBook
from services.detector.rules.model import MetricRule
from services.detector.series import MetricBatch, SeriesIndex, resource_of
from services.detector.trend import TrendAnalysis, TrendTracker, trend_params


@dataclass
class Followed:
    tracker: TrendTracker
    rule: MetricRule
    threshold: float
    alert: Alert | None = None


PHRASES: dict[str, str] = {
    "exhaustion": "{name} predicted: {target} {how}",
    "capacity": "capacity planning: {target} will need a scale-up: {how}",
    "degradation": "dependency degrading: {target} {how}",
}


class PredictionEngine:
    def __init__(
        self,
        rules: tuple[MetricRule, ...],
        book: RuleBook,
        index: SeriesIndex,
        cfg: TrendSettings,
        kind: str = "exhaustion",
    ) -> None:
        self.kind = kind
        self._rules = {r.metric: r for r in rules if r.metric in cfg.metrics and r.check == "threshold"}
        self._book = book
        self._index = index
        self._cfg = cfg
        self._followed: dict[int, Followed] = {}
        self._restored: dict[str, Alert] = {}
        self._gate = np.full(0, np.nan)  # per series: the value from which its trend is followed

    def restore(self, firing: list[Alert]) -> None:
        """Predictions a previous process left firing, so they are withdrawn or come true, not forgotten."""
        self._restored.update({a.fingerprint: a for a in firing if a.firing and a.predicted})

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(self._rules)

    def observe(self, batches: dict[str, MetricBatch], now: dt.datetime) -> list[Alert]:
        alerts: list[Alert] = []
        for metric, rule in self._rules.items():
            batch = batches.get(metric)
            if batch is None:
                continue
            chosen = self._worth_following(batch, rule)
            for number, value, when in zip(
                batch.series[chosen].tolist(), batch.values[chosen].tolist(), batch.times[chosen].tolist(), strict=True
            ):
                followed = self._followed.get(number) or self._follow(number, rule, value)
                if followed is not None and (analysis := followed.tracker.observe(when, value)) is not None:
                    alerts += self._judge(number, followed, analysis, now)
        return alerts

    def _worth_following(self, batch: MetricBatch, rule: MetricRule) -> npt.NDArray[np.bool_]:
        """Samples of followed series, or past `track_above` of their threshold: one comparison per sample."""
        if self._gate.size < len(self._index):
            grown = np.full(max(len(self._index), 2 * self._gate.size), np.nan)
            grown[: self._gate.size] = self._gate
            self._gate = grown
        gate = self._gate[batch.series]
        for number in np.unique(batch.series[np.isnan(gate)]).tolist():
            series = self._index.series[number]
            threshold = rule.limits(self._book.scope(series.cluster, series.namespace)).threshold
            self._gate[number] = threshold * self._cfg.track_above
        gate = self._gate[batch.series]
        sign = 1.0 if rule.above else -1.0
        return (sign * batch.values >= sign * gate) | np.isin(batch.series, self._followed_numbers())

    def _followed_numbers(self) -> npt.NDArray[np.int64]:
        return np.fromiter(self._followed, np.int64, len(self._followed))

    def _follow(self, number: int, rule: MetricRule, value: float) -> Followed | None:
        series = self._index.series[number]
        limits = rule.limits(self._book.scope(series.cluster, series.namespace))
        sign = 1.0 if rule.above else -1.0
        if sign * value < sign * limits.threshold * self._cfg.track_above:
            return None
        params = trend_params(self._cfg, threshold=limits.threshold, above=rule.above)
        followed = self._followed[number] = Followed(TrendTracker(params), rule, limits.threshold)
        if self._restored:
            followed.alert = self._restored.pop(self._fingerprint(number, rule), None)
        return followed

    def _fingerprint(self, number: int, rule: MetricRule) -> str:
        series = self._index.series[number]
        identity = {
            **series.labels,
            "metric": series.name,
            "check": "trend" if self.kind == "exhaustion" else self.kind,
        }
        return alert_fingerprint(rule.alert_id, series.cluster, resource_of(series.labels), identity)

    def _judge(self, number: int, followed: Followed, analysis: TrendAnalysis, now: dt.datetime) -> list[Alert]:
        sign = 1.0 if followed.rule.above else -1.0
        crossed = sign * (analysis.value - followed.threshold) >= 0
        coming = analysis.crossing is not None and not crossed
        if followed.alert is None and coming:
            followed.alert = self._predicted(number, followed, analysis, now)
            return [followed.alert]
        if followed.alert is not None and not coming:
            why = "came true: the threshold is crossed" if crossed else "withdrawn: the trend turned"
            evidence = Evidence(kind="series", summary=why, time=utc_at(analysis.time))
            cause = f"trend-{analysis.time}"
            resolved = resolved_alert(
                followed.alert, ends_at=utc_at(analysis.time), evidence=evidence, cause=cause, now=now
            )
            followed.alert = None
            return [resolved]
        return []

    def _predicted(self, number: int, followed: Followed, analysis: TrendAnalysis, now: dt.datetime) -> Alert:
        series, rule = self._index.series[number], followed.rule
        resource = resource_of(series.labels)
        fingerprint = self._fingerprint(number, rule)
        assert analysis.crossing is not None
        eta = spoken_duration(analysis.crossing - analysis.time)
        unit = unit_of(series.name)
        slope = f" ({per_minute(analysis.rate_per_minute, unit)})" if unit != "seconds" else ""
        how = (
            f"{rule.what} {amount(analysis.value, unit)} heading for {amount(followed.threshold, unit)}{slope}, "
            f"crossing in about {eta}"
        )
        target = str(resource) if resource else series.text()
        return firing_alert(
            alert_id=rule.alert_id,
            severity="warning",
            fingerprint=fingerprint,
            cluster=series.cluster,
            resource=resource,
            labels={
                **series.labels,
                "metric": series.name,
                "predicted": "true",
                "predicted_crossing": utc_at(analysis.crossing).isoformat(),
                "confidence": f"{analysis.confidence:.2f}",
                "rate_per_minute": f"{analysis.rate_per_minute:.4g}",
                "model": analysis.model,
                "prediction": self.kind,
            },
            summary=PHRASES[self.kind].format(name=CATALOGUE[rule.alert_id].name, target=target, how=how),
            description=f"{series.text()} {how} (confidence {analysis.confidence:.2f}, {analysis.model} trend)",
            starts_at=utc_at(analysis.time),
            evidence=[
                Evidence(kind="series", summary=how[:2_048], ref=series.text()[:2_048], time=utc_at(analysis.time))
            ],
            cause=f"trend-{analysis.time}",
            now=now,
        )


class Forecasts:
    """The three prediction engines (exhaustion, capacity, degradation), fed and restored as one."""

    def __init__(self, engines: list[PredictionEngine]) -> None:
        self.engines = engines

    @classmethod
    def build(
        cls, rules: tuple[MetricRule, ...], book: RuleBook, index: SeriesIndex, cfg: DetectorSettings
    ) -> Forecasts:
        kinds = (("exhaustion", cfg.trend), ("capacity", cfg.capacity), ("degradation", cfg.degradation))
        return cls([PredictionEngine(rules, book, index, settings, kind) for kind, settings in kinds])

    def restore(self, firing: list[Alert]) -> None:
        for engine in self.engines:
            engine.restore([a for a in firing if a.labels.get("prediction", "exhaustion") == engine.kind])

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset().union(*(e.metrics for e in self.engines))

    def observe(self, batches: dict[str, MetricBatch], now: dt.datetime) -> list[Alert]:
        return [alert for engine in self.engines for alert in engine.observe(batches, now)]
