"""One incident, several problems: an incident groups alerts that share a place in the cluster (an Argo CD
Application, a node), yet an OOM loop in one Deployment and a bad image in another are two problems, each
with the remediation its own playbook gives. A problem is the incident's alerts about one workload (the
Deployment or StatefulSet a pod belongs to, else the alert's own object). Among its uninhibited firing
alerts, the one the highest-priority playbook answers leads the problem (then the most severe, then the
oldest): an OOM-killed pod is in CrashLoopBackOff from the same second, and the OOM's playbook (restart, then
scale) must answer it, not the crash loop's restart, whose cooldown would then hold the OOM's back. Which of
two alerts raised in the same second comes first is not something to leave to their fingerprints.

Each run sees its problem's view of the incident (`problem_view`): only its alerts, resolved once they all
have, so it is verified by its own alerts and a restarted pod's successor is followed within its workload.
Problems are started most severe first, then oldest, at most `limit` per incident. A problem that a
playbook would answer once its conditions' durations have passed (and that outranks what answers it now)
waits until then (`waits_until`). Pure; coordinator.py calls it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from healer_common.contract.alerts import SEVERITY_RANK
from healer_common.contract.incidents import AlertSummary, Incident
from services.remediator.matching import held_back, playbook_for
from services.remediator.playbooks import Playbook

WORKLOAD_LABELS = ("deployment", "statefulset")


def problem_key(alert: AlertSummary) -> str:
    """The workload an alert is about: `deployment/<namespace>/<name>` for a pod of one, else its object. A
    pod whose alert names no workload is one problem with the other pods of that alert id in its namespace:
    a restarted pod's successor fires under a new name, and is still the same problem."""
    resource = alert.resource
    namespace = (resource.namespace if resource else None) or alert.labels.get("namespace", "")
    for label in WORKLOAD_LABELS:
        if name := alert.labels.get(label):
            return f"{label}/{namespace}/{name}"
    if resource is None:
        return f"alert/{alert.alert_id}/{alert.fingerprint}"
    if resource.kind == "Pod":
        return f"pods/{alert.alert_id}/{namespace}"
    return f"{resource.kind.lower()}/{namespace}/{resource.name}"


@dataclass(frozen=True)
class Problem:
    key: str
    primary: AlertSummary
    playbook: Playbook | None
    waits_until: dt.datetime | None = None


def problem_view(incident: Incident, key: str) -> Incident:
    """The incident as one problem's run sees it: its alerts only, resolved when they all are."""
    alerts = [a for a in incident.alerts if problem_key(a) == key] or incident.alerts
    resolved = incident.state == "resolved" or all(a.status == "resolved" for a in alerts)
    return incident.model_copy(update={"alerts": alerts, "state": "resolved" if resolved else incident.state})


def _waiting(
    primary: AlertSummary, playbooks: Sequence[Playbook], chosen: Playbook | None, now: dt.datetime
) -> dt.datetime | None:
    """When a playbook that outranks the chosen one will hold (its durations passed), if one will."""
    floor = chosen.priority if chosen is not None else None
    times = [
        when
        for p in playbooks
        if (floor is None or p.priority > floor) and (when := held_back(p.trigger, primary, now)) is not None
    ]
    return min(times, default=None)


def _leading(
    live: Sequence[AlertSummary], playbooks: Sequence[Playbook], now: dt.datetime
) -> tuple[AlertSummary, Playbook | None]:
    """The alert that leads a problem, with the playbook that answers it (see the module's docstring)."""

    def rank(answer: tuple[AlertSummary, Playbook | None]) -> tuple[bool, int, int, dt.datetime]:
        alert, chosen = answer
        return chosen is None, -(chosen.priority if chosen else 0), -SEVERITY_RANK[alert.severity], alert.starts_at

    return min(((a, playbook_for(a, playbooks, now)) for a in live), key=rank)


def problems(incident: Incident, playbooks: Sequence[Playbook], now: dt.datetime) -> list[Problem]:
    """The incident's problems that still fire and are not inhibited (a down node's pods wait for their node),
    most severe first, then oldest. Silences are the maintenance hold's to judge (a notify-only one heals)."""
    by_key: dict[str, list[AlertSummary]] = {}
    for alert in incident.alerts:
        by_key.setdefault(problem_key(alert), []).append(alert)
    found = []
    for key, alerts in by_key.items():
        live = [a for a in alerts if a.status == "firing" and not a.inhibited_by]
        if not live:
            continue
        primary, chosen = _leading(live, playbooks, now)
        wait = _waiting(primary, playbooks, chosen, now)
        found.append(Problem(key, primary, None if wait else chosen, wait))
    return sorted(found, key=lambda p: (-SEVERITY_RANK[p.primary.severity], p.primary.starts_at, p.key))
