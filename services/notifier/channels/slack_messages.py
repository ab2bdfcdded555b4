"""How an incident lives in Slack, decided without Slack: one root message per incident whose status line is
kept current in place (open, acknowledged, waiting for approval, remediated, resolved), and a thread reply
for everything that happens after it. Pure; channels/slack.py runs the plan with slack-sdk.

The plan puts the in-place update before the reply: an update can be repeated harmlessly, a reply cannot, so
a delivery that fails half-way and is redelivered repeats at most the update.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from healer_common.contract.notifications import Notification
from services.notifier.render import plain_title

SECTION_LIMIT = 3000
_STATUS_OF_KIND = {
    "incident_opened": "open",
    "incident_updated": "open",
    "incident_resolved": "resolved",
    "incident_acknowledged": "acknowledged",
    "approval_request": "waiting for approval",
    "escalation": "escalated",
}
_STATUS_OF_REMEDIATION = {"succeeded": "remediated", "failed": "remediation failed", "rolled_back": "rolled back"}
_EMOJI = {
    "open": ":red_circle:",
    "escalated": ":rotating_light:",
    "acknowledged": ":eyes:",
    "waiting for approval": ":raised_hand:",
    "remediated": ":large_green_circle:",
    "remediation failed": ":warning:",
    "rolled back": ":leftwards_arrow_with_hook:",
    "resolved": ":white_check_mark:",
}


@dataclass(frozen=True)
class RootMessage:
    """The incident's root message as Slack holds it (channel id and ts) and what it currently says."""

    incident_id: str
    channel: str
    ts: str
    title: str
    text: str
    severity: str
    cluster: str
    status: str


@dataclass(frozen=True)
class SlackOp:
    kind: Literal["post_root", "update_root", "reply"]
    text: str
    blocks: list[dict[str, Any]]
    root: RootMessage | None = None


def status_after(notification: Notification, current: str | None) -> str:
    if notification.kind == "remediation":
        state = notification.fields.get("state", "")
        return _STATUS_OF_REMEDIATION.get(state, current or "open")
    if notification.kind == "incident_updated" and current not in {None, "resolved"}:
        return current or "open"
    return _STATUS_OF_KIND.get(notification.kind, current or "open")


def root_from(notification: Notification, channel: str, ts: str = "") -> RootMessage:
    return RootMessage(
        incident_id=notification.incident_id or "",
        channel=channel,
        ts=ts,
        title=plain_title(notification.title),
        text=notification.text,
        severity=notification.severity,
        cluster=notification.cluster,
        status=status_after(notification, None),
    )


def plan(notification: Notification, root: RootMessage | None, channel: str) -> list[SlackOp]:
    """The Slack calls one notification needs, given the incident's root message if it has one."""
    if root is None:
        first = root_from(notification, channel)
        return [SlackOp("post_root", *root_content(first), root=first)]
    updated = replace(root, status=status_after(notification, root.status))
    if notification.kind in {"incident_opened", "incident_updated", "incident_resolved"}:
        updated = replace(updated, title=plain_title(notification.title), severity=notification.severity)
    ops = [SlackOp("update_root", *root_content(updated), root=updated)] if updated != root else []
    return [*ops, SlackOp("reply", *reply_content(notification), root=updated)]


def root_content(root: RootMessage) -> tuple[str, list[dict[str, Any]]]:
    headline = f"{_EMOJI.get(root.status, ':grey_question:')} [{root.status.upper()}] {root.title}"
    context = f"incident `{root.incident_id}` · cluster {root.cluster} · severity {root.severity}"
    blocks = [_section(f"*{headline}*\n{root.text}"), {"type": "context", "elements": [_mrkdwn(context)]}]
    return headline, blocks


def reply_content(notification: Notification) -> tuple[str, list[dict[str, Any]]]:
    text = f"{notification.title}: {notification.text}"
    return text, [_section(f"*{notification.title}*\n{notification.text}")]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _mrkdwn(text: str) -> dict[str, str]:
    clipped = text if len(text) <= SECTION_LIMIT else text[: SECTION_LIMIT - 1] + "…"
    return {"type": "mrkdwn", "text": clipped}
