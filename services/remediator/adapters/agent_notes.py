"""What agent coordination tells: each pause and resume as a step of the `agent-priority` remediation of the
incident it was for (so the notifier threads it under that incident, and the run ends `succeeded` once every
CodeRun it paused is resumed), and contention as `AgentContention` / `AgentContentionCleared` conditions on
`healer.events.agents.condition`, which the detector holds and raises as A10.

The remediation carries no alert id: it is not a fix of the incident's alert, so memory never recommends it.
"""

from __future__ import annotations

import datetime as dt
import json

from redis.asyncio import Redis

from healer_common.contract.agents import Contention
from healer_common.contract.codec import encode
from healer_common.contract.events import ConditionData, ConditionEvent, ResourceRef
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import Remediation, RemediationStep
from healer_common.runtime.bus import Service
from healer_common.runtime.state import KeySpace

PLAYBOOK = "agent-priority"
KEEP_S = 7 * 86_400


class CoordinationNotes:
    def __init__(self, svc: Service, redis: Redis, keys: KeySpace) -> None:
        self._svc = svc
        self._redis = redis
        self._keys = keys

    async def tell(self, incident: str, target: ResourceRef, step: RemediationStep, *, resumed: bool) -> None:
        """One more step of the incident's agent-priority run, published whole (a new revision)."""
        key = self._keys("told", incident)
        raw = await self._redis.get(key)
        now = self._svc.clock.now()
        run = Remediation.model_validate_json(raw) if raw else self._new(incident, target, now)
        steps = [*run.steps, step]
        held = self._keys("held", incident)  # the CodeRuns paused for this incident and not yet resumed
        if step.outcome == "ok":
            await (self._redis.srem if resumed else self._redis.sadd)(held, f"{target.namespace}/{target.name}")
            await self._redis.expire(held, KEEP_S)
        done = resumed and not await self._redis.scard(held)
        run = run.evolve(
            steps=steps,
            state="succeeded" if done else "acted",
            revision=run.revision + 1 if raw else 1,
            event_id=stable_id(run.remediation_id, len(steps)),
            reason=step.detail,
            finished_at=now if done else None,
            time=now,
        )
        await self._redis.set(key, run.model_dump_json(), ex=KEEP_S)
        await self._svc.publish(run)

    def _new(self, incident: str, target: ResourceRef, now: dt.datetime) -> Remediation:
        return Remediation(
            remediation_id=stable_id(PLAYBOOK, incident)[:16],
            incident_id=incident,
            playbook=PLAYBOOK,
            state="acted",
            cluster=self._svc.settings.cluster.name,
            target=target,
            dry_run=self._svc.settings.remediator.dry_run,
            reason="low-priority agent work yields to the incident",
            correlation_id=incident,
            started_at=now,
            time=now,
        )


def _condition(found: Contention | None, scope: str, name: str, now: dt.datetime, cluster: str) -> ConditionEvent:
    kind = "Node" if scope == "node" else "Namespace"
    resource = ResourceRef(kind=kind, name=name)
    if found is None:
        data = ConditionData(resource=resource, reason="AgentContentionCleared", labels={scope: name})
    else:
        labels = {scope: name, "resource": found.resource, "agents": ",".join(found.agents)[:256]}
        if found.pending:
            labels["pending"] = ",".join(found.pending)[:256]
        data = ConditionData(resource=resource, reason="AgentContention", message=found.describe(), labels=labels)
    return ConditionEvent(
        type="healer.condition.v1",
        specversion="1.0",
        id=stable_id("agent-contention", scope, name, data.reason, now.isoformat()),
        source="/healer/remediator/agents",
        time=now,
        cluster=cluster,
        data=data,
    )


async def contention_events(svc: Service, redis: Redis, key: str, found: list[Contention], now: dt.datetime) -> None:
    """Say where contention begins and ends; what was said last is kept in Redis, so a replica taking over the
    lease says nothing twice."""
    before = set(json.loads(raw)) if (raw := await redis.get(key)) else set()
    current = {f"{c.scope}/{c.name}": c for c in found}
    subject = svc.space.events("agents", "condition")
    cluster = svc.settings.cluster.name
    for where in sorted(set(current) - before) + sorted(before - set(current)):
        scope, name = where.split("/", 1)
        event = _condition(current.get(where), scope, name, now, cluster)
        await svc.publish_raw(subject, encode(event), {"Nats-Msg-Id": event.id})
    await redis.set(key, json.dumps(sorted(current)), ex=KEEP_S)
