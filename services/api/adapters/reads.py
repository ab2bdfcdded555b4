"""What the read API reads, and from where: histories from JetStream (stream_pages.py, newest first), current
working state from Redis (open incidents, heartbeats, cluster health, silences), memory from memory-bridge
(request/reply). Nothing is kept between requests but the alert view (alert_view.py, kept current by
alert_follow.py), which answers alert pages when it can; every other answer is read when it is asked for.

Lists hand back the stored JSON bodies as they are (each checked against its model first), so a page of
alerts costs a read and a check, not a parse and a re-serialisation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from healer_common.contract import streams
from healer_common.contract.alerts import Alert
from healer_common.contract.audit import AuditRecord
from healer_common.contract.events import EVENT_ADAPTER, ConditionEvent
from healer_common.contract.incidents import Incident
from healer_common.contract.memory import MemoryStats, MemoryStatsRequest, PredictionAnswer, PredictionRequest
from healer_common.contract.remediations import Remediation
from healer_common.contract.silences import Silence
from healer_common.contract.views import Check, CodeRunView, IncidentDetail, RemediationDetail, StatusReport
from healer_common.runtime.bus import Service
from healer_common.runtime.silence_store import SilenceStore
from healer_common.runtime.status import gather, open_incidents, open_incidents_key
from healer_common.runtime.stream_pages import Keep, PageQuery, Stored, StreamPages
from services.api import coderuns
from services.api.adapters.alert_follow import AlertFollow, current_body
from services.api.dashboard import Observed
from services.api.queries import ListQuery

M = TypeVar("M", bound=BaseModel)
MEMORY_WAIT_S = 5.0
HISTORY = dt.timedelta(days=90)  # the longest a detail route looks back for an incident or a run
AUDIT_LEAD = dt.timedelta(minutes=1)  # audit records a little older than what they are about


def current_bodies(model: type[BaseModel], found: list[Stored]) -> list[bytes]:
    """The stored bodies in `model`'s current shape (`current_body`), what is not a `model` at all left out."""
    return [body for body in (current_body(model, msg) for msg in found) if body is not None]


def once_per(header: str) -> Keep:
    """Keep the first (newest) message of each value of a header: the latest revision of each run or incident."""
    seen: set[str] = set()

    def keep(msg: Stored) -> bool:
        key = msg.headers.get(header, "")
        if key in seen:
            return False
        seen.add(key)
        return True

    return keep


def both(*tests: Keep) -> Keep:
    return lambda msg: all(test(msg) for test in tests)


