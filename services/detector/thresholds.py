"""Metric rules run here: each rule's lanes (lanes.py) over the series it reads, and the alerts their
transitions raise.

`observe` takes a batch grouped by metric (series.py) and returns the alerts that fired, escalated or
resolved on it; `tick` does the same on the timer, so a breach that simply persists fires, and a series
that went silent for `stale_after_s` has its alerts resolved (as Prometheus does when a series vanishes).

Firing alerts are the only per-series Python objects; `restore` hands back those a previous process (or
another replica) left firing in Redis, so a restart resolves what it fired before rather than forgetting it.
Pure; handlers.py persists the alerts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from healer_common.contract.alerts import CATALOGUE, Alert, Evidence, Severity, alert_fingerprint
from healer_common.contract.amounts import amount, unit_of
from healer_common.durations import spoken_duration
from services.detector.lanes import Ints, Lanes, Transitions
from services.detector.raising import escalated_alert, firing_alert, resolved_alert, utc_at
from services.detector.rule_config import RuleBook
from services.detector.rules.model import MetricRule
from services.detector.series import MetricBatch, SeriesIndex, resource_of


@dataclass
class RuleLanes:
    """One metric rule's lanes, which series each lane watches, and the alerts it has firing."""

    rule: MetricRule
    lanes: Lanes
    lane_of: Ints = field(default_factory=lambda: np.full(0, -1, np.int64))
    severities: list[Severity] = field(default_factory=list)
    alerts: dict[int, Alert] = field(default_factory=dict)


