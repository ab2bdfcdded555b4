"""The life of one playbook run, as pure decisions: given the run's state and what just happened (it started,
an action finished, the incident changed, a timer fell due, a human answered), what changes and what to do
next. The coordinator does the I/O the answer asks for (an `Act`, `Ask` or `Undo`) and reports back.

Rules, in the order a run meets them:
- Actions run in order; an action runs when its `condition` holds: `always`, `<name>_failed` or
  `<name>_succeeded` (of an earlier action's verified outcome).
- An action that verifies is judged by the incident: resolved within its `timeout` is success; still firing
  when it ends is failure. Its `retry.attempts` run it again before calling it failed.
- A hand-off that is followed (a CodeRun) is judged by what came of it: the run waits until the CodeRun ends
  (`handoff_finished`), then for the alert; an agent that succeeded, with no failed check on its PR, and the
  alert resolved is success; anything else, or no end within the follow window, is failure.
- Once the incident has resolved, healing actions no longer run unless their condition is `<name>_succeeded`;
  notify, escalate and hand-offs still do.
- An action that made health worse (more firing alerts, or a worse severity, with an alert that began after it)
  is undone when it can be and the playbook's rollback is enabled; the run ends there.
- Temporary changes (a scale-up) are undone when the playbook's rollback window ends, after the run's verdict;
  a switch to a backup (failover_provider) once the incident resolves (the primary has recovered).
- Each change of state is published (a new revision) and each decision noted for the audit.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.auth import ANY_APPROVAL, Principal
from healer_common.contract.incidents import Incident
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import ApprovalRequest, CodeRunOutcome, Remediation, RemediationStep
from services.remediator.playbooks import PlaybookAction
from services.remediator.run_state import (
    Act,
    Ask,
    HandOff,
    Note,
    PendingUndo,
    RunState,
    Then,
    Undo,
    Work,
    health_of,
)

ANSWER_SKEW_S = 60.0
"""Clocks differ: an answer signed up to this long before its request was asked still counts."""


def answer_refusal(request: ApprovalRequest, approve: bool, approver: Principal, signed_at: dt.datetime) -> str | None:
    """Why this answer may not decide this request, or None."""
    needed = f"approve:{request.level}" if approve else ANY_APPROVAL
    if not approver.allows(needed):
        verb = "approve" if approve else "deny"
        return f"{approver.name} may not {verb} {request.action}: it needs {needed} (or admin)"
    if request.asked_at is not None and signed_at < request.asked_at - dt.timedelta(seconds=ANSWER_SKEW_S):
        return (
            f"{approver.name}'s answer was signed at {signed_at.isoformat()}, before this request was asked: a replay"
        )
    return None


class PlaybookRun:
    """Decisions over a RunState; `published` and `notes` collect what the coordinator must send."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.published: list[Remediation] = []
        self.notes: list[Note] = []

    # what the coordinator reports ---------------------------------------------------------------------------
    def start(
        self, now: dt.datetime, first: int | None = None, why: str = "", failed: str | None = None
    ) -> Work | None:
        """Begin with the first action that applies; or at `first` (memory's advice); or after `failed`, an
        earlier fix of this target that did not hold (its alert came back), counted as failed."""
        self._publish(now, state="planned")
        self._note(now, "plan", "planned", self.state.run.reason or self.state.playbook.description)
        actions = self.state.playbook.actions
        if first is not None:
            self._note(now, actions[first].type, "chosen", why)
            return self._begin(actions[first])
        held = next((a for a in actions if a.name == failed), None)
        if held is not None:
            self.state.outcomes[held.name] = False
            self._note(now, held.type, "recurred", why)
            return self._next(now, after=held.index)
        return self._next(now, after=-1)

    def skip(self, reason: str, now: dt.datetime) -> None:
        """The run is refused before it starts (a guard, a limit, the kill switch)."""
        self._finish(now, "skipped", reason)

    def acting(self, now: dt.datetime, timeout_s: float) -> None:
        """About to act: if the remediator stops before reporting back, the timer ends this attempt."""
        self.state.phase = "acting"
        self.state.due_at = now + dt.timedelta(seconds=timeout_s)

    def acted(
        self,
        step: RemediationStep,
        undo: dict[str, object] | None,
        now: dt.datetime,
        follow: tuple[str, str] | None = None,
        *,
        tried: bool = True,
    ) -> Work | None:
        """An action's result; `tried` False when it could not even be attempted (not configured), which the
        playbook's fallbacks follow but the breaker and the confidence never count; `follow` names the CodeRun
        an agent hand-off is followed to."""
        action = self._current()
        self.state.run = self.state.run.evolve(steps=[*self.state.run.steps, step], reason=step.detail)
        if undo is not None and action.reversal != "none":
            self._keep_undo(action, dict(undo), now)
        self.state.healing_tried = self.state.healing_tried or (action.verifies and tried)
        if step.outcome == "failed":
            self._note(now, action.type, "failed", step.detail, api_calls="; ".join(step.api_calls))
            return self._failed_attempt(action, now, step.detail)
        self._note(
            now,
            action.type,
            "dry_run" if step.outcome == "dry_run" else "acted",
            step.detail,
            api_calls="; ".join(step.api_calls),
        )
        self._publish(now, state="acted")
        if action.follows and follow is not None and step.outcome == "ok":
            self._hand_off(action, follow, now)
            return None
        if action.verifies and not self.state.resolved and not self.state.manual:
            window = action.timeout_s or self.state.verify_window_s
            self._wait(now, "verifying", window)
            self.state.health_before = self.state.health
            return None
        return self._settle(action, ok=True, now=now)

    def _hand_off(self, action: PlaybookAction, coderun: tuple[str, str], now: dt.datetime) -> None:
        namespace, name = coderun
        self.state.handoff = HandOff(namespace=namespace, name=name, since=now)
        self.state.healing_tried = True  # what the agent does is judged like a fix
        self._note(now, action.type, "following", f"following CodeRun {namespace}/{name} to its end")
        self._wait(now, "handed_off", self.state.handoff_timeout_s)

    def handoff_finished(self, outcome: CodeRunOutcome, now: dt.datetime) -> Work | None:
        """The followed CodeRun ended (its PR read): judge it now if the alert has resolved, else wait for it."""
        state, action = self.state, self.state.action
        if state.phase != "handed_off" or action is None or state.run.coderun is not None:
            return None
        outcome = outcome.model_copy(update={"alert_resolved": True if state.resolved else None})
        ids = [*state.run.memory_ids, *(i for i in state.context_memory_ids if i not in state.run.memory_ids)]
        state.run = state.run.evolve(coderun=outcome, memory_ids=ids)
        self._note(now, action.type, "coderun_finished", outcome.describe(), pr_url=outcome.pr_url or "")
        if not outcome.delivered or state.resolved:
            return self._judge_handoff(action, now)
        self._publish(now, state="acted", reason=f"{outcome.describe()}; waiting for the alert to resolve")
        return None

    def _judge_handoff(self, action: PlaybookAction, now: dt.datetime) -> Work | None:
        outcome = self.state.run.coderun
        resolved = self.state.resolved
        if outcome is not None:
            self.state.run = self.state.run.evolve(coderun=outcome.model_copy(update={"alert_resolved": resolved}))
        ok = outcome is not None and outcome.delivered and resolved
        what = outcome.describe() if outcome is not None else "the CodeRun"
        self._note(now, action.type, "verified" if ok else "not_verified", f"{what}; alert resolved: {resolved}")
        return self._settle(action, ok=ok, now=now)

    def not_found(self, action: str, reason: str, now: dt.datetime) -> None:
        """The target does not exist: skipped, which the breaker and the playbook's confidence never count."""
        self._note(now, action, "skipped", f"not found: {reason}")
        self._finish(now, "skipped", f"skipped: not found: {reason}")

    def refused(self, action: str, reason: str, now: dt.datetime, **details: str) -> None:
        self._note(now, action, "refused", reason, **details)
        self._finish(now, "skipped", f"refused: {reason}")

    def postponed(self, reason: str, now: dt.datetime, decision: str = "postponed") -> None:
        """The kill switch is on, or a maintenance window holds the run (`held`): nothing acts; try again
        later, saying so once."""
        if not self.state.postponed:
            self._note(now, (self.state.action.type if self.state.action else "run"), decision, reason)
        self.state.postponed = True
        self.state.due_at = now + dt.timedelta(seconds=self.state.retry_paused_s)
        if self.state.phase not in {"holding", "awaiting_approval"}:
            self.state.phase = "paused"

    def await_approval(self, request: ApprovalRequest, now: dt.datetime) -> None:
        self.state.phase, self.state.due_at = "awaiting_approval", request.expires_at
        self.state.run = self.state.run.evolve(requires_approval=True, approval=request, reason=request.summary)
        self._note(now, request.action, "approval_requested", request.summary, on_timeout=request.on_timeout)
        self._publish(now, state="awaiting_approval")

    def answered(
        self, approve: bool, approver: Principal, signed_at: dt.datetime, reason: str, now: dt.datetime
    ) -> Work | None:
        """A human's answer, by the credential that signed it: approving needs approve:<level> of the request
        (or admin), denying any approve scope; an answer signed before the request was asked is a replay."""
        action, request = self.state.action, self.state.run.approval
        who = approver.name
        if self.state.phase != "awaiting_approval" or action is None or request is None:
            self._note(now, "approval", "ignored", f"{who} answered, but the run is {self.state.run.state}")
            return None
        if refusal := answer_refusal(request, approve, approver, signed_at):
            self._note(now, action.type, "approval_refused", refusal, by=who)
            return None
        return self._decide(
            action, approve, f"{'approved' if approve else 'denied'} by {who}{f': {reason}' if reason else ''}", now
        )

    def incident_changed(self, incident: Incident, now: dt.datetime) -> Work | None:
        self.state.health = health_of(incident)
        self.state.inhibited_by = list(incident.primary.inhibited_by)
        if incident.state == "resolved":
            return self._resolved(incident, now)
        self._follow_target(incident)
        before = self.state.health_before
        if self.state.phase == "verifying" and before is not None and self.state.health.worse_than(before):
            return self._harmed(now) if self._began_after_acting(incident) else None
        return None

    def _began_after_acting(self, incident: Incident) -> bool:
        """Whether an alert firing now began after the action: one that began before it (the crash loop an
        OOM kill causes, reported a moment after the kill) is not the action's doing."""
        steps = self.state.run.steps
        acted_at = steps[-1].started_at if steps else self.state.run.started_at
        return any(a.starts_at > acted_at for a in incident.firing_alerts)

    def timer(self, now: dt.datetime) -> Work | None:
        """A due time passed: what it means depends on what the run was waiting for."""
        state = self.state
        if state.due_at is None or now < state.due_at:
            return None
        if state.phase == "holding":
            due = tuple(u for u in state.undos if u.due_at is not None and u.due_at <= now)
            return Undo(due, "hold") if due else None
        action = state.action
        return None if action is None else self._expired(action, now)

    def _expired(self, action: PlaybookAction, now: dt.datetime) -> Work | None:
        state = self.state
        if state.phase in {"retry_wait", "paused"}:
            state.postponed = False
            return Act(action, state.attempt)
        if state.phase == "awaiting_approval" and state.run.approval is not None:
            policy = state.run.approval.on_timeout
            reason = f"nobody answered in time; its timeout policy is {policy}"
            return self._decide(action, policy == "approve", reason, now)
        if state.phase == "handed_off":
            if state.run.coderun is not None:  # the agent delivered; the alert never resolved
                return self._judge_handoff(action, now)
            reason = f"CodeRun {state.handoff.name if state.handoff else ''} did not end within the follow window"
            self._note(now, action.type, "not_verified", reason)
            return self._settle(action, ok=False, now=now)
        if state.phase == "acting":
            decision = "interrupted"
            reason = f"interrupted: the remediator stopped while doing {action.type}; its result is unknown"
        elif state.phase == "verifying":
            decision = "not_verified"
            window = action.timeout_s or state.verify_window_s
            reason = f"not verified: the alert still fired {window:.0f}s after {action.type}"
        else:
            return None
        self._note(now, action.type, decision, reason)
        return self._failed_attempt(action, now, reason)

    def undone(self, results: list[tuple[PendingUndo, RemediationStep]], then: Then, now: dt.datetime) -> Work | None:
        for item, step in results:
            self.state.undos = [u for u in self.state.undos if u != item]
            self.state.run = self.state.run.evolve(steps=[*self.state.run.steps, step])
            decision = {"rolled_back": "rolled_back", "dry_run": "dry_run", "skipped": "skipped"}.get(
                step.outcome, "failed"
            )
            self._note(now, item.type, decision, step.detail, api_calls="; ".join(step.api_calls))
        detail = "; ".join(step.detail for _, step in results)
        if then == "continue":
            return self._next(now, after=self.state.index)
        if then == "rolled_back":
            self._finish(now, "rolled_back", f"{detail} (the change made health worse)")
            return None
        self._publish(now, state=self.state.run.state, reason=detail)
        self._hold_or_done()
        return None

    # decisions ----------------------------------------------------------------------------------------------
    def _current(self) -> PlaybookAction:
        action = self.state.action
        if action is None:
            raise RuntimeError(f"run {self.state.run.remediation_id} has no current action")
        return action

    def _decide(self, action: PlaybookAction, approve: bool, reason: str, now: dt.datetime) -> Work | None:
        self.state.run = self.state.run.evolve(approval=None)
        if not approve:
            self._note(now, action.type, "denied", reason)
            self._finish(now, "denied", f"{action.type} {reason}")
            return None
        self._note(now, action.type, "approved", reason)
        self.state.approved_index = action.index
        self._publish(now, state="approved", reason=f"{action.type} {reason}")
        return Act(action, self.state.attempt)

    def _holds(self, action: PlaybookAction) -> tuple[bool, str]:
        condition = action.condition
        if condition == "always":
            held, why = True, "always"
        else:
            name, _, outcome = condition.rpartition("_")
            seen = self.state.outcomes.get(name)
            held = seen is (outcome == "succeeded")
            result = "did not run" if seen is None else ("succeeded" if seen else "failed")
            why = f"condition {condition} {'holds' if held else 'does not hold'} ({name} {result})"
        if held and self.state.resolved and action.verifies and not condition.endswith("_succeeded"):
            return False, "not needed: the alert has resolved"
        return held, why

    def _next(self, now: dt.datetime, after: int) -> Work | None:
        for action in self.state.playbook.actions[after + 1 :]:
            held, why = self._holds(action)
            if held:
                return self._begin(action)
            self._note(now, action.type, "skipped", why)
        self._conclude(now)
        return None

    def _begin(self, action: PlaybookAction) -> Work:
        self.state.index, self.state.attempt, self.state.health_before = action.index, 1, None
        if action.needs_approval and not self.state.run.dry_run and self.state.approved_index != action.index:
            return Ask(action)
        return Act(action, 1)

    def _failed_attempt(self, action: PlaybookAction, now: dt.datetime, reason: str) -> Work | None:
        if self.state.attempt < action.attempts:
            self.state.attempt += 1
            self._note(
                now,
                action.type,
                "retry",
                f"{reason}; attempt {self.state.attempt} of {action.attempts} in {action.backoff_s:.0f}s",
            )
            self._wait(now, "retry_wait", action.backoff_s)
            return None
        on_failure = tuple(u for u in self.state.undos if u.index == action.index and action.reversal == "on_failure")
        self.state.outcomes[action.name] = False
        if on_failure and self.state.playbook.rollback.enabled:
            return Undo(on_failure, "continue")
        return self._next(now, after=action.index)

    def _settle(self, action: PlaybookAction, *, ok: bool, now: dt.datetime) -> Work | None:
        self.state.outcomes[action.name] = ok
        return self._next(now, after=action.index)

    def _resolved(self, incident: Incident, now: dt.datetime) -> Work | None:
        state = self.state
        state.resolved = True
        for undo in state.undos:  # switched to a backup until the primary recovered: it has
            if undo.due_at is None and state.playbook.actions[undo.index].reversal == "on_recovery":
                undo.due_at = now
        action = state.action
        if state.phase == "handed_off" and action is not None:
            return self._judge_handoff(action, now) if state.run.coderun is not None else None
        if state.phase == "verifying" and action is not None:
            took = (now - state.run.started_at).total_seconds()
            self._note(now, action.type, "verified", f"the alert resolved {took:.1f}s after the run started")
            return self._settle(action, ok=True, now=now)
        if state.phase in {"start", "awaiting_approval", "retry_wait", "paused"}:
            if state.phase == "awaiting_approval":
                self._note(now, action.type if action else "approval", "withdrawn", f"{incident.title} resolved first")
                state.run = state.run.evolve(approval=None)
            return self._next(now, after=state.index)
        return None

    def _harmed(self, now: dt.datetime) -> Work | None:
        action = self._current()
        before, after = self.state.health_before, self.state.health
        was = before.firing if before else 0
        worse = f"health got worse after {action.type}: {after.firing} kinds of alert firing (was {was})"
        undo = tuple(u for u in self.state.undos if u.index == action.index)
        self.state.outcomes[action.name] = False
        if undo and self.state.playbook.rollback.enabled:
            self._note(now, action.type, "harmful", f"{worse}; undoing it")
            return Undo(undo, "rolled_back")
        why = "its playbook disables rollback" if undo else "it cannot be undone"
        self._note(now, action.type, "harmful", f"{worse}; {why}")
        self._finish(now, "failed", f"{worse}, and {why}")
        return None

    def _conclude(self, now: dt.datetime) -> None:
        state = self.state
        acted = [s for s in state.run.steps if s.outcome in {"ok", "dry_run"}]
        if state.resolved and acted:
            took = (now - state.run.started_at).total_seconds()
            healed = next((n for n, ok in reversed(state.outcomes.items()) if ok), acted[-1].action)
            state.healed_by = healed
            if not state.run.dry_run:  # what memory remembers as the fix
                state.run = state.run.evolve(healed_by=healed)
            dry = " (dry run: nothing was done; it resolved by itself)" if state.run.dry_run else ""
            self._finish(
                now, "succeeded", f"verified: the alert resolved {took:.1f}s after the run started, after {healed}{dry}"
            )
        elif state.resolved:
            self._finish(now, "skipped", "the alert resolved before any action was needed")
        elif acted and (state.manual or not state.healing_tried) and all(state.outcomes.values()):
            done = ", ".join(s.action for s in acted)
            why = "a run by hand: not verified against an alert" if state.manual else "Healer does not heal this itself"
            self._finish(now, "succeeded", f"done: {done} ({why})")
        else:
            tried = ", ".join(n for n in state.outcomes) or "nothing"
            self._finish(now, "failed", f"not healed: {tried} did not resolve the alert")

    def _finish(self, now: dt.datetime, final: str, reason: str) -> None:
        self.state.run = self.state.run.evolve(finished_at=now, approval=None)
        self._publish(now, state=final, reason=reason)
        self._note(now, "run", final, reason)
        self._hold_or_done()

    def _hold_or_done(self) -> None:
        timed = [u.due_at for u in self.state.undos if u.due_at is not None]
        self.state.phase = "holding" if timed else "done"
        self.state.due_at = min(timed) if timed else None

    # bookkeeping --------------------------------------------------------------------------------------------
    def _keep_undo(self, action: PlaybookAction, data: dict[str, object], now: dt.datetime) -> None:
        rollback = self.state.playbook.rollback
        due = (
            now + dt.timedelta(seconds=rollback.window) if action.reversal == "temporary" and rollback.enabled else None
        )
        self.state.undos.append(PendingUndo(index=action.index, type=action.type, data=data, due_at=due))

    def _wait(self, now: dt.datetime, phase: str, seconds: float) -> None:
        self.state.phase = phase  # type: ignore[assignment]
        self.state.due_at = now + dt.timedelta(seconds=seconds)

    def _follow_target(self, incident: Incident) -> None:
        """A restarted pod's successor fires under a new name; later actions aim at the newest such target."""
        kind, namespace = self.state.target.kind, self.state.target.namespace
        fresh = [
            a
            for a in incident.firing_alerts
            if a.resource and a.resource.kind == kind and a.resource.namespace == namespace
        ]
        if fresh:
            newest = max(fresh, key=lambda a: a.starts_at).resource
            assert newest is not None
            self.state.target = newest

    def note(self, now: dt.datetime, action: str, decision: str, reason: str, **details: str) -> None:
        """Record a decision taken outside the engine (memory's advice), with the run's own."""
        self._note(now, action, decision, reason, **details)

    def _note(self, now: dt.datetime, action: str, decision: str, reason: str, **details: str) -> None:
        note = Note(action=action, decision=decision, reason=reason, time=now, details=details)
        self.state.decisions.append(note)
        self.notes.append(note)

    def _publish(self, now: dt.datetime, *, state: str, reason: str | None = None) -> None:
        self.state.revisions += 1
        run = self.state.run
        changes: dict[str, object] = {"state": state, "revision": self.state.revisions, "time": now}
        changes["event_id"] = stable_id(run.remediation_id, self.state.revisions)
        if reason is not None:
            changes["reason"] = reason
        self.state.run = run.evolve(**changes)
        self.published.append(self.state.run)