class BusReads:
    def __init__(self, svc: Service, follow: AlertFollow) -> None:
        self._svc = svc
        self._follow = follow
        self._space = svc.space
        self._cfg = svc.settings.api
        self._silences = SilenceStore(svc.redis, svc.keys)

    def _pages(self, spec: streams.StreamSpec) -> StreamPages:
        return StreamPages(self._svc.nats, spec.name(self._space))

    def _now(self) -> dt.datetime:
        return self._svc.clock.now()

    # lists -------------------------------------------------------------------------------------------------
    async def alerts(self, q: ListQuery) -> tuple[list[bytes], int | None]:
        subject = self._space.alerts(q.token) if q.token else self._space.all_alerts
        answered = await self._follow.page(q, self._space.alerts(q.token) if q.token else None)
        if answered is not None:
            return answered
        keep: Keep = lambda m: q.matches(m.headers)  # noqa: E731 - one line reads best here
        query = PageQuery(q.limit, q.cursor, q.since, q.until, filter_subject=subject, keep=keep)
        found, after = await self._pages(streams.ALERTS).newest_first(query)
        return current_bodies(Alert, found), after

    async def incidents(self, q: ListQuery) -> tuple[list[bytes], int | None]:
        if q.state == "resolved":
            keep: Keep = lambda m: q.matches(m.headers)  # noqa: E731
            subject = self._space.incidents("resolved")
            query = PageQuery(q.limit, q.cursor, q.since, q.until, filter_subject=subject, keep=keep)
            found, after = await self._pages(streams.INCIDENTS).newest_first(query)
            return current_bodies(Incident, found), after
        chosen = [
            i
            for i in reversed(await open_incidents(self._svc.redis, self._svc.keys))
            if q.matches({"Healer-Severity": i.severity, "Healer-Cluster": i.cluster})
            and (q.since is None or i.opened_at >= q.since)
            and (q.until is None or i.opened_at < q.until)
        ]
        return [i.model_dump_json().encode() for i in chosen[: q.limit]], None

    async def remediations(self, q: ListQuery) -> tuple[list[bytes], int | None]:
        subject = self._space.remediations(q.state) if q.state else self._space.all_remediations
        keep = both(lambda m: q.matches(m.headers), once_per("Healer-Remediation-Id"))
        query = PageQuery(q.limit, q.cursor, q.since, q.until, filter_subject=subject, keep=keep)
        found, after = await self._pages(streams.REMEDIATIONS).newest_first(query)
        return current_bodies(Remediation, found), after

    # details -----------------------------------------------------------------------------------------------
    async def _newest(
        self, spec: streams.StreamSpec, subject: str, header: str, value: str, limit: int
    ) -> list[Stored]:
        keep: Keep = lambda m: m.headers.get(header) == value  # noqa: E731
        query = PageQuery(limit, since=self._now() - HISTORY, filter_subject=subject, keep=keep)
        return (await self._pages(spec).newest_first(query))[0]

    async def _audit(self, since: dt.datetime, field: str, value: str) -> list[AuditRecord]:
        needle = f'"{field}":"{value}"'.encode()
        found = await self._pages(streams.AUDIT).oldest_first(
            since - AUDIT_LEAD, filter_subject=self._space.all_audit, keep=lambda m: needle in m.data, limit=500
        )
        return [AuditRecord.model_validate_json(m.data) for m in found]

    async def incident(self, incident_id: str) -> IncidentDetail | None:
        stored = await self._svc.redis.hget(open_incidents_key(self._svc.keys), incident_id)
        incident = Incident.model_validate_json(stored) if stored else None
        if incident is None:
            found = await self._newest(
                streams.INCIDENTS, self._space.all_incidents, "Healer-Incident-Id", incident_id, 1
            )
            if not found:
                return None
            incident = Incident.model_validate_json(found[0].data)
        runs = await self._pages(streams.REMEDIATIONS).oldest_first(
            incident.opened_at - AUDIT_LEAD,
            filter_subject=self._space.all_remediations,
            keep=lambda m: m.headers.get("Healer-Incident-Id") == incident_id,
        )
        latest = {r.remediation_id: r for r in (Remediation.model_validate_json(m.data) for m in runs)}
        audit = await self._audit(incident.opened_at, "incident_id", incident_id)
        return IncidentDetail(incident=incident, remediations=list(latest.values()), audit=audit)

    async def remediation(self, remediation_id: str) -> RemediationDetail | None:
        found = await self._newest(
            streams.REMEDIATIONS, self._space.all_remediations, "Healer-Remediation-Id", remediation_id, 200
        )
        if not found:
            return None
        revisions = sorted((Remediation.model_validate_json(m.data) for m in found), key=lambda r: r.revision)
        audit = await self._audit(revisions[0].started_at, "remediation_id", remediation_id)
        return RemediationDetail(remediation=revisions[-1], revisions=revisions, audit=audit)

    # the dashboard's pieces --------------------------------------------------------------------------------
    async def _recent(self, spec: streams.StreamSpec, subject: str, keep: Keep | None, limit: int) -> list[Stored]:
        since = self._now() - dt.timedelta(hours=self._cfg.lookback_h)
        query = PageQuery(limit, since=since, filter_subject=subject, keep=keep, scan_limit=self._cfg.scan_limit)
        return (await self._pages(spec).newest_first(query))[0]

    async def recent_alerts(self) -> list[Alert]:
        found = await self._recent(streams.ALERTS, self._space.all_alerts, None, self._cfg.recent_alerts * 2)
        return _parsed(Alert, found)

    async def recent_incidents(self) -> list[Incident]:
        keep = once_per("Healer-Incident-Id")
        return _parsed(Incident, await self._recent(streams.INCIDENTS, self._space.all_incidents, keep, 1_000))

    async def recent_remediations(self) -> list[Remediation]:
        keep = once_per("Healer-Remediation-Id")
        found = await self._recent(streams.REMEDIATIONS, self._space.all_remediations, keep, 1_000)
        return _parsed(Remediation, found)

    async def coderuns(self) -> list[CodeRunView]:
        found = await self._recent(
            streams.EVENTS, self._space.all_conditions, lambda m: b'"CodeRun"' in m.data, self._cfg.scan_limit
        )
        events = []
        for msg in found:
            try:
                event = EVENT_ADAPTER.validate_json(msg.data)
            except ValidationError:
                continue
            if isinstance(event, ConditionEvent):
                events.append(event)
        return coderuns.active_coderuns(events)

    async def _nats(self) -> Check:
        url = self._svc.settings.nats.url
        if not self._svc.nats_connected:
            return Check(ok=False, url=url, error="the API's own connection to NATS is down")
        info = await self._svc.jetstream.account_info()
        return Check(ok=True, url=url, detail={"streams": info.streams, "consumers": info.consumers})

    async def status(self) -> StatusReport:
        return await gather(self._svc.settings, with_incidents=True, redis=self._svc.redis, nats=self._nats)

    async def observed(self) -> Observed:
        status, alerts, incidents, runs, runs_of_agents = await asyncio.gather(
            self.status(), self.recent_alerts(), self.recent_incidents(), self.recent_remediations(), self.coderuns()
        )
        return Observed(status, alerts, incidents, runs, runs_of_agents, self._now())

    # Redis and memory --------------------------------------------------------------------------------------
    async def silences(self) -> list[Silence]:
        return await self._silences.all()

    async def memory_stats(self) -> MemoryStats:
        answer: MemoryStats = await self._svc.request(
            self._space.memory_stats, MemoryStatsRequest(), MemoryStats, MEMORY_WAIT_S
        )
        return answer

    async def predictions(self) -> PredictionAnswer:
        answer: PredictionAnswer = await self._svc.request(
            self._space.memory_predict, PredictionRequest(), PredictionAnswer, MEMORY_WAIT_S
        )
        return answer


def _parsed(model: type[M], found: list[Stored]) -> list[M]:
    parsed = []
    for msg in found:
        try:
            parsed.append(model.model_validate_json(msg.data))
        except ValidationError:
            continue
    return parsed
