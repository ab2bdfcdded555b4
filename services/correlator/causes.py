"""Root cause ranking: the seed's AlertCorrelation (primary alert, related alerts, correlation strength,
common root causes, suggested actions) as `Incident.causes`, most likely first.

Candidates come from four kinds of evidence, each scored in [0, 1]:

- **topology**: an object many of the incident's alerts hang from (their node, Deployment, StatefulSet,
  owner, ArgoCD Application, namespace). Its score grows with the share of alerts under it (coverage),
  with an alert about the object itself (the node's own MemoryPressure), and when that alert came first;
  broader objects weigh less (a namespace is a weak explanation, a node a strong one).
- **alert**: each alert's own object, the explanation of a lone alert.
- **change**: a deploy, config, flag or scale change to an object the alerts hang from, shortly before
  they fired ("deployment-related regression"). It covers only the alerts that started after it, and weighs
  more the closer it came before them.
- **co-occurrence**: an alert of type A in the incident that learned history says precedes its other alert
  types (cooccurrence.py), scored by the link's strength.

Candidates for the same object merge (the best score stands; the evidence is pooled). Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import AlertSummary, CauseCandidate, Incident
from services.correlator.changes import ChangeRecord
from services.correlator.cooccurrence import LinkStats, LinkThresholds, alert_type
from services.correlator.suggestions import for_alert, for_anchor, for_change
from services.correlator.topology import Anchor, is_own, summary_anchors

MAX_CAUSES = 5
MAX_OWN = 20
MAX_EVIDENCE = 100
SCOPE_WEIGHT = {
    "node": 1.0,
    "application": 0.95,
    "deployment": 0.9,
    "statefulset": 0.9,
    "owner": 0.85,
    "alert": 0.7,
    "namespace": 0.5,
}
CHANGE_WEIGHT = {"deploy": 1.0, "config": 0.9, "flag": 0.85, "scale": 0.6}


@dataclass(frozen=True)
class RankingInputs:
    changes: Sequence[ChangeRecord]
    links: LinkStats
    thresholds: LinkThresholds
    change_window: dt.timedelta


def _key(resource: ResourceRef | None) -> str:
    return resource.key if resource else "-"


def _score(value: float) -> float:
    return round(max(0.0, min(1.0, value)), 3)


def _topology(alerts: Sequence[AlertSummary], cluster: str) -> list[CauseCandidate]:
    earliest = min(alerts, key=lambda a: a.starts_at)
    under: dict[Anchor, list[AlertSummary]] = {}
    for alert in alerts:
        for anchor in summary_anchors(alert, cluster):
            under.setdefault(anchor, []).append(alert)
    found = []
    for anchor, members in under.items():
        own = [a for a in alerts if is_own(a.resource, anchor)]
        if len(members) < 2 and not own:
            continue
        covered = {a.fingerprint for a in members} | {a.fingerprint for a in own}
        first = earliest.fingerprint in covered
        value = 0.6 * len(covered) / len(alerts) + 0.3 * bool(own) + 0.1 * first
        itself = f"; its own alert: {own[0].summary}" if own else ""
        found.append(
            CauseCandidate(
                kind="topology",
                description=f"{len(covered)} of {len(alerts)} alerts are on {anchor}{itself}",
                score=_score(SCOPE_WEIGHT[anchor.kind] * value),
                resource=own[0].resource if own else anchor.resource,
                evidence=sorted(covered),
                suggested_actions=for_anchor(anchor),
            )
        )
    return found


def _own_alerts(alerts: Sequence[AlertSummary]) -> list[CauseCandidate]:
    """The earliest alert's object, and objects that are rarely mere victims (anything but a pod)."""
    earliest = min(alerts, key=lambda a: a.starts_at)
    chosen = [a for a in alerts if a is earliest or (a.resource is not None and a.resource.kind != "Pod")]
    found = []
    for alert in chosen[:MAX_OWN]:
        if alert.resource is None:
            continue
        first = alert is earliest
        value = 0.6 / len(alerts) + 0.3 + 0.1 * first
        found.append(
            CauseCandidate(
                kind="time-order" if first and len(alerts) > 1 else "alert",
                description=f"{'first to fire: ' if first and len(alerts) > 1 else ''}{alert.summary}",
                score=_score(SCOPE_WEIGHT["alert"] * value),
                resource=alert.resource,
                evidence=[alert.fingerprint],
                suggested_actions=for_alert(alert),
            )
        )
    return found


