"""Remediations from incident to verified outcome, across events: split the incident into its problems (one per
workload, problems.py), choose each one's playbook, ask memory, admit the run (kill switch, breaker, guards,
cooldown, concurrency, lock), then let the engine (playbook_run.py) decide and the execution (execution.py)
act, event after event: the incident's updates and resolution (each run sees its own problem's view),
approvals, and timers. Every change is saved in Redis before it is reported, and one replica changes a run at
a time.

A run's id derives from its incident, playbook and problem, and each problem is bound to its run once, so a
redelivered incident finds its runs and starts nothing twice. A problem that turns up in a later revision
(an OOM loop joining an image-pull incident of the same Application) gets its own run then.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from healer_common.contract.auth import verify_attestation
from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import AlertSummary, Incident
from healer_common.contract.memory import MemoryAnswer, MemoryQuery
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import ApprovalDecision, PlaybookRunRequest, Remediation
from healer_common.errors import Retryable
from healer_common.runtime.batches import each_tried
from healer_common.runtime.bus import Service
from healer_common.settings import RemediatorSettings
from services.remediator.actions.cluster import inspect_target
from services.remediator.adapters.admission import Admission
from services.remediator.adapters.clusters import ClusterClients
from services.remediator.adapters.execution import Execution
from services.remediator.adapters.handoffs import HandOffs
from services.remediator.adapters.learning import TrackRecord
from services.remediator.adapters.playbook_sources import PlaybookLibrary
from services.remediator.adapters.reporting import RunReporter
from services.remediator.adapters.runs import TURN_WAIT_S, RunBusy, RunStore
from services.remediator.advice import Advice, advise, heeding, not_held, recurrence
from services.remediator.breaker import RunOutcome
from services.remediator.limits import AtCeiling, concurrency_refusal
from services.remediator.playbook_run import PlaybookRun
from services.remediator.playbooks import Playbook
from services.remediator.problems import Problem, problem_view, problems
from services.remediator.run_state import Act, Fix, RunState, Work, health_of
from services.remediator.story import incident_story, memory_ids_told, memory_note, memory_question, memory_story

ACTING_TIMEOUT_S = 300.0
NO_PLAYBOOK, OVER_LIMIT, RETOLD = "-no-playbook", "-over-limit", "-retold"
NO_RUN = frozenset({NO_PLAYBOOK, OVER_LIMIT, RETOLD})
Event = Callable[[PlaybookRun, dt.datetime], Work | None]
Passed = list[tuple[Problem, str, str]]
"""An incident's problems no run answers: (problem, the mark that binds it, why), for `_pass_over`."""


@dataclass(frozen=True)
class NewRun:
    """What a run starts from: an incident, or a request to run a playbook by hand."""

    run_id: str
    incident_id: str
    cluster: str
    target: ResourceRef
    alert_ids: list[str]
    title: str
    labels: dict[str, str]
    inhibited_by: list[str] = field(default_factory=list)
    manual: bool = False
    dry_run: bool = False
    context: str = ""
    memory_context: str = ""
    memory_ids: tuple[str, ...] = ()
    memory_note: str = ""
    problem: str = "manual"


