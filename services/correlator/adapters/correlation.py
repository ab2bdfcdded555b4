"""The correlator's work on one input, between the handlers and the pure logic: load what the decision needs
from Redis, decide (grouping.py, revision.py, notify_timing.py), publish the revision, save, audit.

Everything for one cluster happens under that cluster's lock, so replicas never open two incidents for one
problem. Three inputs drive it:

- an alert (`on_alert`): joins or opens an incident, teaches the co-occurrence counts, and, when it can mute
  others (an inhibition source), refreshes the cluster's other open incidents;
- a change (`on_change`): kept for ranking; open incidents on the changed object are re-ranked;
- the timer (`tick`): publishes the revisions whose group_wait, group_interval or repeat_interval has come,
  re-applies silences when one was created, expired or ran out, and audits silences that ended.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ChangeEvent
from healer_common.contract.incidents import Incident
from healer_common.contract.matchers import InhibitionRule
from healer_common.contract.messages import stable_id
from healer_common.contract.silences import Silence
from healer_common.runtime.bus import Service
from healer_common.runtime.silence_store import KEEP_ENDED_S, SilenceStore
from healer_common.runtime.state import first_time
from services.correlator.adapters.change_store import ChangeStore
from services.correlator.adapters.incident_store import IncidentStore
from services.correlator.adapters.inhibitor_store import InhibitorStore
from services.correlator.adapters.link_store import LastSeen, LinkStore
from services.correlator.causes import RankingInputs
from services.correlator.changes import change_record
from services.correlator.cooccurrence import LinkStats, LinkThresholds, alert_type
from services.correlator.environments import app_firing
from services.correlator.grouping import GroupingPolicy, choose_incident, group_for, index_fields, lookup_fields
from services.correlator.muting import is_source
from services.correlator.notify_timing import NotifyTiming, decide
from services.correlator.revision import Surroundings, apply_alert, derive, next_revision

T = TypeVar("T")


async def _ready(value: T) -> T:
    return value


@dataclass(frozen=True)
class Stores:
    incidents: IncidentStore
    links: LinkStore
    changes: ChangeStore
    inhibitors: InhibitorStore
    silences: SilenceStore


@dataclass(frozen=True)
class CorrelatorConfig:
    policy: GroupingPolicy
    timing: NotifyTiming
    rules: list[InhibitionRule]
    thresholds: LinkThresholds
    change_window: dt.timedelta


@dataclass
class Correlator:
    svc: Service
    config: CorrelatorConfig
    stores: Stores
    _silences: list[Silence] = field(default_factory=list)
    _silences_version: int = -1
    _silence_view: tuple[int, frozenset[str]] = (-1, frozenset())

    async def on_start(self) -> None:
        await self.load_silences()

    # inputs ----------------------------------------------------------------------------------------------
    async def on_alert(self, alert: Alert) -> None:
        policy, stores = self.config.policy, self.stores
        async with stores.incidents.locked(alert.cluster):
            _, stale, found = await asyncio.gather(
                self.load_silences(),
                stores.incidents.is_stale(alert),
                stores.incidents.lookup(alert.cluster, lookup_fields(alert, policy)),
            )
            if stale:
                return
            types = {alert_type(a.labels) for f in found.values() for i in f for a in i.alerts}
            stats, last_seen = await stores.links.read(alert.cluster, {*types, alert_type(alert.labels)})
            join = choose_incident(alert, policy, found, stats)
            group = group_for(alert.labels, alert.cluster, policy)
            incident = apply_alert(
                join.incident if join else None, alert, group, self.svc.clock.now(), join.why if join else ""
            )
            if incident is None:
                return
            muting_changed = await self._learn(alert, last_seen)
            await self._publish(incident, f"{alert.alert_id} {alert.status}", stats)
            if muting_changed:
                await self._refresh(await self._open_in(alert.cluster, but=incident.incident_id))

    async def _learn(self, alert: Alert, last_seen: LastSeen) -> bool:
        """Count the alert in the learned links and keep it if it can mute others; whether that set changed."""
        writes: list[Awaitable[object]] = []
        if alert.firing:
            writes.append(self.stores.links.record(alert.cluster, alert_type(alert.labels), alert.starts_at, last_seen))
        if is_source(alert.labels, self.config.rules):
            writes.append(self.stores.inhibitors.track(alert))
        done = await asyncio.gather(*writes)
        return bool(is_source(alert.labels, self.config.rules) and done[-1])

    async def on_change(self, event: ChangeEvent) -> None:
        change = change_record(event, self.svc.clock.now())
        if not await self.stores.changes.add(change) or change.anchor is None:
            return
        async with self.stores.incidents.locked(change.cluster):
            found = await self.stores.incidents.lookup(change.cluster, [change.anchor.key])
            await self._refresh(found.get(change.anchor.key, []))

    async def tick(self) -> None:
        await self._follow_silences()
        for cluster, incident_id in await self.stores.incidents.due(self.svc.clock.now()):
            async with self.stores.incidents.locked(cluster):
                incident = await self.stores.incidents.get(incident_id)
                if incident is not None:
                    await self._publish_if_due(incident)

    # revisions -------------------------------------------------------------------------------------------
    async def _surroundings(self, incident: Incident, stats: LinkStats | None = None) -> Surroundings:
        """Everything `derive` needs besides the incident, read concurrently."""
        window = self.config.change_window
        first = min(a.starts_at for a in incident.alerts)
        last = max(a.starts_at for a in incident.alerts)
        sources, changes, apps, (learned, _) = await asyncio.gather(
            self.stores.inhibitors.firing(incident.cluster),
            self.stores.changes.between(incident.cluster, first - window, last),
            self.stores.changes.apps(app_firing(incident)),
            self._stats(incident) if stats is None else _ready((stats, {})),
        )
        return Surroundings(
            silences=self._silences,
            rules=self.config.rules,
            sources=sources,
            ranking=RankingInputs(changes, learned, self.config.thresholds, window),
            apps=apps,
        )

    async def _stats(self, incident: Incident) -> tuple[LinkStats, LastSeen]:
        return await self.stores.links.read(incident.cluster, {alert_type(a.labels) for a in incident.alerts})

    async def _publish(self, incident: Incident, why: str, stats: LinkStats | None = None) -> None:
        """Derive, decide whether to tell people, publish, then save and audit one new revision."""
        now = self.svc.clock.now()
        around, state = await asyncio.gather(
            self._surroundings(incident, stats), self.stores.incidents.notify_state(incident)
        )
        derived = derive(incident, around, now)
        decision = decide(derived, state, self.config.timing, now)
        final = derived.model_copy(update={"notify": decision.notify})
        await self.svc.publish(final)
        top = final.causes[0].description if final.causes else "unknown"
        await asyncio.gather(
            self.stores.incidents.save(final, decision.state, decision.due, index_fields(final, self.config.policy)),
            self.stores.changes.set_firing(final.cluster, app_firing(final)),
            self.svc.audit(
                "incident",
                final.state,
                target=final.title,
                reason=f"{why}; {len(final.alerts)} alert(s); notify: {decision.why}; likely cause: {top}",
                incident_id=final.incident_id,
                event_id=stable_id(final.event_id, "audit"),
                revision=final.revision,
                notify=final.notify,
                silenced=final.silenced,
            ),
        )

    async def _refresh(self, incidents: list[Incident]) -> None:
        """Publish a revision of each incident whose derived parts changed (mutes, causes, environments)."""
        now = self.svc.clock.now()
        for incident in incidents:
            derived = derive(incident, await self._surroundings(incident), now)
            if derived != incident:
                await self._publish(next_revision(derived, now), "re-evaluated")

    async def _publish_if_due(self, incident: Incident) -> None:
        now = self.svc.clock.now()
        decision = decide(incident, await self.stores.incidents.notify_state(incident), self.config.timing, now)
        if decision.notify:
            await self._publish(next_revision(incident, now), decision.why)
        else:
            fields = index_fields(incident, self.config.policy)
            await self.stores.incidents.save(incident, decision.state, decision.due, fields)

    async def _open_in(self, cluster: str, but: str = "") -> list[Incident]:
        return [i for i in await self.stores.incidents.all_open() if i.cluster == cluster and i.incident_id != but]

    # silences --------------------------------------------------------------------------------------------
    async def load_silences(self) -> int:
        """Re-read the silences when someone changed them (a counter in Redis says so); the version read."""
        version = await self.stores.silences.version()
        if version != self._silences_version:
            self._silences = await self.stores.silences.all()
            self._silences_version = version
        return version

    async def _follow_silences(self) -> None:
        """Re-apply silences when the set in force changed (created, expired, run out); audit the ended."""
        now = self.svc.clock.now()
        version = await self.load_silences()
        active = frozenset(s.silence_id for s in self._silences if s.active(now))
        if (version, active) == self._silence_view:
            return
        self._silence_view = (version, active)
        for silence in self._silences:
            if silence.ends_at <= now:
                await self._audit_ended(silence)
        for incident in await self.stores.incidents.all_open():
            async with self.stores.incidents.locked(incident.cluster):
                current = await self.stores.incidents.get(incident.incident_id)
                if current is not None:
                    await self._refresh([current])
        await self.stores.silences.drop_ended_before(now - dt.timedelta(seconds=KEEP_ENDED_S))

    async def _audit_ended(self, silence: Silence) -> None:
        key = self.svc.keys("correlator", "silence-ended", silence.silence_id)
        if not await first_time(self.svc.redis, key, KEEP_ENDED_S):
            return
        how = f"expired early by {silence.expired_by}" if silence.expired_by else "ran out"
        await self.svc.audit(
            "silence",
            "expired",
            target=silence.scope,
            reason=f"{how}; it was: {silence.reason} (by {silence.author})",
            event_id=stable_id("silence-ended", silence.silence_id),
            silence_id=silence.silence_id,
            ends_at=silence.ends_at.isoformat(),
        )
