"""The storm benchmark's generated storm and its scorekeeping (bench/storm.py runs them).

A storm of N alerts: five alert names over 20 nodes and 5 namespaces, so 500 groups by (alertname, namespace,
node), every alert a pod of its own (the `pod` label is how the receiver knows it). It is fed in batches of
100; the `Tally` notes when each batch was sent and when each alert and each group was first told to the
receiver, and turns that into the figures both sides are judged by.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ALERTNAMES = ("StormCpuHigh", "StormDiskSlow", "StormNetLoss", "StormMemLeak", "StormQueueLag")
NAMESPACES = tuple(f"storm-ns-{i}" for i in range(5))
NODES = tuple(f"storm-node-{i:02d}" for i in range(20))
BATCH = 100

Group = tuple[str, str, str]


@dataclass(frozen=True)
class StormAlert:
    pod: str
    alertname: str
    namespace: str
    node: str

    @property
    def group(self) -> Group:
        return (self.alertname, self.namespace, self.node)

    def labels(self) -> dict[str, str]:
        return {
            "alertname": self.alertname,
            "namespace": self.namespace,
            "node": self.node,
            "pod": self.pod,
            "severity": "warning",
        }


def storm(size: int) -> list[StormAlert]:
    """`size` alerts spread evenly over the 500 groups, interleaved so every batch touches many groups."""
    alerts = []
    for i in range(size):
        name = ALERTNAMES[i % len(ALERTNAMES)]
        namespace = NAMESPACES[(i // len(ALERTNAMES)) % len(NAMESPACES)]
        node = NODES[(i // (len(ALERTNAMES) * len(NAMESPACES))) % len(NODES)]
        alerts.append(StormAlert(f"storm-{i:06d}", name, namespace, node))
    return alerts


def batches(alerts: Sequence[StormAlert]) -> list[list[StormAlert]]:
    return [list(alerts[i : i + BATCH]) for i in range(0, len(alerts), BATCH)]


def alertmanager_body(batch: Sequence[StormAlert], starts_at: dt.datetime) -> list[dict[str, object]]:
    """Alertmanager's own API (`POST /api/v2/alerts`): a list of alerts."""
    stamp = starts_at.isoformat()
    return [
        {"labels": a.labels(), "annotations": {"summary": f"{a.alertname} on {a.pod}"}, "startsAt": stamp}
        for a in batch
    ]


def webhook_body(batch: Sequence[StormAlert], starts_at: dt.datetime) -> dict[str, object]:
    """What an Alertmanager posts to a webhook receiver: Healer's `POST /alertmanager`."""
    return {
        "version": "4",
        "receiver": "storm",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": a.labels(),
                "annotations": {"summary": f"{a.alertname} on {a.pod}"},
                "startsAt": starts_at.isoformat(),
            }
            for a in batch
        ],
    }


@dataclass(frozen=True)
class Delivery:
    """One notification as the receiver saw it: when, and which storm alerts (pods) it told of."""

    at: float
    pods: tuple[str, ...]


@dataclass
class Tally:
    """When each alert was sent and first told; everything is `time.monotonic()` seconds."""

    alerts: list[StormAlert]
    started: float = 0.0
    sent: dict[str, float] = field(default_factory=dict)
    told: dict[str, float] = field(default_factory=dict)
    notifications: int = 0
    other_notifications: int = 0
    log: list[tuple[float, int]] = field(default_factory=list)
    """(seconds from the first batch, alerts told) of every notification, for `--dump`."""

    def __post_init__(self) -> None:
        self._by_pod = {a.pod: a for a in self.alerts}

    def start(self) -> None:
        self.started = time.monotonic()

    def batch_sent(self, batch: Iterable[StormAlert], at: float) -> None:
        for alert in batch:
            self.sent[alert.pod] = at

    def delivered(self, delivery: Delivery, *, count: bool = True) -> None:
        self.notifications += count
        self.log.append((round(delivery.at - self.started, 3), len(delivery.pods)))
        for pod in delivery.pods:
            if pod in self._by_pod and pod not in self.told:
                self.told[pod] = delivery.at

    @property
    def complete(self) -> bool:
        return len(self.told) == len(self.alerts)

    def figures(self) -> dict[str, float]:
        """The side's figures: seconds from the first batch, latencies, counts."""
        firsts: dict[Group, float] = {}
        for pod, at in self.told.items():
            group = self._by_pod[pod].group
            firsts[group] = min(at, firsts.get(group, at))
        groups = {a.group for a in self.alerts}
        latencies = sorted(at - self.sent[pod] for pod, at in self.told.items() if pod in self.sent)
        nan = float("nan")
        return {
            "every_group_first_s": max(firsts.values()) - self.started if len(firsts) == len(groups) else nan,
            "every_alert_s": max(self.told.values()) - self.started if self.complete else nan,
            "latency_p50_s": statistics.median(latencies) if latencies else nan,
            "latency_p99_s": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else nan,
            "notifications": float(self.notifications),
            "other_notifications": float(self.other_notifications),
            "alerts_missing": float(len(self.alerts) - len(self.told)),
        }
