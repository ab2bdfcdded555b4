"""Condition rules run here: a condition reason on an object starts a watch, which fires its alert once the
condition has held long enough or repeated often enough, and resolves when a recovery reason comes.

A watch is in one of three states:

    pending   triggered, not yet held `for_s` nor repeated `repeats` times within `window_s`
    firing    its alert is out; a recovery resolves it at once, unless the alert is flapping (it fired
              again within `flap_window_s` of its last resolution), when the recovery must hold
              `flap_hold_s` first and a new trigger meanwhile keeps it firing without a word
    idle      resolved; remembered until `flap_window_s` has passed, to know whether it flaps

Pure: the caller (handlers.py) loads the object's watches from Redis (watch_store.py), calls `on_condition`
for an event or `on_due` when a watch's timer comes due (a state that simply persists must fire without a
new event), publishes the alerts and saves the watches.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from healer_common.contract.alerts import CATALOGUE, SEVERITY_RANK, Alert, Evidence, Severity, alert_fingerprint
from healer_common.contract.events import ConditionData, ConditionEvent, ResourceRef
from healer_common.contract.signals import CONDITIONS
from healer_common.durations import spoken_duration
from healer_common.settings.detector import DetectorSettings, RuleSettings
from services.detector.raising import escalated_alert, firing_alert, resolved_alert
from services.detector.rules.model import ConditionRule, Hold

MAX_SEEN = 64


class Watch(BaseModel):
    """One alert's watch on one object, as kept in Redis between events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str
    identity: str
    fingerprint: str
    cluster: str
    resource: ResourceRef
    reason: str
    message: str | None = None
    labels: dict[str, str]
    hold: tuple[float, int, float]  # for_s, repeats, window_s
    severity: Severity
    recoveries: list[str]
    since: AwareDatetime | None = None
    seen: list[AwareDatetime] = []
    evidence: list[Evidence] = []
    alert: Alert | None = None
    recovering_since: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    flaps: int = 0

    @property
    def state(self) -> Literal["pending", "firing", "idle"]:
        if self.alert is not None:
            return "firing"
        return "pending" if self.since is not None else "idle"


@dataclass(frozen=True)
class FlapPolicy:
    window_s: float
    hold_s: float


@dataclass
class Step:
    """What one evaluation decided: alerts to publish, and each touched watch's new state (None: forget)."""

    alerts: list[Alert] = field(default_factory=list)
    watches: dict[str, Watch | None] = field(default_factory=dict)


def _at_once(alert_id: str) -> ConditionRule:
    severity = CATALOGUE[alert_id].severity

    def judge(data: ConditionData, cfg: RuleSettings) -> Hold:
        del data, cfg
        return Hold(for_s=0.0, severity=severity)

    return ConditionRule(alert_id, ("",), judge)


@dataclass(frozen=True)
class ConditionCatalogue:
    """The condition rules by trigger reason, with the recoveries every watch honours."""

    by_reason: dict[str, list[ConditionRule]]
    generic_recoveries: frozenset[str]
    flap: FlapPolicy

    @classmethod
    def build(cls, rules: tuple[ConditionRule, ...], settings: DetectorSettings) -> ConditionCatalogue:
        by_reason: dict[str, list[ConditionRule]] = {}
        for rule in rules:
            for reason in rule.reasons:
                by_reason.setdefault(reason, []).append(rule)
        for reason, alert_id in settings.condition_alerts.items():  # a user's own reasons: fire at once
            if reason not in by_reason:
                rule = _at_once(alert_id)
                by_reason[reason] = [ConditionRule(alert_id, (reason,), rule.judge)]
        flap = FlapPolicy(settings.flap_window_s, settings.flap_hold_s)
        return cls(by_reason, frozenset(settings.recovery_reasons), flap)

    def recoveries(self, rule: ConditionRule) -> list[str]:
        if rule.recoveries is not None:
            return list(rule.recoveries)
        own = {r for reason in rule.reasons if reason in CONDITIONS for r in CONDITIONS[reason].recovers}
        return sorted(own | self.generic_recoveries)


