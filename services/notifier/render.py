"""What a person reads: one Notification rendered from an incident or a remediation, for every channel.

Ids derive from the source message, so a redelivered incident renders the same notification id and the
sent-log (sent_log.py) keeps it from going out twice.
"""

from __future__ import annotations

from healer_common.contract.alerts import CATALOGUE
from healer_common.contract.incidents import Incident, IncidentAck
from healer_common.contract.messages import stable_id
from healer_common.contract.notifications import Notification, NotificationKind
from healer_common.contract.remediations import Remediation
from healer_common.durations import format_duration
from services.notifier.routing import incident_labels

_INCIDENT_KIND: dict[str, NotificationKind] = {
    "opened": "incident_opened",
    "updated": "incident_updated",
    "resolved": "incident_resolved",
}
_REMEDIATION_VERB = {
    "planned": "planned",
    "awaiting_approval": "is waiting for approval",
    "approved": "was approved",
    "denied": "was denied",
    "running": "is running",
    "acted": "acted",
    "succeeded": "succeeded",
    "failed": "failed",
    "rolled_back": "was rolled back",
    "skipped": "was skipped",
}


def plain_title(title: str) -> str:
    """`[OPENED] memory pressure ...` -> `memory pressure ...`, for channels that show the state on their own."""
    return title.split("] ", 1)[1] if title.startswith("[") and "] " in title else title


def for_incident(incident: Incident) -> Notification:
    firing = len(incident.firing_alerts)
    cause = incident.causes[0].description if incident.causes else "unknown"
    if incident.state == "resolved":
        text = f"Resolved after {len(incident.alerts)} alert(s){_recovered_in(incident)}."
    else:
        text = f"{firing} firing alert(s): {', '.join(incident.alert_ids)}. Likely cause: {cause}."
    return Notification(
        notification_id=stable_id("incident", incident.incident_id, incident.revision)[:24],
        kind=_INCIDENT_KIND[incident.state],
        incident_id=incident.incident_id,
        severity=incident.severity,
        cluster=incident.cluster,
        namespace=incident.namespace,
        title=f"[{incident.state.upper()}] {incident.title}",
        text=text,
        correlation_id=incident.incident_id,
        time=incident.time,
        fields={
            "incident": incident.incident_id,
            "revision": str(incident.revision),
            "cluster": incident.cluster,
        },
        labels=incident_labels(incident),
        fingerprint=incident.primary.fingerprint,
        target=str(incident.primary.resource) if incident.primary.resource else None,
    )


def _recovered_in(incident: Incident) -> str:
    """The time to recovery, from opened to resolved: the figure that shows whether healing got faster."""
    if incident.resolved_at is None:
        return ""
    seconds = max(0, round((incident.resolved_at - incident.opened_at).total_seconds()))
    return f", recovered in {format_duration(seconds, parts=2)}"


def for_remediation(run: Remediation, labels: dict[str, str] | None = None) -> Notification:
    """A remediation step; `labels` are those of its incident, so it follows the incident's routes."""
    mode = " (dry run)" if run.dry_run else ""
    detail = run.steps[-1].detail if run.steps else run.reason
    where = run.target or f"cluster {run.cluster}"
    asking = run.state == "awaiting_approval"
    text = detail or run.reason
    if asking:
        text = (
            f"{run.reason or text} Approve with `healer approve {run.remediation_id}` or refuse with "
            f"`healer deny {run.remediation_id}` (or through the remediator's approval endpoint)."
        )
    return Notification(
        notification_id=stable_id("remediation", run.remediation_id, run.state, run.revision)[:24],
        kind="approval_request" if asking else "remediation",
        incident_id=run.incident_id,
        remediation_id=run.remediation_id,
        severity="warning" if run.state in {"failed", "rolled_back", "awaiting_approval"} else "info",
        cluster=run.cluster,
        namespace=run.target.namespace if run.target else None,
        title=f"Remediation {run.playbook} on {where} {_REMEDIATION_VERB[run.state]}{mode}",
        text=text,
        correlation_id=run.incident_id,
        time=run.time,
        fields={"remediation": run.remediation_id, "state": run.state, "incident": run.incident_id},
        labels=labels or _alert_labels(run),
        target=str(run.target) if run.target else None,
    )


def _alert_labels(run: Remediation) -> dict[str, str]:
    """A run whose incident the notifier never saw is routed by its first alert's names."""
    alert_id = run.alert_ids[0] if run.alert_ids else ""
    alertname = CATALOGUE[alert_id].alertname if alert_id in CATALOGUE else alert_id
    return {"alertname": alertname, "alert_id": alert_id, "cluster": run.cluster}


def for_ack(ack: IncidentAck, incident: Notification) -> Notification:
    """Someone took the incident: said on the channels that heard of it (PagerDuty acknowledges)."""
    why = f" ({ack.reason})" if ack.reason else ""
    return incident.evolve(
        event_id=stable_id("ack", ack.event_id),
        notification_id=stable_id("ack", ack.event_id)[:24],
        kind="incident_acknowledged",
        title=f"[ACKNOWLEDGED] {plain_title(incident.title)}",
        text=f"Acknowledged by {ack.by} via {ack.source}{why}; escalation stopped.",
        fields={**incident.fields, "acknowledged_by": ack.by, "ack_source": ack.source},
        time=ack.time,
    )
