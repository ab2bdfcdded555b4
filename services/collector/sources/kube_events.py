"""Kubernetes Events: the cluster's own log of what went wrong ("FailedMount", "Unhealthy", "BackOff" ...).

Each Warning event goes on as a log line (`healer.log.v1`, level warning, labelled with the object it is
about and its reason), where the detector's log patterns and signatures read it; a repeat of the same event
(its count grows) is a new line, a replay of the same count is not. Reasons the signal vocabulary names
become conditions too (`Evicted`). Events older than `history_after_s` when first seen are history, so a
collector that starts does not replay the last hour of them.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.events import LogData
from services.collector.observations import (
    Emission,
    Json,
    LogRecord,
    ObjectKey,
    Observation,
    object_key,
    observe,
    parse_time,
)
from services.collector.sources.tracker import Tracker
from services.collector.topology import Topology

EVENT_CONDITIONS = {("Pod", "Evicted"): "Evicted"}


def event_time(event: Json) -> dt.datetime | None:
    series = event.get("series") or {}
    for value in (series.get("lastObservedTime"), event.get("lastTimestamp"), event.get("eventTime")):
        if when := parse_time(value):
            return when
    return parse_time((event.get("metadata") or {}).get("creationTimestamp"))


def event_count(event: Json) -> int:
    return int((event.get("series") or {}).get("count") or event.get("count") or 1)


class EventTracker(Tracker):
    def __init__(self, topology: Topology, history_after_s: float) -> None:
        self._topology = topology
        self._history_after_s = history_after_s
        self._counts: dict[ObjectKey, int] = {}

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        if obj.get("type") != "Warning":
            return Emission()
        key, count = object_key(obj), event_count(obj)
        first_sight = key not in self._counts
        if self._counts.get(key) == count:
            return Emission()
        self._counts[key] = count
        when = event_time(obj) or now
        if first_sight and (now - when).total_seconds() > self._history_after_s:
            return Emission()
        return self._emission(obj, key, count, when)

    def _emission(self, event: Json, key: ObjectKey, count: int, when: dt.datetime) -> Emission:
        involved = event.get("involvedObject") or {}
        kind, name = str(involved.get("kind") or "Object"), str(involved.get("name") or "")
        namespace = str(involved.get("namespace") or key[0])
        reason, message = str(event.get("reason") or "Warning"), str(event.get("message") or "")
        source = event.get("source") or {}
        labels = {
            "namespace": namespace,
            kind.lower(): name,
            "reason": reason,
            "component": str(source.get("component") or event.get("reportingComponent") or "kubernetes"),
        }
        if kind == "Pod":
            labels = {**self._topology.pod_labels((namespace, name)), **labels}
        line = f"{reason}: {message}" if message else reason
        uid = (event.get("metadata") or {}).get("uid") or f"{key[0]}/{key[1]}"
        record = LogRecord(LogData(line=line[:65_536], level="warning", labels=labels), when, f"event/{uid}/{count}")
        conditions: list[Observation] = []
        if signal := EVENT_CONDITIONS.get((kind, reason)):
            target = (namespace, name)
            conditions.append(observe(kind, target, signal, labels=labels, message=message, occurrence=str(uid)))
        return Emission(conditions=conditions, logs=[record])

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        self._counts.pop(key, None)
        return Emission()

    def keys(self) -> list[ObjectKey]:
        return list(self._counts)
