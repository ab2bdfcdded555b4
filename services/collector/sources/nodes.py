"""Nodes: their pressure conditions and readiness as conditions, their allocatable capacity as metrics.

    MemoryPressure, DiskPressure, PIDPressure   the node condition is True
    NetworkUnavailable                           the node condition is True (its routes or CNI are not set up)
    NotReady                                     Ready is False: the kubelet says the node is not ready
    KubeletStopped                               Ready is Unknown (or missing): the kubelet stopped posting status
    Unschedulable                                spec.unschedulable (cordoned); labels.since: the taint's timeAdded
    NodeReady                                    Ready while something else above persists: ends NotReady alone
    NodeHealthy                                  Ready, schedulable and no pressure: the recovery of everything
    node_allocatable_memory_bytes, node_allocatable_cpu_cores   at each resync

Called by the kubernetes source for each Node it sees.
"""

from __future__ import annotations

import datetime as dt
import re

from healer_common.contract.events import MetricSample
from services.collector.observations import Emission, Json, ObjectKey, Observation, object_key, observe
from services.collector.sources.tracker import ConditionCache

PRESSURES = ("MemoryPressure", "DiskPressure", "PIDPressure")
_SUFFIXES = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def parse_quantity(value: object) -> float | None:
    """A Kubernetes quantity ("3800m", "16Gi", "1e3") as a number; None when it is not one."""
    found = _QUANTITY.match(str(value).strip())
    if found is None or found.group(2) not in _SUFFIXES:
        return None
    try:
        return float(found.group(1)) * _SUFFIXES[found.group(2)]
    except ValueError:
        return None


UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


def node_observations(node: Json) -> list[Observation]:
    key = object_key(node)
    conditions = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
    labels = {"node": key[1]}

    def about(reason: str, condition: Json, **extra: str) -> Observation:
        message = condition.get("message") or f"{condition.get('type')} is {condition.get('status')}"
        return observe("Node", key, reason, labels={**labels, **extra}, message=message, occurrence=_since(condition))

    found = [about(p, conditions[p]) for p in PRESSURES if (conditions.get(p) or {}).get("status") == "True"]
    if (network := conditions.get("NetworkUnavailable") or {}).get("status") == "True":
        found.append(about("NetworkUnavailable", network))
    if (node.get("spec") or {}).get("unschedulable"):
        cordon = _cordon(node)
        since = {"since": str(cordon["lastTransitionTime"])} if cordon.get("lastTransitionTime") else {}
        found.append(about("Unschedulable", cordon, **since))
    ready = conditions.get("Ready") or {"type": "Ready", "status": "Unknown"}
    if ready.get("status") == "False":
        found.append(about("NotReady", ready))
    elif ready.get("status") != "True":
        found.append(about("KubeletStopped", ready))
    elif found:
        found.append(about("NodeReady", ready))
    return found or [about("NodeHealthy", ready)]


def _cordon(node: Json) -> Json:
    """The cordon as a condition: since the unschedulable taint was added, when the API says."""
    taints = (node.get("spec") or {}).get("taints") or []
    added = next((t.get("timeAdded") for t in taints if t.get("key") == UNSCHEDULABLE_TAINT), None)
    return {"type": "Unschedulable", "status": "True", "message": "cordoned", "lastTransitionTime": added}


def node_samples(node: Json, now: dt.datetime) -> list[MetricSample]:
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    labels = {"node": object_key(node)[1]}
    found = []
    for name, resource in (("node_allocatable_memory_bytes", "memory"), ("node_allocatable_cpu_cores", "cpu")):
        value = parse_quantity(allocatable.get(resource, ""))
        if value is not None:
            found.append(MetricSample(name=name, value=value, labels=labels, time=now))
    return found


def _since(condition: Json) -> str:
    return str(condition.get("lastTransitionTime") or "")


def slim_node(node: Json) -> Json:
    status = node.get("status") or {}
    spec = node.get("spec") or {}
    return {
        "metadata": {"name": (node.get("metadata") or {}).get("name")},
        "spec": {"unschedulable": bool(spec.get("unschedulable")), "taints": spec.get("taints") or []},
        "status": {"conditions": status.get("conditions") or [], "allocatable": status.get("allocatable") or {}},
    }


class NodeTracker:
    def __init__(self) -> None:
        self._cache = ConditionCache(lambda node, _now: node_observations(node), slim_node)

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        return Emission(conditions=self._cache.observe(obj, now))

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        self._cache.remove(key)
        return Emission()

    def keys(self) -> list[ObjectKey]:
        return list(self._cache.keys())

    def resync(self, now: dt.datetime) -> Emission:
        samples = [sample for node in self._cache.objects() for sample in node_samples(node, now)]
        return Emission(conditions=self._cache.reevaluate(now), samples=samples)
