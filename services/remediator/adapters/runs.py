"""Playbook runs in Redis, so that waiting (for a verification window, an approval, a rollback window) is state
plus a timer, never a handler awaiting for minutes, and any replica can carry a run on.

    run:<id>                 the RunState (JSON), kept a week after the run is done
    incident-runs:<incident> hash: problem key -> the run answering it (each set once: a redelivered incident
                             finds its runs; an incident's problems are its workloads, problems.py)
    fix:<target>             the last verified fix of a target (playbook, action), for recurrences
    due                      sorted set: run id -> when its next timer falls due
    active                   set of runs without a verdict yet (the concurrency ceiling counts them)
    lease:remediator/run/<id>  one replica changes a run at a time: a fenced lease (runtime/leadership.py),
                             renewed while the turn lasts; the action on the cluster is checked against it
                             (execution.py), so a replica that stalled in its turn and woke up after the lease
                             went to another acts no more
    deferred                 sorted set: incident -> when a playbook's condition duration will have passed
    deferred:<incident>      that incident's latest revision (JSON), looked at again then
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from healer_common.contract.incidents import Incident
from healer_common.errors import Retryable
from healer_common.runtime.leadership import LeaseHeld, Leases
from healer_common.runtime.state import KeySpace
from services.remediator.run_state import Fix, RunState

KEEP_DONE_S = 7 * 86_400
TURN_S = 30.0  # renewed while the turn lasts; a replica that dies in its turn holds the run this long at most
TURN_WAIT_S = 5.0


class RunBusy(Retryable):
    """Another replica is changing this run right now; try again in a moment."""


class RunStore:
    def __init__(self, redis: Redis, keys: KeySpace, holder: str = "remediator") -> None:
        self._redis = redis
        self._key = KeySpace(keys("remediator"))
        self._leases = Leases(redis, keys, holder)

    async def save(self, state: RunState) -> None:
        """Store the run; a run with its verdict leaves `active`, one with no timer left leaves `due`."""
        run_id = state.run.remediation_id
        done = state.phase == "done"
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self._key("run", run_id), state.model_dump_json(), ex=KEEP_DONE_S if done else None)
        if state.due_at is not None and not done:
            pipe.zadd(self._key("due"), {run_id: state.due_at.timestamp()})
        else:
            pipe.zrem(self._key("due"), run_id)
        if state.final:
            pipe.srem(self._key("active"), run_id)
        else:
            pipe.sadd(self._key("active"), run_id)
        await pipe.execute()

    async def get(self, run_id: str) -> RunState | None:
        raw = await self._redis.get(self._key("run", run_id))
        return RunState.model_validate_json(raw) if raw else None

    async def claim_problem(self, incident_id: str, problem: str, run_id: str) -> str | None:
        """Bind one of the incident's problems to this run; the run already bound to it, if another replica
        (or a redelivery) was first."""
        key = self._key("incident-runs", incident_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hsetnx(key, problem, run_id)
        pipe.expire(key, KEEP_DONE_S)
        pipe.hget(key, problem)
        claimed, _, bound = await pipe.execute()
        return None if claimed else (str(bound) if bound else None)

    async def release_problem(self, incident_id: str, problem: str, run_id: str) -> None:
        """Undo `claim_problem` for a run that did not start (it waits for a free slot), if it still holds it."""
        key = self._key("incident-runs", incident_id)
        if await self._redis.hget(key, problem) == run_id:
            await self._redis.hdel(key, problem)

    async def claim_problems(self, marks: dict[str, dict[str, str]]) -> dict[str, set[str]]:
        """`claim_problem` for many problems of many incidents ({incident id: {problem: mark}}) in one round
        trip: {incident id: the problems this call bound}."""
        marks = {incident_id: problems for incident_id, problems in marks.items() if problems}
        if not marks:
            return {}
        pipe = self._redis.pipeline(transaction=True)
        for incident_id, problems in marks.items():
            key = self._key("incident-runs", incident_id)
            for problem, run_id in problems.items():
                pipe.hsetnx(key, problem, run_id)
            pipe.expire(key, KEEP_DONE_S)
        answers = iter(await pipe.execute())
        bound = {}
        for incident_id, problems in marks.items():
            bound[incident_id] = {problem for problem in problems if next(answers)}
            next(answers)  # EXPIRE's
        return bound

    async def defer(self, incident: Incident, until: dt.datetime) -> None:
        """Look at the incident again at `until` (the earliest time wins when deferred twice)."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self._key("deferred", incident.incident_id), incident.model_dump_json(), ex=KEEP_DONE_S)
        pipe.zadd(self._key("deferred"), {incident.incident_id: until.timestamp()}, lt=True)
        await pipe.execute()

    async def revised(self, incidents: list[Incident]) -> list[dict[str, str]]:
        """For each revision: keep it if its incident is deferred (a resolved one is not looked at again), and
        read problem key -> run id of every problem of the incident that has a run. A wave in one round trip,
        and one more for the few deferred: a revision is encoded only when its incident waits."""
        if not incidents:
            return []
        still = [i for i in incidents if i.state != "resolved"]
        async with self._redis.pipeline(transaction=False) as pipe:
            for incident in incidents:
                pipe.hgetall(self._key("incident-runs", incident.incident_id))
            for incident in still:
                pipe.exists(self._key("deferred", incident.incident_id))
            for incident in incidents:
                if incident.state == "resolved":
                    pipe.delete(self._key("deferred", incident.incident_id))
                    pipe.zrem(self._key("deferred"), incident.incident_id)
            answers = await pipe.execute()
        found, deferred = answers[: len(incidents)], answers[len(incidents) : len(incidents) + len(still)]
        waiting = [incident for incident, waits in zip(still, deferred, strict=True) if waits]
        if waiting:
            async with self._redis.pipeline(transaction=False) as pipe:
                for incident in waiting:  # xx: taken off meanwhile (its time came), it stays off
                    pipe.set(
                        self._key("deferred", incident.incident_id), incident.model_dump_json(), xx=True, keepttl=True
                    )
                await pipe.execute()
        return [{str(k): str(v) for k, v in runs.items()} for runs in found]

    async def deferred_due(self, now: dt.datetime) -> list[Incident]:
        """Deferred incidents whose time has come, each taken off the list (latest revision first seen)."""
        due = [str(i) for i in await self._redis.zrangebyscore(self._key("deferred"), "-inf", now.timestamp())]
        found = []
        for incident_id in due:
            if await self._redis.zrem(self._key("deferred"), incident_id):
                raw = await self._redis.getdel(self._key("deferred", incident_id))
                if raw:
                    found.append(Incident.model_validate_json(raw))
        return found

    async def mark_held(self, incident_id: str) -> None:
        """A maintenance window kept this incident from starting a run: its next revision may start one."""
        await self._redis.set(self._key("held", incident_id), "1", ex=KEEP_DONE_S)

    async def was_held(self, incident_id: str) -> bool:
        return bool(await self._redis.exists(self._key("held", incident_id)))

    async def remember_fix(self, target: str, fix: Fix, ttl_s: float) -> None:
        if ttl_s > 0:
            await self._redis.set(self._key("fix", target), fix.model_dump_json(), px=int(ttl_s * 1000))

    async def last_fix(self, target: str) -> Fix | None:
        raw = await self._redis.get(self._key("fix", target))
        return Fix.model_validate_json(raw) if raw else None

    async def due(self, now: dt.datetime) -> list[str]:
        return [str(r) for r in await self._redis.zrangebyscore(self._key("due"), "-inf", now.timestamp())]

    async def active(self) -> list[str]:
        return sorted(str(r) for r in await self._redis.smembers(self._key("active")))

    async def awaiting_approval(self) -> int:
        """How many runs wait for a person's answer now (the healer_approvals_waiting gauge)."""
        states = [await self.get(run_id) for run_id in await self.active()]
        return sum(1 for state in states if state is not None and state.phase == "awaiting_approval")

    async def join_active(self, run_id: str) -> int:
        """Count this run among those in progress; how many there are now, this one included."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(self._key("active"), run_id)
        pipe.scard(self._key("active"))
        _, count = await pipe.execute()
        return int(count)

    async def leave_active(self, run_id: str) -> None:
        await self._redis.srem(self._key("active"), run_id)

    @contextlib.asynccontextmanager
    async def turn(self, run_id: str, wait_s: float = TURN_WAIT_S) -> AsyncIterator[None]:
        """Hold the run's lease while changing it. Another replica's (or handler's) turn is short, so it is
        waited for a moment; RunBusy (a redelivery later) only if it lasts longer than `wait_s`."""
        try:
            async with self._leases.held(f"remediator/run/{run_id}", TURN_S, wait_s=wait_s):
                yield
        except LeaseHeld:
            raise RunBusy(f"run {run_id} is being changed elsewhere", delay=1.0) from None