@dataclass(kw_only=True)
class RemediationCoordinator:
    svc: Service
    clusters: ClusterClients
    library: PlaybookLibrary
    execution: Execution
    admission: Admission
    runs: RunStore
    track: TrackRecord
    reporter: RunReporter
    handoffs: HandOffs
    reported_errors: set[str] = field(default_factory=set)
    followed_at: dt.datetime | None = None

    @property
    def _cfg(self) -> RemediatorSettings:
        return self.svc.settings.remediator

    @property
    def dry_run(self) -> bool:
        return self._cfg.dry_run or not self.clusters.any

    # entry points -------------------------------------------------------------------------------------------
    async def on_incident(self, incident: Incident) -> None:
        await self.on_incidents([incident])

    async def on_incidents(self, incidents: list[Incident]) -> None:
        """Revisions of different incidents, side by side; what each needs from Redis read in one round trip,
        and the problems no run answers marked and audited for all of them at once (a storm's wave is
        hundreds of incidents with nothing to do). Every one is tried; the first failure is raised after."""
        known = await self.runs.revised(incidents)
        await self.execution.maintenance.refresh()
        passed: dict[str, Passed] = {}
        try:
            await each_tried(self._revised(i, runs, passed) for i, runs in zip(incidents, known, strict=True))
        finally:  # what was decided is marked, even when another revision of the wave failed
            await self._pass_over(incidents, passed)

    async def _revised(self, incident: Incident, known: dict[str, str], passed: dict[str, Passed]) -> None:
        for key, run_id in known.items():
            if run_id not in NO_RUN:
                await self._drive(run_id, _changed(problem_view(incident, key)))
        if incident.state != "resolved":
            passed[incident.incident_id] = await self._start_problems(incident, known)

    async def on_approval(self, decision: ApprovalDecision) -> None:
        """An answer counts for the credential that signed it (never the name in its body)."""
        approver = verify_attestation(self.svc.gate.keyring(), decision.attestation, decision.statement())
        if isinstance(approver, str) or decision.attestation is None:
            await self._refused(
                decision.event_id, "approval", decision.remediation_id, f"{decision.decision}: {approver}"
            )
            return
        approve, reason, signed_at = (
            decision.decision == "approve",
            decision.reason or "",
            decision.attestation.signed_at,
        )
        found = await self._drive(
            decision.remediation_id, lambda e, now: e.answered(approve, approver, signed_at, reason, now)
        )
        if not found:
            await self.svc.audit(
                "approval",
                "ignored",
                target=decision.remediation_id,
                reason=f"{approver.name} answered {decision.decision}, but there is no remediation with that id",
                event_id=stable_id(decision.event_id, "ignored"),
            )

    async def _refused(self, event_id: str, action: str, target: str, reason: str) -> None:
        await self.svc.audit(action, "refused", target=target, reason=reason, event_id=stable_id(event_id, "refused"))

    async def on_request(self, request: PlaybookRunRequest) -> None:
        asker = verify_attestation(self.svc.gate.keyring(), request.attestation, request.statement())
        if isinstance(asker, str) or not (request.dry_run or asker.allows("admin")):
            why = asker if isinstance(asker, str) else f"{asker.name} lacks scope admin, which a run that acts needs"
            await self._refused(request.event_id, "run_playbook", str(request.target), f"{request.playbook}: {why}")
            return
        playbook = self.library.get(request.playbook)
        if playbook is None:
            reason = f"{asker.name} asked to run playbook {request.playbook!r}, which does not exist"
            await self.svc.audit("run_playbook", "skipped", target=str(request.target), reason=reason)
            return
        alert = playbook.trigger.alerts[0] if playbook.trigger.alerts else None
        memory = (
            await self._ask(memory_question(alert, request.target, playbook, request.cluster))
            if request.use_memory
            else None
        )
        new = NewRun(
            run_id=stable_id("manual", request.request_id)[:16],
            incident_id=f"manual-{request.request_id}",
            cluster=request.cluster,
            target=request.target,
            alert_ids=playbook.trigger.alerts[:1],
            title=f"{playbook.name} on {request.target}, run by {asker.name}",
            labels={},
            manual=True,
            dry_run=request.dry_run,
            memory_context=memory_story(memory),
            memory_ids=tuple(memory_ids_told(memory)),
            memory_note=memory_note(memory),
        )
        await self._open(new, Advice(playbook, reason=request.reason or f"run by hand by {asker.name}"))

    async def tick(self) -> None:
        """Timers that fell due, incidents deferred until a condition's duration passed, and the target locks
        of runs still in progress."""
        for incident in await self.runs.deferred_due(self.svc.clock.now()):
            await self.on_incident(incident)
        for run_id in await self.runs.due(self.svc.clock.now()):
            with contextlib.suppress(RunBusy):
                await self._drive(run_id, lambda engine, now: engine.timer(now), wait_s=0.0)
        now, follow = self.svc.clock.now(), False
        if self.followed_at is None or (now - self.followed_at).total_seconds() >= self._cfg.coderun_poll_s:
            self.followed_at, follow = now, True
        for run_id in await self.runs.active():
            state = await self.runs.get(run_id)
            if state is not None:
                await self.admission.limits.renew_lock(
                    (state.workload or state.target).key, run_id, self._cfg.lock_ttl_s
                )
                if follow:
                    await self._follow(state)

    async def _follow(self, state: RunState) -> None:
        """A run handed to a CodeRun learns, once it has ended, what came of it."""
        if state.phase != "handed_off" or state.handoff is None or state.run.coderun is not None:
            return
        outcome = await self.handoffs.outcome(state.handoff, state.run.cluster, self.svc.clock.now())
        if outcome is not None:
            with contextlib.suppress(RunBusy):
                await self._drive(
                    state.run.remediation_id, lambda engine, now: engine.handoff_finished(outcome, now), wait_s=0.0
                )

    async def reload(self) -> None:
        for error in await self.library.reload():
            if error not in self.reported_errors:
                self.svc.log.error("playbook_rejected", error=error)
                await self.svc.audit("load_playbook", "rejected", reason=error)
        self.reported_errors = set(self.library.errors)

    # starting -----------------------------------------------------------------------------------------------
    async def _held(self, incident: Incident) -> bool:
        """A maintenance window holds this incident (the silences as read for its wave): audit why, and let a
        later revision start the run."""
        primary = incident.primary
        reason = self.execution.maintenance.hold_now(primary.labels, primary.inhibited_by)
        if reason is None:
            return False
        await self.runs.mark_held(incident.incident_id)
        await self.svc.audit(
            "remediation",
            "held",
            target=str(primary.resource or incident.title),
            incident_id=incident.incident_id,
            reason=reason,
            event_id=stable_id(incident.incident_id, incident.revision, "held"),
        )
        return True

    async def _start_problems(self, incident: Incident, known: dict[str, str]) -> Passed:
        """Each problem not yet answered gets its own run: most severe first, at most the configured number.
        Those no run answers are handed back, to be marked for the wave at once (`_pass_over`)."""
        if await self._held(incident):
            return []  # a maintenance window: a later revision (or the window's end) starts them
        started = sum(1 for run_id in known.values() if run_id not in NO_RUN)
        passed: Passed = []
        for problem in problems(incident, self.library.playbooks, self.svc.clock.now()):
            if problem.key in known:
                continue
            if problem.waits_until is not None:  # a better playbook holds once its condition has lasted
                await self.runs.defer(incident, problem.waits_until)
            elif problem.playbook is None or problem.primary.resource is None:
                why = f"no playbook answers {problem.primary.alert_id} on {problem.primary.resource or 'no target'}"
                passed.append((problem, NO_PLAYBOOK, why))
            elif problem.playbook.only_retells:
                why = f"{problem.playbook.name} only tells the incident again, and its notification did"
                passed.append((problem, RETOLD, why))
            elif started >= self._cfg.max_problems_per_incident:
                why = f"the incident already has {started} remediations (remediator.max_problems_per_incident)"
                passed.append((problem, OVER_LIMIT, why))
            else:
                first = not known and started == 0
                started += await self._start_for(incident, problem, problem.playbook, first=first)
        return passed

    async def _pass_over(self, incidents: list[Incident], passed: dict[str, Passed]) -> None:
        """Problems no run answers, marked so in one round trip and audited in one publish for a whole wave (a
        storm's incidents bring hundreds at once), each once: a redelivery or another replica finds them
        marked."""
        marked = await self.runs.claim_problems(
            {incident_id: {p.key: mark for p, mark, _ in found} for incident_id, found in passed.items()}
        )
        await self.svc.publish_many(
            [
                self.svc.audit_record(
                    "choose_playbook",
                    "skipped",
                    target=str(problem.primary.resource or incident.title),
                    incident_id=incident.incident_id,
                    reason=reason,
                    event_id=stable_id(incident.incident_id, problem.key, mark),
                )
                for incident in incidents
                for problem, mark, reason in passed.get(incident.incident_id, ())
                if problem.key in marked.get(incident.incident_id, ())
            ]
        )

    async def _start_for(self, incident: Incident, problem: Problem, playbook: Playbook, *, first: bool) -> bool:
        view = problem_view(incident, problem.key)
        target = problem.primary.resource
        assert target is not None
        run_key = (incident.incident_id, playbook.name) if first else (incident.incident_id, playbook.name, problem.key)
        run_id = stable_id(*run_key)[:16]
        if full := concurrency_refusal(len(await self.runs.active()) + 1, self._cfg.max_concurrent):
            await self._wait_turn(incident, run_id=run_id, target=target, playbook=playbook.name, why=full)
            return False  # known before memory or the cluster was asked anything
        memory = await self._ask_memory(view, problem.primary, playbook)  # the alert the run is remembered by
        alert_ids = [problem.primary.alert_id, *(a for a in view.alert_ids if a != problem.primary.alert_id)]
        new = NewRun(
            run_id=run_id,
            incident_id=incident.incident_id,
            cluster=incident.cluster,
            target=target,
            alert_ids=alert_ids,
            title=incident.title if first else (problem.primary.summary or incident.title),
            labels=dict(problem.primary.labels),
            inhibited_by=list(problem.primary.inhibited_by),
            context=incident_story(view),
            memory_context=memory_story(memory),
            memory_ids=tuple(memory_ids_told(memory)),
            memory_note=memory_note(memory),
            problem=problem.key,
        )
        advice = advise(memory, playbook, self.library.playbooks, self._cfg.memory_confidence)
        return await self._open(new, advice, view, queue=incident)

    async def _open(
        self, new: NewRun, advice: Advice, incident: Incident | None = None, *, queue: Incident | None = None
    ) -> bool:
        """Start a run, or record why not; over the ceiling on runs in progress, `queue` waits its turn."""
        if await self.runs.claim_problem(new.incident_id, new.problem, new.run_id) is not None:
            return False  # a redelivery, or another replica got here first
        api = self.clusters.get(new.cluster)
        labels, workload = await inspect_target(api, new.target) if api else ({}, None)
        workload = workload or _labelled_workload(new)
        own = advice.matched or advice.playbook
        recurred = None if new.manual else await self._recurrence((workload or new.target).key, own)
        if recurred is not None:
            advice = heeding(advice, *recurred)
        state = await self._new_state(new, advice, workload)
        if incident is not None:
            state.health = health_of(incident)
        engine = PlaybookRun(state)
        self._note_memory(engine, advice)
        now = self.svc.clock.now()
        if recurred is not None:  # memory learns from this run that the earlier fix did not hold
            engine.state.run = engine.state.run.evolve(continues=not_held(recurred[0], now))
        async with self.runs.turn(new.run_id):
            reason = self.clusters.refusal(new.cluster) or await self.admission.refusal(
                state, labels, recurring=recurred is not None
            )
            if isinstance(reason, AtCeiling) and queue is not None:  # another replica took the last slot
                await self.runs.release_problem(new.incident_id, new.problem, new.run_id)
                await self._wait_turn(
                    queue, run_id=new.run_id, target=new.target, playbook=advice.playbook.name, why=reason
                )
                return False
            if reason:
                engine.skip(reason, now)
            elif recurred is not None and not advice.applied:
                fix, why = recurred
                await self._run(engine, engine.start(now, why=why, failed=fix.action))
            else:
                await self._run(engine, engine.start(now, advice.first, advice.reason))
            await self._settle(engine, was_final=False)
        return True

    async def _wait_turn(
        self, incident: Incident, *, run_id: str, target: ResourceRef, playbook: str, why: str
    ) -> None:
        """Over the ceiling on runs in progress, the incident is looked at again shortly: a storm's problems are
        healed in turn, not dropped (a manual run is refused at once: someone is waiting for the answer)."""
        retry_s = self._cfg.look_again_s
        await self.runs.defer(incident, self.svc.clock.now() + dt.timedelta(seconds=retry_s))
        reason = f"{why}: {playbook} waits its turn, looked at again every {retry_s:.0f}s"
        event_id = stable_id(run_id, "queued")  # told once a deduplication window, not every retry
        await self.svc.audit(
            "remediation",
            "queued",
            target=str(target),
            incident_id=incident.incident_id,
            reason=reason,
            event_id=event_id,
        )

    async def _recurrence(self, key: str, playbook: Playbook) -> tuple[Fix, str] | None:
        """The earlier fix of this target that did not hold, if the alert is back within the window."""
        fix = await self.runs.last_fix(key)
        why = recurrence(fix, playbook, self.svc.clock.now(), self._cfg.recurrence_window_s)
        return (fix, why) if fix is not None and why is not None else None

    async def _new_state(self, new: NewRun, advice: Advice, workload: ResourceRef | None) -> RunState:
        playbook, now = advice.playbook, self.svc.clock.now()
        confidence = advice.confidence if advice.applied else (await self.track.of(playbook.name)).mean
        run = Remediation(
            remediation_id=new.run_id,
            incident_id=new.incident_id,
            playbook=playbook.name,
            state="planned",
            cluster=new.cluster,
            target=new.target,
            alert_ids=new.alert_ids,
            dry_run=self.dry_run or playbook.dry_run or new.dry_run,
            reason=playbook.description + new.memory_note,
            memory_ids=[advice.memory_id] if advice.memory_id else [],
            confidence=confidence,
            correlation_id=new.incident_id,
            started_at=now,
            time=now,
        )
        return RunState(
            run=run,
            playbook=playbook,
            target=new.target,
            workload=workload,
            labels=new.labels,
            inhibited_by=new.inhibited_by,
            title=new.title,
            context=new.context,
            memory_context=new.memory_context,
            context_memory_ids=list(new.memory_ids),
            handoff_timeout_s=self._cfg.coderun_follow_s,
            manual=new.manual,
            verify_window_s=self._cfg.verify_window_s,
            retry_paused_s=self._cfg.look_again_s,
        )

    def _note_memory(self, engine: PlaybookRun, advice: Advice) -> None:
        now = self.svc.clock.now()
        if advice.applied:
            engine.note(
                now,
                "memory",
                "memory_applied",
                advice.reason,
                memory_id=str(advice.memory_id),
                confidence=f"{advice.confidence:.2f}",
            )
        else:
            engine.note(now, "memory", "memory_consulted", advice.reason)

    async def _ask_memory(self, incident: Incident, alert: AlertSummary, playbook: Playbook) -> MemoryAnswer | None:
        question = memory_question(alert.alert_id, alert.resource, playbook, incident.cluster, incident.title)
        return await self._ask(question)

    async def _ask(self, question: MemoryQuery) -> MemoryAnswer | None:
        try:
            answer: MemoryAnswer = await self.svc.request(
                self.svc.space.memory_query, question, MemoryAnswer, wait_s=self._cfg.memory_timeout_s
            )
        except Retryable as exc:
            self.svc.log.warning("memory_unavailable", error=str(exc))
            return None
        return answer

    # driving ------------------------------------------------------------------------------------------------
    async def _drive(self, run_id: str, event: Event, wait_s: float = TURN_WAIT_S) -> bool:
        """Apply one event to a run and do what follows; False when there is no such run."""
        async with self.runs.turn(run_id, wait_s):
            state = await self.runs.get(run_id)
            if state is None:
                return False
            if state.phase == "done":
                return True
            engine = PlaybookRun(state)
            was_final = state.final
            await self._run(engine, event(engine, self.svc.clock.now()))
            await self._settle(engine, was_final=was_final)
        return True

    async def _run(self, engine: PlaybookRun, work: Work | None) -> None:
        while work is not None:
            if isinstance(work, Act):
                engine.acting(self.svc.clock.now(), ACTING_TIMEOUT_S)
                await self.runs.save(engine.state)
            work = await self.execution.perform(engine, work)

    async def _settle(self, engine: PlaybookRun, *, was_final: bool) -> None:
        state = engine.state
        await self.runs.save(state)
        await self.reporter.report(engine)
        if not state.final or was_final:
            return
        await self.admission.release(state)
        run = state.run
        if run.state == "succeeded" and state.healed_by and not run.dry_run:
            fix = Fix(
                playbook=run.playbook,
                action=state.healed_by,
                remediation_id=run.remediation_id,
                at=self.svc.clock.now(),
            )
            await self.runs.remember_fix((state.workload or state.target).key, fix, self._cfg.recurrence_window_s)
        if not run.dry_run and state.healing_tried and run.state in {"succeeded", "failed", "rolled_back"}:
            succeeded = run.state == "succeeded"
            await self.track.record(run.playbook, succeeded)
            await self.admission.switches.record_outcome(RunOutcome(self.svc.clock.now(), succeeded))


def _changed(view: Incident) -> Event:
    """The event of a problem's view of the incident changing."""
    return lambda engine, now: engine.incident_changed(view, now)


def _labelled_workload(new: NewRun) -> ResourceRef | None:
    """The Deployment an alert's labels name, when the pod itself is gone (replaced before the run began)."""
    name, namespace = new.labels.get("deployment"), new.target.namespace
    return ResourceRef(kind="Deployment", namespace=namespace, name=name) if name and namespace else None
