"""Escalation along a policy's levels: when each level is due, what to do when its time comes, and how the
notification of a level reads. Pure; the timers and state live in Redis (escalation_store.py) and the
notifier's periodic tick (flow.py) asks `decide` what a due timer means.

An escalation starts with the incident's first notification; level n fires `levels[n].delay` after that,
unless someone acknowledged the incident (`healer ack`, PagerDuty) or it resolved first: then it stops.

With no policy configured, the seed's applies (`SEED_POLICY`): the first notification (Slack) is level 1,
on-call Slack and PagerDuty at 15 minutes, PagerDuty again at 30; PagerDuty only for a critical incident. A
remediation's `escalate` step does not wait for the delays: it fires the next level now (`now_level`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from healer_common.contract.messages import stable_id
from healer_common.contract.notifications import Notification
from healer_common.settings.notifier import EscalationLevel, EscalationPolicy
from services.notifier.render import plain_title

SEED_POLICY = "seed"
PAGING = "pagerduty"


def seed_policy() -> EscalationPolicy:
    """0 m the alerts channel (the incident's own notification), 15 m on-call Slack and PagerDuty, 30 m
    PagerDuty again (critical)."""
    return EscalationPolicy(
        levels=[
            EscalationLevel(delay=0.0, channels=["slack"]),
            EscalationLevel(delay=900.0, channels=["slack", PAGING]),
            EscalationLevel(delay=1800.0, channels=[PAGING]),
        ]
    )


def first_level(policy_name: str) -> int:
    """The seed's level 1 is the incident's own notification, so its escalation starts at level 2."""
    return 2 if policy_name == SEED_POLICY else 1


def level_channels(policy_name: str, policy: EscalationPolicy, level: int, severity: str) -> list[str]:
    """A level's channels; under the seed's policy PagerDuty pages only for a critical incident."""
    channels: list[str] = list(policy.levels[level - 1].channels)
    if policy_name == SEED_POLICY and severity != "critical":
        channels = [c for c in channels if c != PAGING]
    return channels


def now_level(policy: EscalationPolicy, escalation: Escalation) -> int:
    """The level an escalate request fires now: the next one, or the last again once all have fired."""
    return min(escalation.next_level, len(policy.levels))


@dataclass(frozen=True)
class Escalation:
    """One incident's escalation as stored: which policy, since when, the next level (1-based), why it stopped."""

    incident_id: str
    policy: str
    started_at: dt.datetime
    next_level: int = 1
    stopped: str | None = None

    def at_level(self, level: int) -> Escalation:
        return dataclasses.replace(self, next_level=level)


@dataclass(frozen=True)
class Decision:
    action: Literal["fire", "wait", "done", "stopped"]
    level: int = 0
    at: dt.datetime | None = None
    reason: str = ""


def due_at(policy: EscalationPolicy, escalation: Escalation, level: int) -> dt.datetime:
    return escalation.started_at + dt.timedelta(seconds=policy.levels[level - 1].delay)


def decide(policy: EscalationPolicy | None, escalation: Escalation, now: dt.datetime) -> Decision:
    """What a timer that came due means now: fire the next level, wait longer, or nothing more to do."""
    if escalation.stopped:
        return Decision("stopped", escalation.next_level, reason=escalation.stopped)
    if policy is None:
        return Decision("stopped", escalation.next_level, reason=f"policy {escalation.policy!r} no longer exists")
    if escalation.next_level > len(policy.levels):
        return Decision("done", escalation.next_level)
    when = due_at(policy, escalation, escalation.next_level)
    if when > now:
        return Decision("wait", escalation.next_level, at=when)
    return Decision("fire", escalation.next_level, at=when)


def after_firing(policy: EscalationPolicy, escalation: Escalation) -> tuple[Escalation, dt.datetime | None]:
    """The escalation once its next level fired, and when the level after is due (None: it was the last)."""
    advanced = Escalation(escalation.incident_id, escalation.policy, escalation.started_at, escalation.next_level + 1)
    if advanced.next_level > len(policy.levels):
        return advanced, None
    return advanced, due_at(policy, advanced, advanced.next_level)


def level_notification(
    incident: Notification, policy: EscalationPolicy, level: int, started_at: dt.datetime, now: dt.datetime
) -> Notification:
    """What the channels of a level receive: the incident, said louder, with how to make it stop."""
    waited = int((now - started_at).total_seconds())
    total = len(policy.levels)
    unacked = f"unacknowledged for {_span(waited)}; " if level > 1 else ""
    return incident.evolve(
        event_id=stable_id("escalation", incident.incident_id, level),
        notification_id=stable_id("escalation", incident.incident_id, level)[:24],
        kind="escalation",
        title=f"[ESCALATED {level}/{total}] {plain_title(incident.title)}",
        text=f"{incident.text} {unacked}acknowledge with `healer ack {incident.incident_id}`.",
        fields={**incident.fields, "escalation_level": str(level), "escalation_levels": str(total)},
        time=now,
    )


def _span(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"
