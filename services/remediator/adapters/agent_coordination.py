"""Agent coordination, the remediator's part of the agent platform: every `remediator.agents.interval_s` one
replica (a Redis lease) reads the CodeRuns, their pods and the nodes; reports them (`AgentsReport` on
`healer.agents.report` and in Redis for `healer status --all`); reports contention as `AgentContention`
conditions (the detector's A10); and pauses low-priority CodeRuns while an incident presses, resuming them
once none does (agent_priority.py decides).

Pausing sets the annotation `agents.platform/paused: "true"` (`remediator.agents.pause_annotation`) that the
CodeRun controller honours by stopping the agent's pod, and `healer.platform/paused-by: <incident>` so Healer
resumes only what it paused. Not a `spec.suspend`: the CodeRun CRD has no such field, and a structural CRD
prunes fields it does not know, so it would vanish silently; an annotation is kept by any CRD and shown by
kubectl. Each pause and resume goes through the remediator's guard rails, kill switch, rate limit and dry run,
is audited on `healer.audit.remediator`, and is told under its incident as the `agent-priority` remediation.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from redis.asyncio import Redis

from healer_common.contract.agents import REPORT_KEY, AgentsReport, LiveCodeRun
from healer_common.contract.alerts import CATALOGUE
from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from healer_common.contract.messages import stable_id
from healer_common.runtime.bus import Service
from healer_common.runtime.leadership import ACTING_UNDER, Term
from healer_common.runtime.state import KeySpace
from healer_common.settings.remediator import AgentCoordinationSettings
from services.remediator.actions.cluster import MERGE_PATCH, kube
from services.remediator.actions.create_coderun import GROUP, PLURAL, VERSION
from services.remediator.actions.plans import ActionPlan, Call, carry_out
from services.remediator.adapters.agent_notes import CoordinationNotes, contention_events
from services.remediator.adapters.limit_store import LimitStore
from services.remediator.adapters.switches import Switches
from services.remediator.agent_platform import (
    PAUSED_BY,
    Json,
    agent_health,
    agent_key,
    by_stage,
    contention,
    live_coderun,
    pod_view,
    quantity,
)
from services.remediator.agent_priority import Decision, Pressure, decide, presses, waiting_remediations
from services.remediator.guards import GuardPolicy, refusal
from services.remediator.limits import rate_refusal

PAUSED_AT = "healer.platform/paused-at"


@dataclass(frozen=True)
class ClusterView:
    coderuns: list[Json]
    pods: list[Json]
    nodes: list[Json]


class AgentCoordinator:
    def __init__(
        self,
        svc: Service,
        api: client.ApiClient | None,
        guards: GuardPolicy,
        limits: LimitStore,
        switches: Switches,
        *,
        dry_run: bool,
    ) -> None:
        self._svc = svc
        self._api = api
        self._guards = guards
        self._limits = limits
        self._switches = switches
        self._dry_run = dry_run
        self._keys = KeySpace(svc.keys("remediator", "agents"))
        self.notes = CoordinationNotes(svc, self._redis, self._keys)

    @property
    def _redis(self) -> Redis:
        return self._svc.redis

    @property
    def cfg(self) -> AgentCoordinationSettings:
        return self._svc.settings.remediator.agents

    # what presses: open incidents, kept in Redis for every replica ----------------------------------------------
    async def incidents(self, incidents: list[Incident]) -> None:
        """Remember each open incident that presses (and the agents its alerts name), forget each resolved one:
        a wave of revisions of different incidents in one round trip."""
        pressing, firing = self._keys("pressing"), self._keys("firing")
        async with self._redis.pipeline(transaction=False) as pipe:
            for incident in incidents:
                if incident.state == "resolved" or not presses(incident.severity, self.cfg):
                    pipe.hdel(pressing, incident.incident_id)
                else:
                    why = Pressure(incident.incident_id, incident.severity, incident.title)
                    pipe.hset(pressing, incident.incident_id, json.dumps(why.__dict__))
                agents = _agents_named(incident)
                if agents:
                    pipe.hset(firing, incident.incident_id, json.dumps(agents))
                else:
                    pipe.hdel(firing, incident.incident_id)
            await pipe.execute()

    async def _pressures(self) -> list[Pressure]:
        raw = await self._redis.hgetall(self._keys("pressing"))
        return [Pressure(**json.loads(v)) for v in raw.values()]

    async def _firing(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for value in (await self._redis.hgetall(self._keys("firing"))).values():
            for agent, reasons in json.loads(value).items():
                found.setdefault(agent, []).extend(reasons)
        return found

    # the loop -----------------------------------------------------------------------------------------------
    async def tick(self, term: Term) -> None:
        """One look at the platform, by the replica leading `remediator/agents` (handlers.py): every action and
        publish of the look is fenced by its term, so a leader that stalled and woke up does nothing."""
        if self._api is None or not self.cfg.enabled:
            return
        acting = ACTING_UNDER.set(term)
        try:
            await self._look(term)
        finally:
            ACTING_UNDER.reset(acting)

    async def _look(self, term: Term) -> None:
        now = self._svc.clock.now()
        view = await self._read()
        runs = self._runs(view)
        decision = decide(runs, [*await self._pressures(), *waiting_remediations(runs, self.cfg, now)], self.cfg)
        changed = await self._act(decision, view)
        runs = [changed.get((r.namespace, r.name), r) for r in runs]
        found = contention([pod_view(p) for p in view.pods], self._allocatable(view), self.cfg, now)
        term.check()
        await contention_events(self._svc, self._redis, self._keys("contention"), found, now)
        report = AgentsReport(
            cluster=self._svc.settings.cluster.name,
            coderuns=sorted(runs, key=lambda r: (r.since or now, r.name)),
            by_stage=by_stage(runs),
            agents=agent_health(runs, await self._firing()),
            contention=found,
            pressing=sorted(p.key for p in await self._pressures()),
            dry_run=self._dry_run,
            time=now,
        )
        ttl = max(30, int(self.cfg.interval_s * 3))
        term.check()
        await self._redis.set(self._svc.keys(*REPORT_KEY), report.model_dump_json(), ex=ttl)
        await self._svc.publish(report)

    async def _read(self) -> ClusterView:
        custom, core = client.CustomObjectsApi(self._api), client.CoreV1Api(self._api)
        coderuns = await _items(custom.list_cluster_custom_object, GROUP, VERSION, PLURAL)
        wanted = set(self.cfg.namespaces)
        coderuns = [c for c in coderuns if not wanted or (c.get("metadata") or {}).get("namespace") in wanted]
        namespaces = sorted({(c.get("metadata") or {}).get("namespace", "") for c in coderuns})
        pods = [p for ns in namespaces for p in await _items(core.list_namespaced_pod, ns)]
        return ClusterView(coderuns, pods, await _items(core.list_node) if coderuns else [])

    def _runs(self, view: ClusterView) -> list[LiveCodeRun]:
        found = []
        for coderun in view.coderuns:
            meta = coderun.get("metadata") or {}
            pods = [p for p in view.pods if _owned_by(p, meta)]
            if (run := live_coderun(coderun, pods, self.cfg)) is not None:
                found.append(run)
        return found

    @staticmethod
    def _allocatable(view: ClusterView) -> dict[str, tuple[float, float]]:
        found = {}
        for node in view.nodes:
            offered = (node.get("status") or {}).get("allocatable") or {}
            found[(node.get("metadata") or {}).get("name", "")] = (
                quantity(offered.get("cpu")),
                quantity(offered.get("memory")),
            )
        return found

    # acting -------------------------------------------------------------------------------------------------
    async def _act(self, decision: Decision, view: ClusterView) -> dict[tuple[str, str], LiveCodeRun]:
        """Pause and resume as decided, each through the guard rails; the runs as they are afterwards."""
        if not decision.pause and not decision.resume:
            return {}
        now = self._svc.clock.now()
        if (pause := await self._switches.paused()) is not None:
            await self._svc.audit("agent_priority", "postponed", reason=f"the kill switch is on: {pause}")
            return {}
        labels = {
            (c["metadata"]["namespace"], c["metadata"]["name"]): c["metadata"].get("labels") or {}
            for c in view.coderuns
        }
        changed = {}
        for run, pausing in [(r, True) for r in decision.pause] + [(r, False) for r in decision.resume]:
            key = run.paused_by if not pausing else decision.because.key if decision.because else "agents"
            found = labels.get((run.namespace, run.name), {})
            if await self._change(run, pausing=pausing, incident=key, labels=found, why=decision.because, now=now):
                changed[(run.namespace, run.name)] = run.model_copy(
                    update={"paused": pausing, "paused_by": key if pausing else None}
                )
        return changed

    async def _change(
        self,
        run: LiveCodeRun,
        *,
        pausing: bool,
        incident: str | None,
        labels: dict[str, str],
        why: Pressure | None,
        now: dt.datetime,
    ) -> bool:
        """Pause or resume one CodeRun: refused by a guard or the rate limit, described in a dry run, or done."""
        verb = "pause_coderun" if pausing else "resume_coderun"
        target = ResourceRef(kind="CodeRun", namespace=run.namespace, name=run.name)
        reason = (why.why if why else "") if pausing else "nothing presses any more"
        if (refused := refusal(target, labels, self._guards)) is not None:
            await self._svc.audit(
                verb, "refused", target=str(target), reason=refused, incident_id=incident, policy="guard"
            )
            return False
        plan = self._plan(run, pausing, incident, now)
        if not self._dry_run:
            action_id = stable_id(verb, run.namespace, run.name, incident, now.isoformat())
            taken = await self._limits.reserve_action(action_id, now, self._svc.settings.remediator.rate_window_s)
            limit = self._svc.settings.remediator
            if (limited := rate_refusal(taken, now, limit.rate_limit, limit.rate_window_s)) is not None:
                await self._limits.release_action(action_id)
                await self._svc.audit(
                    verb, "refused", target=str(target), reason=limited, incident_id=incident, policy="rate_limit"
                )
                return False
        outcome = await carry_out(verb, plan, self._svc.clock, dry_run=self._dry_run)
        decision = {"ok": "paused" if pausing else "resumed", "dry_run": "dry_run"}.get(outcome.step.outcome, "failed")
        await self._svc.audit(
            verb, decision, target=str(target), reason=f"{outcome.step.detail} ({reason})", dry_run=self._dry_run,
            incident_id=incident, priority=run.priority, agent=run.agent or "",
        )  # fmt: skip
        if incident and not incident.startswith("waiting:"):
            await self.notes.tell(incident, target, outcome.step, resumed=not pausing)
        return outcome.step.outcome == "ok"

    def _plan(self, run: LiveCodeRun, pausing: bool, incident: str | None, now: dt.datetime) -> ActionPlan:
        custom = client.CustomObjectsApi(self._api)
        annotations: dict[str, str | None] = (
            {self.cfg.pause_annotation: "true", PAUSED_BY: incident, PAUSED_AT: now.isoformat()}
            if pausing
            else {self.cfg.pause_annotation: None, PAUSED_BY: None, PAUSED_AT: None}
        )
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{run.namespace}/{PLURAL}/{run.name}"

        async def patch() -> object:
            body = {"metadata": {"annotations": annotations}}
            return await kube(
                custom.patch_namespaced_custom_object, GROUP, VERSION, run.namespace, PLURAL, run.name, body,
                _content_type=MERGE_PATCH,
            )  # fmt: skip

        what = f"{'pause' if pausing else 'resume'} CodeRun {run.namespace}/{run.name} ({run.agent}, {run.priority})"
        target = ResourceRef(kind="CodeRun", namespace=run.namespace, name=run.name)
        return ActionPlan(what, target, {}, (Call(f"PATCH {path} (annotation {self.cfg.pause_annotation})", patch),))


async def _items(fn: Callable[..., Any], *args: Any) -> list[Json]:
    """A list's items; none when the API does not serve the kind (no CodeRun CRD, an emulator holding no node)."""
    try:
        found = await kube(fn, *args)
    except ApiException as exc:
        if exc.status == 404:
            return []
        raise
    return list(found.get("items") or [])


def _owned_by(pod: Json, coderun_meta: Json) -> bool:
    meta = pod.get("metadata") or {}
    owners = meta.get("ownerReferences") or []
    if any(o.get("uid") == coderun_meta.get("uid") for o in owners if coderun_meta.get("uid")):
        return True
    return (meta.get("labels") or {}).get("coderun") == coderun_meta.get("name")


def _agents_named(incident: Incident) -> dict[str, list[str]]:
    """The agents a firing agent-workflow alert of the incident names, with why (none once it resolved)."""
    agents: dict[str, list[str]] = {}
    for alert in incident.firing_alerts if incident.state != "resolved" else []:
        entry = CATALOGUE.get(alert.alert_id)
        if entry is not None and entry.family == "agent-workflow" and (name := agent_key(alert.labels.get("agent"))):
            agents.setdefault(name, []).append(f"{alert.alert_id} {alert.summary[:120]}")
    return agents
