"""Does the work a run's engine asks for: plan the action (reading the cluster), judge the object it would change
against the guards, charge the rate limit, carry the plan out (or only describe it, in a dry run), and report
the result back to the engine. The kill switch and maintenance windows (silences that hold remediation,
inhibitions) are checked before anything is changed: a held action waits, audited once as `held`.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import httpx

from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import ApprovalRequest, RemediationStep, ScalarParam
from healer_common.runtime.bus import Service
from healer_common.runtime.leadership import check_acting
from healer_common.settings import RemediatorSettings
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.actions.plans import (
    CLUSTER_ERRORS,
    ActionContext,
    ActionFailed,
    ActionPlan,
    NotConfigured,
    RunContext,
    TargetNotFound,
    carry_out,
    failed_step,
)
from services.remediator.adapters.clusters import ClusterClients
from services.remediator.adapters.limit_store import LimitStore
from services.remediator.adapters.maintenance import Maintenance
from services.remediator.adapters.switches import Switches
from services.remediator.guards import GuardPolicy, refusal
from services.remediator.limits import rate_refusal
from services.remediator.matching import TemplateError, render_params
from services.remediator.playbook_run import PlaybookRun
from services.remediator.playbooks import PlaybookAction
from services.remediator.run_state import Act, Ask, PendingUndo, RunState, Undo, Work

PLAN_ERRORS = (ActionFailed, TemplateError, *CLUSTER_ERRORS)


@dataclass(frozen=True)
class Settled:
    """An action that will not run as planned; `next` is what the engine asked for instead."""

    next: Work | None


@dataclass(frozen=True)
class Execution:
    svc: Service
    clusters: ClusterClients
    http: httpx.AsyncClient
    guards: GuardPolicy
    limits: LimitStore
    switches: Switches
    maintenance: Maintenance

    @property
    def cfg(self) -> RemediatorSettings:
        return self.svc.settings.remediator

    async def perform(self, engine: PlaybookRun, work: Work) -> Work | None:
        """Do one piece of work; the engine's next request, if any."""
        if not isinstance(work, Ask) and (pause := await self.switches.paused()) is not None:
            engine.postponed(str(pause), self.svc.clock.now())
            return None
        if isinstance(work, Act):
            state = engine.state
            if (held := await self.maintenance.hold(state.labels, state.inhibited_by)) is not None:
                engine.postponed(held, self.svc.clock.now(), decision="held")
                return None
            return await self._act(engine, work.action)
        if isinstance(work, Ask):
            return await self._ask(engine, work.action)
        return await self._undo(engine, work)

    def context(self, state: RunState) -> ActionContext:
        run = state.run
        run_context = RunContext(
            remediation_id=run.remediation_id,
            incident_id=run.incident_id,
            cluster=run.cluster,
            alert_ids=tuple(run.alert_ids),  # the primary alert first
            target=state.target,
            labels=state.labels,
            title=state.title,
            workload=state.workload,
            context=state.context,
            memory_context=state.memory_context,
        )
        protected = functools.partial(refusal, policy=self.guards)
        api = self.clusters.get(run.cluster)  # its own cluster's, or none (a dry run, or refused at admission)
        return ActionContext(api, self.http, self.svc.clock, self.cfg, run_context, protected)

    async def _plan(self, state: RunState, action: PlaybookAction) -> ActionPlan:
        params = render_params(
            action.params,
            title=state.title,
            alert=state.run.alert_ids[0] if state.run.alert_ids else "",
            target=state.target,
            labels=state.labels,
        )
        return await CATALOGUE[action.type].plan(self.context(state), state.target, params)

    async def _vetted(self, engine: PlaybookRun, action: PlaybookAction) -> ActionPlan | Settled:
        """The action's plan, or what the engine decided once it could not be planned or a guard refused it."""
        now = self.svc.clock.now()
        try:
            plan = await self._plan(engine.state, action)
        except TargetNotFound as exc:
            if not engine.state.run.steps:  # nothing done yet: there is nothing to heal, and no failure
                engine.not_found(action.type, str(exc), now)
                return Settled(None)
            step = failed_step(action.type, f"cannot plan {action.type}: {exc}", self.svc.clock)
            return Settled(engine.acted(step, None, now))
        except NotConfigured as exc:
            step = failed_step(action.type, f"not configured: {exc}", self.svc.clock)
            return Settled(engine.acted(step, None, now, tried=False))
        except PLAN_ERRORS as exc:
            step = failed_step(action.type, f"cannot plan {action.type}: {exc}", self.svc.clock)
            return Settled(engine.acted(step, None, now))
        if reason := refusal(plan.obj, plan.labels, self.guards):
            engine.refused(action.type, reason, now, policy="guard")
            return Settled(None)
        return plan

    async def _act(self, engine: PlaybookRun, action: PlaybookAction) -> Work | None:
        plan = await self._vetted(engine, action)
        if isinstance(plan, Settled):
            return plan.next
        state, now, dry_run = engine.state, self.svc.clock.now(), engine.state.run.dry_run
        if plan.cluster_change and plan.calls and not dry_run:
            action_id = stable_id(state.run.remediation_id, action.index, state.attempt)
            taken = await self.limits.reserve_action(action_id, now, self.cfg.rate_window_s)
            if reason := rate_refusal(taken, now, self.cfg.rate_limit, self.cfg.rate_window_s):
                await self.limits.release_action(action_id)
                engine.refused(action.type, reason, now, policy="rate_limit")
                return None
        check_acting()  # this replica still holds the run (a stalled one that woke up does not act)
        outcome = await carry_out(action.type, plan, self.svc.clock, dry_run=dry_run)
        if outcome.step.outcome == "ok" and plan.calls:
            await self.limits.mark_acted((state.workload or state.target).key, now, self.cfg.cooldown_s)
        step = outcome.step.model_copy(update={"params": _scalars(action.params)})
        return engine.acted(step, outcome.undo, self.svc.clock.now(), outcome.follow)

    async def _ask(self, engine: PlaybookRun, action: PlaybookAction) -> Work | None:
        plan = await self._vetted(engine, action)
        if isinstance(plan, Settled):
            return plan.next
        state, now = engine.state, self.svc.clock.now()
        run_id = state.run.remediation_id
        level = self.cfg.approval_level(action.type)
        request = ApprovalRequest(
            action=action.type,
            level=level.level,
            asked_at=now,
            target=plan.obj,
            summary=f"{plan.summary} (needs approval by {level.level})",
            api_calls=[c.description for c in plan.calls],
            expires_at=now
            + dt.timedelta(seconds=action.approval_timeout_s or level.timeout_s or self.cfg.approval_timeout_s),
            on_timeout=action.on_approval_timeout or self.cfg.approval_on_timeout.get(action.type, "deny"),
            answer_with=[
                f"healer approve {run_id}",
                f"healer deny {run_id}",
                f'POST {self.svc.http.url}/approvals/{run_id} {{"decision": "approve"}} '
                f"with Authorization: Bearer <a token with approve:{level.level}>",
            ],
        )
        engine.await_approval(request, now)
        return None

    async def _undo(self, engine: PlaybookRun, work: Undo) -> Work | None:
        results = [(item, await self._undo_one(engine.state, item)) for item in work.items]
        return engine.undone(results, work.then, self.svc.clock.now())

    async def _undo_one(self, state: RunState, item: PendingUndo) -> RemediationStep:
        undo = CATALOGUE[item.type].undo
        if undo is None:
            return failed_step(item.type, f"{item.type} cannot be undone", self.svc.clock)
        try:
            plan = await undo(self.context(state), item.data)
        except PLAN_ERRORS as exc:
            return failed_step(item.type, f"cannot undo {item.type}: {exc}", self.svc.clock)
        if reason := refusal(plan.obj, plan.labels, self.guards):
            step = failed_step(item.type, f"not undone: {reason}", self.svc.clock)
            return step.model_copy(update={"outcome": "skipped"})
        check_acting()
        outcome = await carry_out(item.type, plan, self.svc.clock, dry_run=state.run.dry_run)
        if outcome.step.outcome == "ok":
            return outcome.step.model_copy(update={"outcome": "rolled_back"})
        return outcome.step


def _scalars(params: dict[str, object]) -> dict[str, ScalarParam]:
    """The params a step shows (and the notifier reads, e.g. escalate's channel): its plain values."""
    return {k: v for k, v in params.items() if v is None or isinstance(v, str | int | float | bool)}
