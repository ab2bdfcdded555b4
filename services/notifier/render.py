"""What a person reads: one Notification rendered from an incident or a remediation, for every channel.

Ids derive from the source message, so a redelivered incident renders the same notification id and the
sent-log (sent_log.py) keeps it from going out twice.
"""

from __future__ import annotations

from healer_common.incidents import Incident
from healer_common.messages import stable_id
from healer_common.notifications import Notification, NotificationKind
from healer_common.remediations import Remediation

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


def for_incident(incident: Incident) -> Notification:
    firing = len(incident.firing_alerts)
    cause = incident.causes[0].description if incident.causes else "unknown"
    if incident.state == "resolved":
        text = f"Resolved after {len(incident.alerts)} alert(s)."
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
    )


def for_remediation(run: Remediation) -> Notification:
    mode = " (dry run)" if run.dry_run else ""
    detail = run.steps[-1].detail if run.steps else run.reason
    where = run.target or f"cluster {run.cluster}"
    return Notification(
        notification_id=stable_id("remediation", run.remediation_id, run.state)[:24],
        kind="approval_request" if run.state == "awaiting_approval" else "remediation",
        incident_id=run.incident_id,
        remediation_id=run.remediation_id,
        severity="warning" if run.state in {"failed", "rolled_back", "awaiting_approval"} else "info",
        cluster=run.cluster,
        namespace=run.target.namespace if run.target else None,
        title=f"Remediation {run.playbook} on {where} {_REMEDIATION_VERB[run.state]}{mode}",
        text=detail or run.reason,
        correlation_id=run.incident_id,
        time=run.time,
        fields={"remediation": run.remediation_id, "state": run.state, "incident": run.incident_id},
    )
