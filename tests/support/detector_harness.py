"""The detector's pure engines driven as the service drives them, minus Redis and NATS: events in, alerts out,
and a manual clock whose advance runs the timer. Unit tests of rules use it; so does the CLI's logic.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from healer_common.clock import ManualClock
from healer_common.contract.alerts import Alert
from healer_common.contract.events import EVENT_ADAPTER, ConditionEvent, MetricBatchEvent, ResourceRef
from healer_common.settings.detector import DetectorSettings
from services.detector.anomaly_steps import StepMeans
from services.detector.baselines import BaselineEngine
from services.detector.held_conditions import ConditionCatalogue, Watch, due_at, object_key, on_condition, on_due
from services.detector.predictions import Forecasts
from services.detector.rule_config import RuleBook
from services.detector.rules import CONDITION_RULES, METRIC_RULES
from services.detector.series import SeriesIndex
from services.detector.thresholds import ThresholdEngine
from tests.support.detector_cases import Signal
from tests.support.samples import T0

_ids = itertools.count(1)


def condition_event(
    reason: str, resource: ResourceRef, *, labels: dict[str, str] | None, when: dt.datetime, cluster: str = "default"
) -> ConditionEvent:
    data: dict[str, Any] = {"resource": resource.model_dump(exclude_none=True), "reason": reason}
    if labels:
        data["labels"] = labels
    body = {
        "specversion": "1.0",
        "id": f"evt-{next(_ids)}",
        "source": "/tests/unit",
        "type": "healer.condition.v1",
        "time": when.isoformat(),
        "cluster": cluster,
        "data": data,
    }
    event = EVENT_ADAPTER.validate_python(body)
    assert isinstance(event, ConditionEvent)
    return event


def metrics_event(samples: list[tuple[str, float, dict[str, str]]], when: dt.datetime) -> MetricBatchEvent:
    body = {
        "specversion": "1.0",
        "id": f"evt-{next(_ids)}",
        "source": "/tests/unit",
        "type": "healer.metrics.v1",
        "time": when.isoformat(),
        "data": {"samples": [{"name": n, "value": v, "labels": lab} for n, v, lab in samples]},
    }
    event = EVENT_ADAPTER.validate_python(body)
    assert isinstance(event, MetricBatchEvent)
    return event


class Detector:
    """Held conditions and metric rules with their state in dicts and arrays instead of Redis."""

    def __init__(self, settings: DetectorSettings | None = None, clock: ManualClock | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.clock = clock or ManualClock(T0)
        self.book = RuleBook(self.settings)
        self.catalogue = ConditionCatalogue.build(CONDITION_RULES, self.settings)
        self.watches: dict[str, dict[str, Watch]] = {}
        index = SeriesIndex()
        self.engine = ThresholdEngine(METRIC_RULES, self.book, index, self.settings.stale_after_s)
        self.predictions = Forecasts.build(METRIC_RULES, self.book, index, self.settings)
        self.baselines = BaselineEngine(METRIC_RULES, index, self.settings.anomaly)
        self.steps = StepMeans(self.settings.anomaly.step_s)
        self.wanted = dict.fromkeys((*self.engine.by_metric, *self.baselines.metrics), True)
        self.published: list[Alert] = []

    def condition(
        self, reason: str, resource: ResourceRef, labels: dict[str, str] | None = None, cluster: str = "default"
    ) -> list[Alert]:
        event = condition_event(reason, resource, labels=labels, when=self.clock.now(), cluster=cluster)
        key = object_key(event.cluster, resource)
        cfg = self.book.scope(event.cluster, resource.namespace)
        step = on_condition(event, list(self.watches.get(key, {}).values()), self.catalogue, cfg, self.clock.now())
        self._keep(key, step.watches)
        alerts = step.alerts
        if reason == "PodDeleted" and resource.namespace:  # as evaluation.py does
            alerts += self.engine.end_pod(
                cluster, resource.namespace, resource.name, self.clock.now(), self.clock.now()
            )
        return self._publish(alerts)

    def report(self, signal: Signal) -> list[Alert]:
        if signal.metric:
            return self.metric(signal.metric, signal.value, signal.labels)
        assert signal.resource is not None
        return self.condition(signal.reason, signal.resource, signal.labels)

    def metric(self, name: str, value: float, labels: dict[str, str]) -> list[Alert]:
        return self.metrics([(name, value, labels)])

    def metrics(self, samples: list[tuple[str, float, dict[str, str]]]) -> list[Alert]:
        event = metrics_event(samples, self.clock.now())
        now = self.clock.now()
        batches = self.engine.index.batch("default", event.data.samples, now.timestamp(), self.wanted)
        alerts = self.engine.observe(batches, now) + self.predictions.observe(batches, now)
        scored = {m: b for m, b in batches.items() if m in self.baselines.metrics}
        return self._publish(alerts + self.baselines.observe(self.steps.fold(scored), now))

    def advance(self, seconds: float, step_s: float = 1.0) -> list[Alert]:
        """Move the clock, running the timer every `step_s` as the service's periodic evaluation does."""
        alerts: list[Alert] = []
        remaining = seconds
        while remaining > 0:
            self.clock.advance(min(step_s, remaining))
            remaining -= step_s
            alerts += self.tick()
        return alerts

    def tick(self) -> list[Alert]:
        now = self.clock.now()
        alerts = self.engine.tick(now)
        for key, watches in list(self.watches.items()):
            for watch in list(watches.values()):
                due = due_at(watch, self.catalogue.flap)
                if due is not None and due <= now:
                    step = on_due(watch, self.catalogue, now)
                    self._keep(key, step.watches)
                    alerts += step.alerts
        return self._publish(alerts)

    def _keep(self, key: str, changes: dict[str, Watch | None]) -> None:
        watches = self.watches.setdefault(key, {})
        for fingerprint, watch in changes.items():
            if watch is None:
                watches.pop(fingerprint, None)
            else:
                watches[fingerprint] = watch

    def _publish(self, alerts: list[Alert]) -> list[Alert]:
        self.published += alerts
        return alerts

    def firing(self) -> dict[str, Alert]:
        """The alerts firing now by fingerprint, as a subscriber who saw every message would know them."""
        state: dict[str, Alert] = {}
        for alert in self.published:
            if alert.firing:
                state[alert.fingerprint] = alert
            else:
                state.pop(alert.fingerprint, None)
        return state