class ThresholdEngine:
    def __init__(self, rules: Iterable[MetricRule], book: RuleBook, index: SeriesIndex, stale_after_s: float) -> None:
        self.index = index
        self._book = book
        self._stale_after_s = stale_after_s
        self._restored: dict[str, Alert] = {}
        self.by_metric: dict[str, list[RuleLanes]] = {}
        for rule in rules:
            lanes = Lanes(1.0 if rule.above else -1.0, rule.check)
            self.by_metric.setdefault(rule.metric, []).append(RuleLanes(rule, lanes))

    def restore(self, firing: Iterable[Alert]) -> None:
        self._restored.update({a.fingerprint: a for a in firing if a.firing})

    def observe(self, batches: dict[str, MetricBatch], now: dt.datetime) -> list[Alert]:
        alerts: list[Alert] = []
        for metric, batch in batches.items():
            for book in self.by_metric.get(metric, ()):
                lanes = self._lanes_for(book, batch.series)
                for lane, transitions in book.lanes.observe(lanes, batch.values, batch.times):
                    alerts += self._raise(book, lane, transitions, "sample", now)
        return alerts

    def tick(self, now: dt.datetime) -> list[Alert]:
        alerts: list[Alert] = []
        for books in self.by_metric.values():
            for book in books:
                if book.lanes.size == 0:  # a rule no series has reported to yet costs nothing on the timer
                    continue
                transitions, stale = book.lanes.due(now.timestamp(), self._stale_after_s)
                if transitions:
                    alerts += self._raise(book, np.arange(book.lanes.size), transitions, "due", now)
                if stale.size:
                    book.lanes.forget(stale)
        return alerts

    def end_pod(self, cluster: str, namespace: str, pod: str, at: dt.datetime, now: dt.datetime) -> list[Alert]:
        """A pod reported gone (PodDeleted) ends its series at once: what they fire resolves, and a pending
        breach is dropped. Without this a series that reported only once before its pod was deleted (a fresh
        pod OOM-killed within one scrape interval, then restarted by deletion) has no cadence to tell it has
        ended, and its breach fired on the timer `for_s` later, about a pod already gone."""
        ended = np.array(
            [
                n
                for n, s in enumerate(self.index.series)
                if s.cluster == cluster and _names_pod(s.labels, namespace, pod)
            ],
            np.int64,
        )
        alerts: list[Alert] = []
        for books in self.by_metric.values():
            for book in books:
                lanes = book.lane_of[ended[ended < book.lane_of.size]]
                lanes = lanes[lanes >= 0]
                for lane in lanes:
                    if book.lanes.firing[lane] and (current := book.alerts.pop(int(lane), None)) is not None:
                        evidence = self._evidence(book, int(lane), at)
                        cause = f"PodDeleted-{at.isoformat()}"
                        alerts.append(resolved_alert(current, ends_at=at, evidence=evidence, cause=cause, now=now))
                book.lanes.forget(lanes)
        return alerts

    def firing(self) -> list[Alert]:
        return [a for books in self.by_metric.values() for book in books for a in book.alerts.values()]

    # lanes ------------------------------------------------------------------------------------------------------
    def _lanes_for(self, book: RuleLanes, series: Ints) -> Ints:
        if book.lane_of.size < len(self.index):
            grown = np.full(max(len(self.index), 2 * book.lane_of.size), -1, np.int64)
            grown[: book.lane_of.size] = book.lane_of
            book.lane_of = grown
        lanes = book.lane_of[series]
        if (lanes < 0).any():
            for number in np.unique(series[lanes < 0]):
                book.lane_of[number] = self._new_lane(book, int(number))
            lanes = book.lane_of[series]
        return lanes

    def _new_lane(self, book: RuleLanes, number: int) -> int:
        series = self.index.series[number]
        rule = book.rule
        limits = rule.limits(self._book.scope(series.cluster, series.namespace))
        lane = book.lanes.add(number, limits)
        book.severities.append(limits.severity)
        if self._restored and (earlier := self._restored.pop(self._fingerprint(book, lane), None)) is not None:
            book.lanes.firing[lane] = True
            book.lanes.critical[lane] = earlier.severity == "critical"
            book.alerts[lane] = earlier
        return lane

    def _fingerprint(self, book: RuleLanes, lane: int) -> str:
        """Computed when needed (firing, restoring), not per series: 100,000 of them would cost memory."""
        series = self.index.series[int(book.lanes.series[lane])]
        identity = {**series.labels, "metric": series.name, "check": book.rule.check}
        return alert_fingerprint(book.rule.alert_id, series.cluster, resource_of(series.labels), identity)

    # alerts -----------------------------------------------------------------------------------------------------
    def _raise(self, book: RuleLanes, lanes: Ints, moved: Transitions, cause: str, now: dt.datetime) -> list[Alert]:
        del cause  # a sample or the timer: whichever saw it first, a transition is named by its episode
        alerts = []
        for kind, positions in (("fire", moved.fire), ("escalate", moved.escalate), ("resolve", moved.resolve)):
            for position in positions:
                lane, at = int(lanes[position]), utc_at(float(moved.at[position]))
                alert = self._transition(book, lane, kind, at=at, cause=self._episode(book, lane, kind), now=now)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def _episode(self, book: RuleLanes, lane: int, kind: str) -> str:
        """What names a transition, the same whether a sample or the timer saw it and whichever replica did
        (a replay after a takeover): a breach by when it began, a resolution or escalation by the alert's id."""
        current = book.alerts.get(lane)
        if kind == "fire" or current is None:
            return f"breach-{float(book.lanes.breach_since[lane])}"
        return f"{current.event_id}-{kind}"

    def _transition(
        self, book: RuleLanes, lane: int, kind: str, *, at: dt.datetime, cause: str, now: dt.datetime
    ) -> Alert | None:
        lanes = book.lanes
        evidence = self._evidence(book, lane, at)
        if kind == "fire":
            critical = bool(lanes.sign * lanes.last_value[lane] >= lanes.scritical[lane])
            severity = "critical" if critical else book.severities[lane]
            alert = self._firing(book, lane, severity, at=at, cause=cause, now=now)
            lanes.firing[lane], lanes.critical[lane] = True, critical
        elif (current := book.alerts.get(lane)) is None:
            lanes.firing[lane] = False  # restored state disagreed; nothing of ours to resolve or escalate
            return None
        elif kind == "escalate":
            alert = escalated_alert(current, severity="critical", evidence=evidence, cause=cause, now=now)
            lanes.critical[lane] = True
        else:
            alert = resolved_alert(current, ends_at=at, evidence=evidence, cause=cause, now=now)
            lanes.firing[lane], lanes.critical[lane] = False, False
            lanes.clear_since[lane] = np.nan
            del book.alerts[lane]
            return alert
        book.alerts[lane] = alert
        return alert

    def _firing(
        self, book: RuleLanes, lane: int, severity: Severity, *, at: dt.datetime, cause: str, now: dt.datetime
    ) -> Alert:
        lanes, rule = book.lanes, book.rule
        series = self.index.series[int(lanes.series[lane])]
        resource = resource_of(series.labels)
        value, unit = float(lanes.last_value[lane]), unit_of(series.name)
        if rule.check == "growing":
            grown = amount(value - float(lanes.ref_value[lane]), unit)
            window = spoken_duration(float(lanes.window[lane]))
            how = f"{rule.what} grew by {grown} to {amount(value, unit)} over {window}"
        else:
            threshold = float(lanes.sign * lanes.sthreshold[lane])
            held_s = float(lanes.for_s[lane])
            how = f"{rule.what} {amount(value, unit)} (limit {amount(threshold, unit)})"
            how += f" for {spoken_duration(held_s)}" if held_s > 0 else ""
        target = str(resource) if resource else series.text()
        return firing_alert(
            alert_id=rule.alert_id,
            severity=severity,
            fingerprint=self._fingerprint(book, lane),
            cluster=series.cluster,
            resource=resource,
            labels={**series.labels, "metric": series.name, "value": f"{value:.6g}"},
            summary=f"{CATALOGUE[rule.alert_id].name}: {target} {how}",
            description=f"{series.text()} {how}",
            starts_at=at,
            evidence=[self._evidence(book, lane, at)],
            cause=cause,
            now=now,
        )

    def _evidence(self, book: RuleLanes, lane: int, at: dt.datetime) -> Evidence:
        lanes = book.lanes
        series = self.index.series[int(lanes.series[lane])]
        text = series.text()
        value = float(lanes.last_value[lane])
        summary = (
            f"{text} = {amount(value, unit_of(series.name))}" if not np.isnan(value) else f"{text} stopped reporting"
        )
        return Evidence(
            kind="series", summary=summary[:2_048], ref=text[:2_048], values=lanes.recent_values(lane), time=at
        )


def _names_pod(labels: dict[str, str], namespace: str, pod: str) -> bool:
    return labels.get("pod") == pod and labels.get("namespace") == namespace