def _changes(alerts: Sequence[AlertSummary], cluster: str, inputs: RankingInputs) -> list[CauseCandidate]:
    first_at = min(a.starts_at for a in alerts)
    found = []
    for change in inputs.changes:
        anchor = change.anchor
        lead = first_at - change.at
        if anchor is None or change.cluster != cluster or lead > inputs.change_window:
            continue
        after = [a for a in alerts if a.starts_at >= change.at and anchor in summary_anchors(a, cluster)]
        if not after:
            continue
        recency = 1.0 - max(lead, dt.timedelta(0)) / inputs.change_window
        scope = 1.0 if anchor.kind != "namespace" else 0.8
        value = CHANGE_WEIGHT.get(change.what, 0.6) * scope * (0.5 + 0.5 * len(after) / len(alerts))
        found.append(
            CauseCandidate(
                kind="change",
                description=f"{change.what}-related regression: {change.describe()}, then {len(after)} of "
                f"{len(alerts)} alerts on {anchor}",
                score=_score(value * (0.6 + 0.4 * recency)),
                resource=change.resource,
                evidence=[change.change_id, *sorted(a.fingerprint for a in after)],
                suggested_actions=for_change(change),
            )
        )
    return found


def _links(alerts: Sequence[AlertSummary], inputs: RankingInputs) -> list[CauseCandidate]:
    by_type: dict[str, list[AlertSummary]] = {}
    for alert in alerts:
        by_type.setdefault(alert_type(alert.labels), []).append(alert)
    found = []
    for cause_type, causes in by_type.items():
        cause = min(causes, key=lambda a: a.starts_at)
        followers = [
            (link, effects)
            for effect_type, effects in by_type.items()
            if effect_type != cause_type
            and inputs.thresholds.trusted(link := inputs.links.link(cause_type, effect_type))
            and any(e.starts_at >= cause.starts_at for e in effects)
        ]
        if cause.resource is None or not followers:
            continue
        best = max((link for link, _ in followers if link is not None), key=lambda link: link.strength)
        explained = [*causes, *(e for _, effects in followers for e in effects)]
        found.append(
            CauseCandidate(
                kind="co-occurrence",
                description=f"{cause.summary}: {best.describe(inputs.links.window)}",
                score=_score(0.4 + 0.55 * best.strength * len(explained) / len(alerts)),
                resource=cause.resource,
                evidence=sorted(a.fingerprint for a in explained),
                suggested_actions=for_alert(cause),
            )
        )
    return found


def _merge(candidates: list[CauseCandidate]) -> list[CauseCandidate]:
    best: dict[str, CauseCandidate] = {}
    for candidate in sorted(candidates, key=lambda c: -c.score):
        key = _key(candidate.resource)
        if key not in best:
            best[key] = candidate
            continue
        kept = best[key]
        evidence = kept.evidence + [e for e in candidate.evidence if e not in kept.evidence]
        actions = kept.suggested_actions + [a for a in candidate.suggested_actions if a not in kept.suggested_actions]
        best[key] = kept.model_copy(update={"evidence": evidence[:MAX_EVIDENCE], "suggested_actions": actions})
    return sorted(best.values(), key=lambda c: (-c.score, _key(c.resource)))


def rank_causes(incident: Incident, inputs: RankingInputs) -> list[CauseCandidate]:
    """The incident's likely causes, most likely first (at most MAX_CAUSES)."""
    alerts = incident.alerts
    candidates = [
        *_topology(alerts, incident.cluster),
        *_own_alerts(alerts),
        *_changes(alerts, incident.cluster, inputs),
        *_links(alerts, inputs),
    ]
    return _merge(candidates)[:MAX_CAUSES]