def object_key(cluster: str, resource: ResourceRef) -> str:
    """The object a watch belongs to, container ignored, so a pod's recovery resolves its containers' alerts."""
    return f"{cluster}/{resource.kind}/{resource.namespace or '-'}/{resource.name}"


def due_at(watch: Watch, flap: FlapPolicy) -> dt.datetime | None:
    """When the timer must look at this watch again, if ever."""
    if watch.state == "pending" and watch.since is not None:
        return watch.since + dt.timedelta(seconds=watch.hold[0])
    if watch.state == "firing":
        return watch.recovering_since + dt.timedelta(seconds=flap.hold_s) if watch.recovering_since else None
    return watch.resolved_at + dt.timedelta(seconds=flap.window_s) if watch.resolved_at else None


def on_condition(
    event: ConditionEvent, watches: list[Watch], catalogue: ConditionCatalogue, cfg: RuleSettings, now: dt.datetime
) -> Step:
    """The transitions one condition event causes on its object's watches."""
    data = event.data
    seen_at = min(event.time or now, now)
    summary = f"{data.reason}: {data.message}" if data.message else data.reason
    evidence = Evidence(kind="event", summary=summary[:2_048], ref=event.id, time=seen_at)
    step = Step()
    by_fingerprint = {w.fingerprint: w for w in watches}
    for watch in watches:
        if data.reason in watch.recoveries:
            _recover(step, watch, evidence, cause=event.id, flap=catalogue.flap, now=now)
    for rule in catalogue.by_reason.get(data.reason, []):
        hold = rule.judge(data, cfg)
        if hold is None:
            continue
        fingerprint = alert_fingerprint(rule.alert_id, event.cluster, data.resource, {"reason": rule.identity})
        current = step.watches.get(fingerprint, by_fingerprint.get(fingerprint))
        watch = _triggered(
            current,
            rule,
            hold=hold,
            event=event,
            catalogue=catalogue,
            seen_at=seen_at,
            evidence=evidence,
            fingerprint=fingerprint,
        )
        _advance(step, watch, hold, event.id, now)
    return step


def on_due(watch: Watch, catalogue: ConditionCatalogue, now: dt.datetime) -> Step:
    """The timer's turn: fire what has held long enough, resolve what stayed recovered, forget the old."""
    step = Step()
    due = due_at(watch, catalogue.flap)
    if due is None or due > now:
        return step
    cause = f"due-{due.isoformat()}"
    if watch.state == "pending":
        _fire(step, watch, cause, due, now)
    elif watch.state == "firing" and watch.alert is not None:
        ended = watch.recovering_since or due
        evidence = Evidence(kind="event", summary=f"recovered for {spoken_duration((now - ended).total_seconds())}")
        _resolve(step, watch, watch.alert, ended=ended, evidence=evidence, cause=cause, now=now)
    else:
        step.watches[watch.fingerprint] = None
    return step


def _recover(step: Step, watch: Watch, evidence: Evidence, *, cause: str, flap: FlapPolicy, now: dt.datetime) -> None:
    if watch.alert is None:
        forget = watch.resolved_at is None
        step.watches[watch.fingerprint] = None if forget else watch.model_copy(update={"since": None, "seen": []})
        return
    if watch.flaps > 0 and flap.hold_s > 0:
        if watch.recovering_since is None:
            step.watches[watch.fingerprint] = watch.model_copy(update={"recovering_since": evidence.time})
        return
    _resolve(step, watch, watch.alert, ended=evidence.time or now, evidence=evidence, cause=cause, now=now)


def _resolve(
    step: Step, watch: Watch, alert: Alert, *, ended: dt.datetime, evidence: Evidence, cause: str, now: dt.datetime
) -> None:
    step.alerts.append(resolved_alert(alert, ends_at=ended, evidence=evidence, cause=cause, now=now))
    step.watches[watch.fingerprint] = watch.model_copy(
        update={"alert": None, "since": None, "seen": [], "recovering_since": None, "resolved_at": ended}
    )


