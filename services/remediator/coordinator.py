"""One remediation from incident to verified outcome: choose a playbook, check the guards, ask memory, act
(or say what would be done), publish each state, audit each decision, then verify when the incident
resolves or fail when the verification window ends.

Actions run at most once per incident: the run is recorded as pending before it acts, so a redelivered
incident finds it and does nothing, and a crash mid-run ends as `failed` at the window's end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from healer_common.bus import Service
from healer_common.errors import Retryable
from healer_common.incidents import Incident
from healer_common.memory import MemoryAnswer, MemoryQuery
from healer_common.messages import stable_id
from healer_common.remediations import Remediation, RemediationStep
from services.remediator.actions.restart_pod import read_pod_labels, restart_pod
from services.remediator.guards import GuardPolicy, refusal
from services.remediator.pending import PendingVerifications
from services.remediator.playbooks import choose_playbook


@dataclass(frozen=True)
class RemediationPolicy:
    dry_run: bool
    verify_window_s: float
    memory_timeout_s: float
    guards: GuardPolicy


class RemediationCoordinator:
    def __init__(
        self,
        svc: Service,
        api: client.ApiClient | None,
        policy: RemediationPolicy,
        pending: PendingVerifications,
    ) -> None:
        self._svc = svc
        self._api = api
        self._policy = policy
        self._pending = pending

    @property
    def dry_run(self) -> bool:
        return self._policy.dry_run or self._api is None

    async def _publish(self, run: Remediation, **changes: Any) -> Remediation:
        state = changes.get("state", run.state)
        updated = run.evolve(event_id=stable_id(run.remediation_id, state), time=self._svc.clock.now(), **changes)
        await self._svc.publish(updated)
        return updated

    async def _audit(self, run: Remediation, decision: str, reason: str, **details: Any) -> None:
        await self._svc.audit(
            run.playbook,
            decision,
            target=str(run.target or ""),
            reason=reason,
            dry_run=run.dry_run,
            incident_id=run.incident_id,
            remediation_id=run.remediation_id,
            event_id=stable_id(run.remediation_id, "audit", decision),
            **details,
        )

    async def on_opened(self, incident: Incident) -> None:
        playbook = choose_playbook(incident)
        target = incident.primary.resource
        if playbook is None or target is None:
            await self._svc.audit(
                "choose_playbook",
                "skipped",
                target=incident.title,
                incident_id=incident.incident_id,
                reason=f"no playbook matches {', '.join(incident.alert_ids)}",
                event_id=stable_id(incident.incident_id, "no-playbook"),
            )
            return
        if await self._pending.get(incident.incident_id) is not None:
            return  # a redelivery: this incident's run is already under way
        now = self._svc.clock.now()
        run_id = stable_id(incident.incident_id, playbook.name)[:16]
        run = Remediation(
            remediation_id=run_id,
            incident_id=incident.incident_id,
            playbook=playbook.name,
            state="planned",
            cluster=incident.cluster,
            target=target,
            alert_ids=incident.alert_ids,
            dry_run=self.dry_run,
            reason=playbook.description,
            correlation_id=incident.incident_id,
            started_at=now,
            time=now,
        )
        await self._pending.put(run)
        run = await self._publish(run)
        await self._act(run)

    async def _act(self, run: Remediation) -> None:
        assert run.target is not None
        labels = await read_pod_labels(self._api, run.target) if self._api is not None else {}
        if labels is None:
            await self._finish(run, "skipped", f"{run.target} no longer exists; nothing to restart")
            return
        if reason := refusal(run.target, labels, self._policy.guards):
            await self._finish(run, "skipped", f"refused: {reason}")
            return
        memory = await self._ask_memory(run)
        step = await restart_pod(self._api, run.target, self._svc.clock, dry_run=self.dry_run)
        await self._audit(
            run,
            {"ok": "acted", "dry_run": "dry_run"}.get(step.outcome, "failed"),
            step.detail,
            api_calls="; ".join(step.api_calls),
            memories=len(memory.matches) if memory else 0,
        )
        if step.outcome == "failed":
            await self._finish(run, "failed", step.detail, steps=[step])
            return
        memory_ids = [m.record.memory_id for m in memory.matches] if memory else []
        acted = await self._publish(run, state="acted", steps=[step], memory_ids=memory_ids)
        await self._pending.put(acted)

    async def _ask_memory(self, run: Remediation) -> MemoryAnswer | None:
        question = MemoryQuery(
            text=f"{' '.join(run.alert_ids)} {run.target} {run.playbook}",
            alert_type=run.alert_ids[0] if run.alert_ids else None,
            namespace=run.target.namespace if run.target else None,
        )
        try:
            answer: MemoryAnswer = await self._svc.request(
                self._svc.space.memory_query, question, MemoryAnswer, wait_s=self._policy.memory_timeout_s
            )
        except Retryable as exc:
            self._svc.log.warning("memory_unavailable", error=str(exc))
            return None
        return answer

    async def _finish(
        self, run: Remediation, state: str, reason: str, steps: list[RemediationStep] | None = None
    ) -> None:
        changes: dict[str, Any] = {"state": state, "reason": reason, "finished_at": self._svc.clock.now()}
        if steps is not None:
            changes["steps"] = steps
        await self._publish(run, **changes)
        await self._audit(run, state, reason)
        await self._pending.remove(run.incident_id)

    async def on_resolved(self, incident: Incident) -> None:
        run = await self._pending.get(incident.incident_id)
        if run is None or run.state != "acted":
            return
        took = (self._svc.clock.now() - run.started_at).total_seconds()
        note = " (dry run: nothing was done, the alert resolved by itself)" if run.dry_run else ""
        await self._finish(run, "succeeded", f"verified: the alert resolved {took:.1f}s after the run started{note}")

    async def expire(self) -> None:
        cutoff = self._svc.clock.now() - dt.timedelta(seconds=self._policy.verify_window_s)
        for run in await self._pending.older_than(cutoff):
            await self._finish(
                run,
                "failed",
                f"not verified: the alert still fired {self._policy.verify_window_s:.0f}s later",
            )
