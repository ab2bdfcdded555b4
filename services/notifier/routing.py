"""Which channels hear about an incident, and which escalation policy watches it: the route tree, walked as
Alertmanager walks its own (the root matches everything; children are tried in order; the first child that
matches wins unless it says `continue`; a node whose children all miss is itself the match).

The labels routes see are the incident's: those every alert shares, the group labels, and the primary alert's
`alertname` (readable, `MemoryPressure`) and `alert_id` (`H8`), `severity`, `cluster` and `namespace`. Called
by the notifier's incident flow (flow.py) for every revision worth telling; pure, so the tree is tested as a
function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from healer_common.contract.alerts import CATALOGUE
from healer_common.contract.incidents import Incident
from healer_common.settings.notifier import DEFAULT_RECEIVER, RootRoute, Route


@dataclass(frozen=True)
class RouteMatch:
    """What the tree decided: receivers in match order, and the first escalation policy named on the way."""

    receivers: tuple[str, ...]
    escalation: str | None


def incident_labels(incident: Incident) -> dict[str, str]:
    """The label set routes match: common alert labels, group labels, then the incident's own facts."""
    common = dict(incident.alerts[0].labels)
    for alert in incident.alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return {
        **common,
        **incident.group_labels,
        "alertname": _alertname(incident.primary.alert_id, incident.primary.labels),
        "alert_id": incident.primary.alert_id,
        "severity": incident.severity,
        "cluster": incident.cluster,
        "namespace": incident.namespace or "",
    }


def _alertname(alert_id: str, labels: dict[str, str]) -> str:
    """Readable for Healer's own alerts (even in an incident stored before alertnames were); an external
    alert's is Prometheus's."""
    entry = CATALOGUE.get(alert_id)
    return labels.get("alertname", alert_id) if entry is None or alert_id == "EXT" else entry.alertname


def match(root: RootRoute, labels: dict[str, str]) -> RouteMatch:
    found = _walk(root.routes, labels, root.receiver, root.escalation)
    if not found:
        found = [(root.receiver, root.escalation)]
    receivers = tuple(dict.fromkeys(receiver for receiver, _ in found))
    escalation = next((policy for _, policy in found if policy is not None), None)
    return RouteMatch(receivers, escalation)


def _walk(
    routes: Sequence[Route], labels: dict[str, str], receiver: str, escalation: str | None
) -> list[tuple[str, str | None]]:
    """The (receiver, escalation) of every matching node, children first, inheriting from the parent."""
    found: list[tuple[str, str | None]] = []
    for route in routes:
        if not all(m.matches(labels) for m in route.matchers):
            continue
        own_receiver = route.receiver or receiver
        own_escalation = route.escalation or escalation
        deeper = _walk(route.routes, labels, own_receiver, own_escalation)
        found.extend(deeper or [(own_receiver, own_escalation)])
        if not route.continue_:
            break
    return found


def channels_for(receivers: Sequence[str], declared: dict[str, list[str]], configured: Sequence[str]) -> list[str]:
    """The union of the receivers' channels, in the order channels are configured; `default` is all of them."""
    wanted: set[str] = set()
    for receiver in receivers:
        wanted.update(configured if receiver == DEFAULT_RECEIVER else declared.get(receiver, []))
    return [channel for channel in configured if channel in wanted]
