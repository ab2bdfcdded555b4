"""A generated week of cluster history with known patterns planted in noise, to measure what the sleep-time
analysis finds (precision) and what it misses (recall). Used by the analysis tests and bench/analysis.py.

Planted, from a Monday 00:00 UTC:

    correlations   A7 in cto (25 episodes)        -> H6 on redis, 80 %, 2-8 min later
                   a deploy in staging (20)        -> H4 on web, 75 %, 1-5 min later
                   H5 in data (15 episodes)        -> A2 on etl, 90 %, 3-10 min later
    weekly         queue_depth{cto, builds} at 3x on Monday 09:00
                   A9 in cto: 12 alerts on Friday 17:00
    daily          node_cpu_usage_ratio{n1} at 2.5x every day at 02:00
    exhaustion     pvc_usage_ratio{data, pg-data} rising 50 % -> 72 % over the week (80 % soon after)

`hard=True` plants the same patterns fainter: 12 episodes of each correlation followed 60 % of the time,
the Monday queue at 2.2x, 6 alerts in the Friday hour, the nightly CPU at 2.2x.

Noise: a dozen alert types across three namespaces at random times and random pods, among them a chatty one
(A3 in cto, 1.5 an hour) that follows everything by chance and must not be reported, the planted alerts also
firing on their own now and then, and every metric jittered by 10 %.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from healer_common.contract.alerts import CATALOGUE, Alert, alert_fingerprint, alert_labels
from healer_common.contract.events import ChangeEvent, MetricBatchEvent, ResourceRef
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import Remediation
from healer_common.contract.rollups import RollupBatch
from services.memory_bridge.analysis.history import History
from services.memory_bridge.rollups import RollupBook

T = TypeVar("T")
START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)  # a Monday
HOUR = dt.timedelta(hours=1)
CorrelationKey = tuple[str, str | None, str, str | None]
TemporalKey = tuple[str, str | None, int | None, int]

NOISE: dict[str, list[tuple[str, float]]] = {  # namespace -> (alert id, alerts per hour)
    "cto": [("A2", 0.2), ("A3", 1.5), ("A9", 0.1), ("H8", 0.1), ("H6", 0.01)],  # A3: chatty, follows anything by chance
    "staging": [("H1", 0.1), ("H5", 0.1), ("H8", 0.05), ("H4", 0.01)],
    "data": [("H6", 0.1), ("H7", 0.1), ("H2", 0.05), ("A2", 0.02), ("H5", 0.01)],
}
PODS = ("rex", "cleo", "tess", "blaze", "cipher", "atlas")


@dataclass(frozen=True)
class Planted:
    correlations: frozenset[CorrelationKey] = frozenset(
        {("A7", "cto", "H6", "redis"), ("change:deploy", "staging", "H4", "web"), ("H5", "data", "A2", "etl")}
    )
    temporal: frozenset[TemporalKey] = frozenset(
        {
            ("queue_depth{namespace=cto,queue=builds}", "cto", 0, 9),
            ("A9", "cto", 4, 17),
            ("node_cpu_usage_ratio{node=n1}", None, None, 2),
        }
    )
    exhausted: str = "pvc_usage_ratio{namespace=data,persistentvolumeclaim=pg-data}"


@dataclass
class GeneratedHistory:
    start: dt.datetime
    end: dt.datetime
    alerts: list[Alert] = field(default_factory=list)
    changes: list[ChangeEvent] = field(default_factory=list)
    metrics: list[MetricBatchEvent] = field(default_factory=list)
    planted: Planted = field(default_factory=Planted)

    def rollups(self) -> list[RollupBatch]:
        """The metrics as memory-bridge keeps them for weeks: one 5-minute summary per series per bucket."""
        book = RollupBook("generator")
        for batch in self.metrics:
            book.add("default", batch.data.samples, batch.time or self.end)
        return book.closed(self.end + dt.timedelta(hours=1))

    def from_rollups(self, rollups: list[RollupBatch] | None = None, days: float | None = None) -> History:
        """The history as the analysis reads it from the ROLLUPS stream: alerts, changes and rollups (of the
        last `days` only, as a sleep-time job with that window reads them)."""
        history = History(self.start if days is None else self.end - dt.timedelta(days=days), self.end)
        for item in self.alerts:
            history.add_alert(item)
        for change in self.changes:
            history.add_change(change, self.end)
        for batch in self.rollups() if rollups is None else rollups:
            history.add_rollup(batch)
        return history

    def as_history(self, runs: tuple[Remediation, ...] = ()) -> History:
        """The week as the analysis reads it (what analysis/history.py builds from the bus), with remediations added."""
        history = History(self.start, self.end)
        for item in self.alerts:
            history.add_alert(item)
        for change in self.changes:
            history.add_change(change, self.end)
        for batch in self.metrics:
            history.add_metrics(batch, self.end)
        for run in runs:
            history.add_remediation(run)
        return history


def alert(alert_id: str, namespace: str, pod: str, at: dt.datetime) -> Alert:
    resource = ResourceRef(kind="Pod", namespace=namespace, name=pod)
    severity = CATALOGUE[alert_id].severity
    return Alert(
        event_id=stable_id("generated", alert_id, pod, at),
        alert_id=alert_id,
        status="firing",
        severity=severity,
        fingerprint=alert_fingerprint(alert_id, "default", resource, {"at": at.isoformat()}),
        cluster="default",
        namespace=namespace,
        resource=resource,
        labels=alert_labels(alert_id, severity, "default", resource),
        starts_at=at,
        time=at,
    )


def deploy(at: dt.datetime, n: int) -> ChangeEvent:
    return ChangeEvent.model_validate(
        {
            "specversion": "1.0",
            "id": f"deploy-{n}",
            "source": "argocd",
            "type": "healer.change.v1",
            "time": at.isoformat(),
            "data": {
                "what": "deploy",
                "resource": {"kind": "Deployment", "namespace": "staging", "name": "gateway"},
                "from": f"v1.{n}",
                "to": f"v1.{n + 1}",
            },
        }
    )


class _Week:
    def __init__(self, seed: int, start: dt.datetime, days: int, hard: bool) -> None:
        self.rng = random.Random(seed)
        self.history = GeneratedHistory(start, start + dt.timedelta(days=days))
        self.episodes: int | None = 12 if hard else None
        self.share: float | None = 0.6 if hard else None
        self.ratio: float | None = 2.2 if hard else None

    def when(self) -> dt.datetime:
        span = (self.history.end - self.history.start).total_seconds() - 3600
        return self.history.start + dt.timedelta(seconds=self.rng.uniform(0, span))

    def pod(self, workload: str) -> str:
        return f"{workload}-{self.rng.randint(0, 4)}"

    def fire(self, alert_id: str, namespace: str, pod: str, at: dt.datetime) -> None:
        self.history.alerts.append(alert(alert_id, namespace, pod, at))

    def follow(self, at: dt.datetime, share: float, lag_min: tuple[float, float], then: tuple[str, str, str]) -> None:
        if self.rng.random() < share:
            lag = dt.timedelta(minutes=self.rng.uniform(*lag_min))
            self.fire(then[0], then[1], self.pod(then[2]), at + lag)

    def noise(self) -> None:
        hours = (self.history.end - self.history.start) / HOUR
        for namespace, rates in NOISE.items():
            for alert_id, per_hour in rates:
                for _ in range(round(per_hour * hours)):
                    self.fire(alert_id, namespace, self.pod(self.rng.choice(PODS)), self.when())

    def correlations(self) -> None:
        for _ in range(self.episodes or 25):
            at = self.when()
            self.fire("A7", "cto", self.pod(self.rng.choice(PODS)), at)
            self.follow(at, self.share or 0.8, (2, 8), ("H6", "cto", "redis"))
        for n in range(self.episodes or 20):
            at = self.when()
            self.history.changes.append(deploy(at, n))
            self.follow(at, self.share or 0.75, (1, 5), ("H4", "staging", "web"))
        for _ in range(self.episodes or 15):
            at = self.when()
            self.fire("H5", "data", self.pod("coredns"), at)
            self.follow(at, self.share or 0.9, (3, 10), ("A2", "data", "etl"))

    def friday_burst(self) -> None:
        friday = self.history.start + dt.timedelta(days=4, hours=17)
        for i in range(6 if self.ratio else 12):
            self.fire("A9", "cto", f"coderun-{i}", friday + dt.timedelta(minutes=self.rng.uniform(0, 59)))

    def series(self, name: str, labels: dict[str, str], level: Callable[[dt.datetime], float]) -> None:
        """One metric batch per hour, a sample a minute; `level(t)` gives the noiseless value."""
        t = self.history.start
        while t < self.history.end:
            samples = []
            for minute in range(60):
                at = t + dt.timedelta(minutes=minute)
                value = level(at) * self.rng.uniform(0.9, 1.1)
                samples.append({"name": name, "value": value, "labels": labels, "time": at.isoformat()})
            self.history.metrics.append(
                MetricBatchEvent.model_validate(
                    {
                        "specversion": "1.0",
                        "id": stable_id(name, labels, t),
                        "source": "generator",
                        "type": "healer.metrics.v1",
                        "time": t.isoformat(),
                        "data": {"samples": samples},
                    }
                )
            )
            t += HOUR

    def metrics(self) -> None:
        self.series(
            "queue_depth",
            {"namespace": "cto", "queue": "builds"},
            lambda at: 100.0 * (self.ratio or 3.0) if at.weekday() == 0 and at.hour == 9 else 100.0,
        )
        night = 0.3 * (self.ratio or 2.5)
        self.series("node_cpu_usage_ratio", {"node": "n1"}, lambda at: night if at.hour == 2 else 0.3)
        climb = self.history.end - dt.timedelta(days=7)  # the volume fills over the last week, however long
        self.series(
            "pvc_usage_ratio",
            {"namespace": "data", "persistentvolumeclaim": "pg-data"},
            lambda at: 0.5 + 0.22 * max(0.0, (at - climb).total_seconds()) / (7 * 86_400),
        )


def generate(seed: int = 7, start: dt.datetime = START, days: int = 7, *, hard: bool = False) -> GeneratedHistory:
    week = _Week(seed, start, days, hard)
    week.noise()
    week.correlations()
    week.friday_burst()
    week.metrics()
    week.history.alerts.sort(key=lambda a: a.starts_at)
    return week.history


def precision_recall(found: set[T], truth: set[T]) -> tuple[float, float]:
    """Precision (share of what was found that was planted) and recall (share of what was planted found)."""
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), (hits / len(truth) if truth else 1.0)
