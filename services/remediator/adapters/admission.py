"""Whether a new run may start, checked in order, each refusal audited with its reason: the kill switch, the
circuit breaker, the guards on the target, the target's cooldown, the ceiling on runs in progress, and the
per-target lock (one remediation of a target at a time, across replicas).
"""

from __future__ import annotations

from dataclasses import dataclass

from healer_common.clock import Clock
from healer_common.settings import RemediatorSettings
from services.remediator.adapters.limit_store import LimitStore
from services.remediator.adapters.runs import RunStore
from services.remediator.adapters.switches import Switches
from services.remediator.breaker import BreakerPolicy, judge
from services.remediator.guards import GuardPolicy, refusal
from services.remediator.limits import concurrency_refusal, cooldown_refusal
from services.remediator.run_state import RunState


def breaker_policy(cfg: RemediatorSettings) -> BreakerPolicy:
    return BreakerPolicy(cfg.breaker_window_s, cfg.breaker_min_runs, cfg.breaker_min_success, cfg.breaker_cooldown_s)


@dataclass(frozen=True)
class Admission:
    cfg: RemediatorSettings
    guards: GuardPolicy
    runs: RunStore
    limits: LimitStore
    switches: Switches
    clock: Clock

    async def refusal(self, state: RunState, target_labels: dict[str, str], *, recurring: bool = False) -> str | None:
        """Why this run may not start, or None (and then it holds its target's lock and counts as active). A run
        that goes on after a fix that did not hold is not a repeat, so the cooldown does not hold it back."""
        now = self.clock.now()
        if (pause := await self.switches.paused()) is not None:
            return str(pause)
        verdict = judge(
            await self.switches.outcomes(), await self.switches.breaker_opened_at(), now, breaker_policy(self.cfg)
        )
        if verdict.open:
            if verdict.opened_at == now:
                await self.switches.open_breaker(now)
            return verdict.reason
        if reason := refusal(state.target, target_labels, self.guards):
            return reason
        key = (state.workload or state.target).key
        last = None if recurring else await self.limits.last_acted(key)
        if reason := cooldown_refusal(str(state.workload or state.target), last, now, self.cfg.cooldown_s):
            return reason
        return await self._reserve(state, key)

    async def _reserve(self, state: RunState, key: str) -> str | None:
        run_id = state.run.remediation_id
        active = await self.runs.join_active(run_id)
        if reason := concurrency_refusal(active, self.cfg.max_concurrent):
            await self.runs.leave_active(run_id)
            return reason
        if holder := await self.limits.lock_target(key, run_id, self.cfg.lock_ttl_s):
            await self.runs.leave_active(run_id)
            return f"remediation {holder} is already working on {state.workload or state.target}"
        return None

    async def release(self, state: RunState) -> None:
        await self.limits.release_lock((state.workload or state.target).key, state.run.remediation_id)