def _since(rule: ConditionRule, data: ConditionData, seen_at: dt.datetime) -> dt.datetime:
    """When the condition began: labels.since for rules dated by it, else when it was seen."""
    if rule.dated_by_since and (text := data.labels.get("since")):
        try:
            began = dt.datetime.fromisoformat(text)
        except ValueError:
            return seen_at
        if began.tzinfo is not None:
            return min(began, seen_at)
    return seen_at


def _triggered(
    current: Watch | None,
    rule: ConditionRule,
    *,
    hold: Hold,
    event: ConditionEvent,
    catalogue: ConditionCatalogue,
    seen_at: dt.datetime,
    evidence: Evidence,
    fingerprint: str,
) -> Watch:
    """The watch after one more trigger: a new episode, or one more sighting of the current one."""
    data = event.data
    if current is not None and current.state != "idle":
        cutoff = seen_at - dt.timedelta(seconds=hold.window_s)
        seen = [t for t in current.seen if t >= cutoff][-MAX_SEEN:]
        return current.model_copy(
            update={
                "seen": [*seen, seen_at],
                "evidence": [*current.evidence, evidence][-8:],
                "hold": (hold.for_s, hold.repeats, hold.window_s),
                "recovering_since": None,
            }
        )
    return Watch(
        alert_id=rule.alert_id,
        identity=rule.identity,
        fingerprint=fingerprint,
        cluster=event.cluster,
        resource=data.resource,
        reason=data.reason,
        message=data.message,
        labels={**data.labels, "reason": data.reason},
        hold=(hold.for_s, hold.repeats, hold.window_s),
        severity=hold.severity,
        recoveries=catalogue.recoveries(rule),
        since=_since(rule, data, seen_at),
        seen=[seen_at],
        evidence=[evidence],
        resolved_at=current.resolved_at if current else None,
        flaps=current.flaps if current else 0,
    )


def _advance(step: Step, watch: Watch, hold: Hold, cause: str, now: dt.datetime) -> None:
    """Fire a pending watch that is due, escalate a firing one that got worse; record the watch either way."""
    step.watches[watch.fingerprint] = watch
    if watch.alert is not None:
        if SEVERITY_RANK[hold.severity] > SEVERITY_RANK[watch.alert.severity]:
            raised = escalated_alert(
                watch.alert, severity=hold.severity, evidence=watch.evidence[-1], cause=cause, now=now
            )
            step.alerts.append(raised)
            step.watches[watch.fingerprint] = watch.model_copy(update={"alert": raised, "severity": hold.severity})
        return
    assert watch.since is not None  # a triggered watch is pending
    held_until = watch.since + dt.timedelta(seconds=hold.for_s)
    repeated = hold.repeats > 1 and len(watch.seen) >= hold.repeats
    if held_until <= now or repeated:
        last_seen = watch.seen[-1] if watch.seen else now
        _fire(step, watch, cause, last_seen if repeated else max(held_until, last_seen), now)


def _fire(step: Step, watch: Watch, cause: str, starts_at: dt.datetime, now: dt.datetime) -> None:
    entry = CATALOGUE[watch.alert_id]
    assert watch.since is not None
    for_s, repeats, window_s = watch.hold
    if len(watch.seen) >= max(repeats, 2) and repeats > 1:
        how = f" {len(watch.seen)} times in {spoken_duration(window_s)}"
    elif for_s > 0:
        how = f" for {spoken_duration((starts_at - watch.since).total_seconds())}"
    else:
        how = ""
    verb = "reported " if not how else ""
    alert = firing_alert(
        alert_id=watch.alert_id,
        severity=watch.severity,
        fingerprint=watch.fingerprint,
        cluster=watch.cluster,
        resource=watch.resource,
        labels=watch.labels,
        summary=f"{entry.name}: {watch.resource} {verb}{watch.reason}{how}",
        description=watch.message or entry.summary,
        starts_at=min(starts_at, now),
        evidence=watch.evidence,
        cause=cause,
        now=now,
    )
    flapped = watch.resolved_at is not None
    step.alerts.append(alert)
    step.watches[watch.fingerprint] = watch.model_copy(
        update={"alert": alert, "recovering_since": None, "flaps": watch.flaps + 1 if flapped else 0}
    )
