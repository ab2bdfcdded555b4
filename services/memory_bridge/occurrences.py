"""Alerts and changes reduced to what memory reasons about: when, what (an alert id or `change:<what>`),
where (cluster, namespace, workload) and whether it fired or resolved.

The sleep-time analysis mines occurrences for patterns; the bridge keeps the recent ones as the "current
conditions" that predictions match and that contexts show. Pure.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ChangeEvent

_DEPLOYMENT_POD = re.compile(r"-[a-z0-9]{6,10}-[a-z0-9]{5}$")
_GENERATED_SUFFIX = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{5}$")
_ORDINAL = re.compile(r"-\d+$")
_WORKLOAD_LABELS = ("deployment", "statefulset", "daemonset", "application", "owner_name")
CHANGE_PREFIX = "change:"


def workload_of(name: str | None) -> str | None:
    """The workload a pod belongs to, from its name: `gateway-7d4b9c6f5-x2k8p` -> `gateway`, `rex-1` -> `rex`.

    Pods of one workload are one "service" to memory: a fix that worked on yesterday's pod of a Deployment
    is evidence for today's pod of it.
    """
    if not name:
        return None
    for pattern in (_DEPLOYMENT_POD, _GENERATED_SUFFIX, _ORDINAL):
        stripped = pattern.sub("", name)
        if stripped != name and stripped:
            return stripped
    return name


@dataclass(frozen=True)
class Occurrence:
    time: dt.datetime
    key: str
    """an alert id (`H8`) or `change:<what>` (`change:deploy`)"""
    cluster: str
    namespace: str | None
    service: str | None
    firing: bool = True
    summary: str = ""
    ref: str = ""
    """the alert's fingerprint or the change's id"""

    @property
    def is_change(self) -> bool:
        return self.key.startswith(CHANGE_PREFIX)


def from_alert(alert: Alert) -> Occurrence:
    labels = alert.labels
    service = next((labels[k] for k in _WORKLOAD_LABELS if labels.get(k)), None)
    if service is None and alert.resource is not None:
        service = workload_of(alert.resource.name)
    return Occurrence(
        time=alert.starts_at if alert.firing else (alert.ends_at or alert.time),
        key=alert.alert_id,
        cluster=alert.cluster,
        namespace=alert.namespace,
        service=service,
        firing=alert.firing,
        summary=alert.summary(),
        ref=alert.fingerprint,
    )


def from_change(change: ChangeEvent, received_at: dt.datetime) -> Occurrence:
    """A change as an occurrence; one without a time of its own happened when it was received."""
    resource = change.data.resource
    return Occurrence(
        time=change.time or received_at,
        key=f"{CHANGE_PREFIX}{change.data.what}",
        cluster=change.cluster,
        namespace=resource.namespace,
        service=workload_of(resource.name),
        summary=f"{change.data.what} of {resource}: {change.data.from_!r} -> {change.data.to!r}",
        ref=change.id,
    )
