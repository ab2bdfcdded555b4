"""Deployments, ReplicaSets and PVCs: rollouts as changes, and the links the topology needs.

    Deployment   a new image is a change `what=deploy` (from/to: the images); a new revision without a new
                 image is `what=config` (from/to: the revisions); new replicas are `what=scale`. The first
                 sight of a Deployment is no change: a collector that starts has seen nothing happen.
    ReplicaSet   which Deployment owns it, so a pod's `deployment` label resolves (topology.py)
    PVC          its node when bound to a local volume (topology.py); usage comes from Prometheus

The correlator weighs changes as likely causes of the alerts that follow them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from healer_common.contract.events import ChangeData, ResourceRef
from services.collector.observations import ChangeRecord, Emission, Json, ObjectKey, object_key
from services.collector.sources.tracker import Tracker
from services.collector.topology import Topology

REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class Rollout:
    """What of a Deployment makes a change: its revision, images and replicas."""

    revision: str
    images: str
    replicas: int | None

    @classmethod
    def of(cls, deployment: Json) -> Rollout:
        meta = deployment.get("metadata") or {}
        spec = deployment.get("spec") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        images = [(str(c.get("name")), str(c.get("image"))) for c in containers]
        text = images[0][1] if len(images) == 1 else ",".join(f"{n}={i}" for n, i in images)
        replicas = spec.get("replicas")
        return cls(str((meta.get("annotations") or {}).get(REVISION, "")), text, int(replicas) if replicas else None)


def rollout_changes(key: ObjectKey, before: Rollout, after: Rollout) -> list[ChangeRecord]:
    resource = ResourceRef(kind="Deployment", namespace=key[0] or None, name=key[1])
    where = f"Deployment/{key[0]}/{key[1]}"
    found = []
    if before.images != after.images:
        data = ChangeData(what="deploy", resource=resource, from_=before.images, to=after.images)
        found.append(ChangeRecord(data, f"{where}/deploy/{before.revision}:{before.images}->{after.images}"))
    elif before.revision != after.revision:
        data = ChangeData(what="config", resource=resource, from_=before.revision, to=after.revision)
        found.append(ChangeRecord(data, f"{where}/config/{before.revision}->{after.revision}"))
    if before.replicas != after.replicas and after.replicas is not None:
        data = ChangeData(what="scale", resource=resource, from_=before.replicas, to=after.replicas)
        found.append(ChangeRecord(data, f"{where}/scale/{after.revision}:{before.replicas}->{after.replicas}"))
    return found


class DeploymentTracker(Tracker):
    def __init__(self) -> None:
        self._rollouts: dict[ObjectKey, Rollout] = {}

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        del now
        key, after = object_key(obj), Rollout.of(obj)
        before = self._rollouts.get(key)
        self._rollouts[key] = after
        if before is None or before == after:
            return Emission()
        return Emission(changes=rollout_changes(key, before, after))

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        self._rollouts.pop(key, None)
        return Emission()

    def keys(self) -> list[ObjectKey]:
        return list(self._rollouts)


class TopologyFeed(Tracker):
    """ReplicaSets and PVCs: nothing to emit, only links for the topology every pod signal is labelled with."""

    def __init__(self, topology: Topology, kind: str) -> None:
        self._observe = topology.observe_replicaset if kind == "replicasets" else topology.observe_pvc
        self._forget = topology.forget_replicaset if kind == "replicasets" else topology.forget_pvc
        self._keys: set[ObjectKey] = set()

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        del now
        key = object_key(obj)
        self._keys.add(key)
        self._observe(key, obj)
        return Emission()

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        self._keys.discard(key)
        self._forget(key)
        return Emission()

    def keys(self) -> list[ObjectKey]:
        return list(self._keys)
