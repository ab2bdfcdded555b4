"""What a workflow failure looks like as a GitHub issue, decided without GitHub: the title and labels today's
Healer uses (`[HEAL-<ID>] <name>: <pod>`, labels `heal,remediation,<id>`), a body that carries the alert's
fingerprint so the issue is found again when the same failure comes back, and which open issue an update
belongs to (the same fingerprint, else one of the same alert id opened within the family window: comment on
it rather than open a twin). Pure; channels/github.py talks to the REST API.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from healer_common.contract.alerts import CATALOGUE
from healer_common.contract.notifications import Notification

_MARKER = "<!-- healer:fingerprint={} -->"
_FOUND_MARKER = re.compile(r"<!-- healer:fingerprint=([A-Za-z0-9]+) -->")


@dataclass(frozen=True)
class OpenIssue:
    number: int
    fingerprint: str | None
    created_at: dt.datetime


def workflow_alert(notification: Notification) -> str | None:
    """The catalogue id when the notification is about an agent-workflow failure (the A-series), else None."""
    alert_id = notification.labels.get("alert_id") or notification.labels.get("alertname", "")  # or version 1
    entry = CATALOGUE.get(alert_id)
    return alert_id if entry is not None and entry.family == "agent-workflow" else None


OPENING_KINDS = frozenset({"incident_opened", "incident_updated", "escalation"})


def opens_issue(notification: Notification) -> bool:
    """Only news of the failure itself opens an issue: a remediation step or an acknowledgement that finds no
    issue (its incident was not heard of, or came late) is not a workflow failure of its own."""
    return notification.kind in OPENING_KINDS


def issue_title(notification: Notification, alert_id: str) -> str:
    pod = notification.labels.get("pod") or (notification.target or "").rsplit("/", 1)[-1] or notification.cluster
    return f"[HEAL-{alert_id}] {CATALOGUE[alert_id].name}: {pod}"


def issue_labels(alert_id: str) -> list[str]:
    return ["heal", "remediation", alert_id.lower()]


def issue_body(notification: Notification) -> str:
    facts = "\n".join(f"- **{key}**: {value}" for key, value in sorted(notification.fields.items()))
    return (
        f"{notification.text}\n\n{facts}\n\n"
        f"Opened by Healer for incident `{notification.incident_id}`; updates follow as comments and the issue "
        f"closes when the incident resolves.\n\n{_MARKER.format(notification.fingerprint or 'none')}\n"
    )


def comment_body(notification: Notification) -> str:
    return f"**{notification.title}**\n\n{notification.text}"


def read_issue(raw: dict[str, Any]) -> OpenIssue:
    """An issue as GET /repos/{owner}/{repo}/issues lists it."""
    found = _FOUND_MARKER.search(raw.get("body") or "")
    created = dt.datetime.fromisoformat(str(raw["created_at"]).replace("Z", "+00:00"))
    return OpenIssue(int(raw["number"]), found.group(1) if found else None, created)


def choose_issue(
    issues: list[OpenIssue], fingerprint: str | None, now: dt.datetime, family_window_s: float
) -> int | None:
    """The open issue an update belongs to, or None when a new one is due."""
    for issue in issues:
        if fingerprint and issue.fingerprint == fingerprint:
            return issue.number
    recent = [i for i in issues if (now - i.created_at).total_seconds() < family_window_s]
    return max(recent, key=lambda i: i.created_at).number if recent else None
