"""The correlator's work, between the handlers and the pure logic: load what a decision needs from Redis in a
few round trips, decide (folding.py, publishing.py), publish the revisions that are due, write back what
changed in one fenced write.

Everything for one cluster happens under that cluster's lease (runtime/leadership.py), renewed while the work
runs: replicas never open two incidents for one problem, and a replica that lost the lease publishes and
writes nothing more. What it holds of the cluster stays in memory between batches (working.py). Inputs:

- a batch of alerts (`on_alerts`): each cluster's alerts folded into its incidents in arrival order, the
  learned links counted, the inhibiting alerts kept (when they change, every other open incident of the
  cluster is looked at again);
- a change (`on_change`): kept for ranking; open incidents on the changed object are looked at again;
- the timer (`tick`): incidents whose time has come; silences created, expired or run out (every open
  incident is looked at again) and the audit of those that ended.

An incident changed or looked at again is published when notify_timing.next_publication says (the first
revision after group_wait, then at most once per group_interval, a resolution at once; a later revision due
while alerts still wait in the consumer waits for them, notify_timing.held_for_backlog), else its time is
written down for the timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from healer_common.contract.alerts import Alert
from healer_common.contract.audit import AuditRecord
from healer_common.contract.events import ChangeEvent
from healer_common.contract.incidents import Incident
from healer_common.contract.matchers import InhibitionRule
from healer_common.contract.messages import Labels, stable_id
from healer_common.contract.silences import Silence
from healer_common.runtime.batches import Backlog, each_tried
from healer_common.runtime.bus import Service
from healer_common.runtime.leadership import Command, Leases, Term
from healer_common.runtime.silence_store import KEEP_ENDED_S, SilenceStore
from healer_common.runtime.state import first_time
from services.correlator.adapters.change_store import ChangeStore
from services.correlator.adapters.incident_store import IncidentStore
from services.correlator.adapters.inhibitor_store import InhibitorStore
from services.correlator.adapters.link_store import LinkStore
from services.correlator.adapters.working import ClusterWork, WorkingSets
from services.correlator.causes import RankingInputs
from services.correlator.changes import change_record
from services.correlator.cooccurrence import LinkStats, LinkThresholds, alert_type, joinable
from services.correlator.environments import app_firing
from services.correlator.folding import Folded, Unsaved, fold
from services.correlator.grouping import GroupingPolicy, lookup_fields
from services.correlator.muting import is_source
from services.correlator.notify_timing import NotifyState, NotifyTiming, held_for_backlog, next_publication
from services.correlator.publishing import Publication, publication, timed_parts
from services.correlator.revision import Limits, Surroundings

YIELD_EVERY = 200
"""Alerts folded between two looks at the event loop (and at the new incidents already due)."""
PUBLISH_EVERY = 100
"""Revisions derived before they go out: a wave reaches the notifier in parts while the rest is derived."""
DERIVE_AHEAD = dt.timedelta(seconds=1.0)
"""How long, at most, before its time the timer derives a revision (and never more than a fifth of
group_interval). It takes in one pass what falls due within half of it, starting half of it before the first:
a storm's wave falls due in clusters a few hundredths of a second apart (its first revisions went out in
parts), and a pass for each would start deriving a cluster only once the one before had gone out, late by
its derivation. Each part is sent at its own time, not before, the cluster's lease held meanwhile, so an
alert or a change that arrives in between waits for the next revision."""
LOOKS_AHEAD = 8
"""A timer busy with revisions falling due one after another still looks at the silences this often."""


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
    tick: dt.timedelta
    """How often the timer looks (settings: correlator.tick_s); a revision due sooner is waited for exactly."""
    limits: Limits = field(default_factory=Limits)


@dataclass
class Around:
    """The cluster's surroundings read for one unit of work: inhibiting alerts and learned links."""

    sources: dict[str, Labels]
    stats: LinkStats


class Correlator:
    def __init__(
        self, svc: Service, config: CorrelatorConfig, stores: Stores, leases: Leases, lease_ttl_s: float
    ) -> None:
        self.svc = svc
        self.config = config
        self.stores = stores
        self.leases = leases
        self.lease_ttl_s = lease_ttl_s
        self.working = WorkingSets(stores.incidents)
        self.alert_backlog = Backlog()
        """Alerts waiting behind the batch in hand (the alerts consumer keeps it): notify_timing.held_for_backlog."""
        self._silences: list[Silence] = []
        self._silences_version = -1
        self._silence_view: tuple[int, frozenset[str]] = (-1, frozenset())

    async def on_start(self) -> None:
        await self.load_silences()

    @contextlib.asynccontextmanager
    async def _under(self, cluster: str) -> AsyncIterator[tuple[Term, ClusterWork]]:
        """The cluster's lease and what this process holds of it; a failure drops the latter."""
        ttl_s = self.lease_ttl_s
        async with self.leases.held(f"correlator/cluster/{cluster}", ttl_s, wait_s=ttl_s) as lease:
            work = self.working.under(cluster, lease)
            try:
                yield lease, work
            except BaseException:
                self.working.forget(cluster)
                raise

    async def _around(self, cluster: str) -> Around:
        learning, sources = await asyncio.gather(
            self.stores.links.read_all(cluster), self.stores.inhibitors.firing(cluster)
        )
        return Around(sources, learning.stats)

    # inputs ----------------------------------------------------------------------------------------------------
    async def on_alerts(self, alerts: list[Alert]) -> None:
        """A batch, as it arrived: each cluster's alerts in order, clusters side by side."""
        await self.load_silences()
        by_cluster: dict[str, list[Alert]] = {}
        for alert in alerts:
            by_cluster.setdefault(alert.cluster, []).append(alert)
        await asyncio.gather(*(self._alerts_of(cluster, batch) for cluster, batch in by_cluster.items()))

    async def _alerts_of(self, cluster: str, alerts: list[Alert]) -> None:
        cfg = self.config
        async with self._under(cluster) as (lease, work):
            learning, sources = await asyncio.gather(
                self.stores.links.read_all(cluster), self.stores.inhibitors.firing(cluster)
            )
            around = Around(sources, learning.stats)
            wide = joinable(learning.stats, cfg.thresholds)
            fields = {
                f for a in alerts for f in lookup_fields(a, cfg.policy, with_namespace=alert_type(a.labels) in wide)
            }
            await self.working.load(work, fields, alerts)
            now, muting = self.svc.clock.now(), []
            for start in range(0, len(alerts), YIELD_EVERY):
                chunk = alerts[start : start + YIELD_EVERY]
                folded = fold(chunk, work.open, cfg.policy, learning, now=now, limits=cfg.limits, wide=wide)
                muting += self._track_sources(cluster, [f.alert for f in folded if f.incident is not None], sources)
                opened = self._opened_due(work, folded)
                if opened and start + YIELD_EVERY < len(alerts):
                    await self._settle(lease, work, opened, around, [])
                await asyncio.sleep(0)  # let the lease's renewal run through a long batch
            writes = self.stores.links.record_many(cluster, learning.learned)
            touched = set(work.open.unsaved)
            if muting:  # what mutes others changed: every open incident of the cluster is looked at again
                touched |= await self._recheck(work, self._open_ids(await self.stores.incidents.headers(), cluster))
            await self._settle(lease, work, touched, around, writes + muting)

    def _opened_due(self, work: ClusterWork, folded: list[Folded]) -> set[str]:
        """Incidents a chunk of a batch opened whose first revision is due already (group_wait 0): they are
        published before the rest of the batch is folded, so a storm's new groups are told first."""
        now, opened = self.svc.clock.now(), set()
        for incident in (f.incident for f in folded if f.incident is not None):
            if incident.incident_id in work.states or incident.state == "resolved":
                continue
            at = next_publication(
                NotifyState(opened_at=incident.opened_at), changed=True, resolved=False, timing=self.config.timing
            )
            if at is not None and at <= now:
                opened.add(incident.incident_id)
        return opened

    def _track_sources(self, cluster: str, news: list[Alert], sources: dict[str, Labels]) -> list[Command]:
        """Keep the firing alerts that can mute others (updating `sources`): the writes, none if unchanged."""
        added: dict[str, Labels] = {}
        removed: set[str] = set()
        for alert in news:
            if not is_source(alert.labels, self.config.rules):
                continue
            if alert.firing and alert.fingerprint not in sources:
                added[alert.fingerprint] = sources[alert.fingerprint] = dict(alert.labels)
            elif not alert.firing and sources.pop(alert.fingerprint, None) is not None:
                removed.add(alert.fingerprint)
                added.pop(alert.fingerprint, None)
        return self.stores.inhibitors.writes(cluster, added, removed)

    @staticmethod
    def _open_ids(headers: Iterable[Incident], cluster: str) -> set[str]:
        return {i.incident_id for i in headers if i.cluster == cluster}

    async def _recheck(self, work: ClusterWork, incident_ids: set[str]) -> set[str]:
        """Mark incidents to be derived again at their next revision (their surroundings changed)."""
        await self.working.load_ids(work, incident_ids)
        found = incident_ids & set(work.open.incidents)
        for incident_id in found:
            state = work.states.get(incident_id) or NotifyState(opened_at=work.open.incidents[incident_id].opened_at)
            work.states[incident_id] = state.model_copy(update={"recheck": True})
            work.open.unsaved.setdefault(incident_id, Unsaved())
        return found

    async def on_change(self, event: ChangeEvent) -> None:
        change = change_record(event, self.svc.clock.now())
        if not await self.stores.changes.add(change) or change.anchor is None:
            return
        async with self._under(change.cluster) as (lease, work):
            await self.working.load(work, [change.anchor.key])
            touched = await self._recheck(work, set(work.open.index.get(change.anchor.key, ())))
            if touched:
                await self._settle(lease, work, touched, await self._around(change.cluster), [])

    async def tick(self) -> None:
        """Publish what is due. What falls due before the next look could derive it ahead is derived up to
        DERIVE_AHEAD before its time here and sent at it, so a group's revisions go out at their group_interval,
        not a look or a wave's derivation later; silences are looked at again at least every LOOKS_AHEAD looks."""
        await self._follow_silences()
        covered = self.svc.clock.now()  # what was due by then is published
        await self._publish_due(covered)
        tick, deadline = self.config.tick, covered + LOOKS_AHEAD * self.config.tick
        half = min(DERIVE_AHEAD, self.config.timing.group_interval / 5) / 2
        while (now := self.svc.clock.now()) < deadline:
            upcoming = await self.stores.incidents.next_due(covered)
            if upcoming is None or upcoming - half > now + tick:  # the next look is in time for it
                return
            await asyncio.sleep(max(0.0, (upcoming - half - now).total_seconds()))
            covered = upcoming + half
            await self._publish_due(covered)

    async def _publish_due(self, at: dt.datetime) -> None:
        """What is due by `at`, each revision published at its own time (or now, if later): never before it."""
        by_cluster: dict[str, set[str]] = {}
        for cluster, incident_id in await self.stores.incidents.due(at):
            by_cluster.setdefault(cluster, set()).add(incident_id)
        for cluster, incident_ids in by_cluster.items():
            async with self._under(cluster) as (lease, work):
                await self.working.load_ids(work, incident_ids)
                found = incident_ids & set(work.open.incidents)
                gone = self.stores.incidents.unschedule(cluster, incident_ids - found)  # closed meanwhile
                await self._settle(lease, work, found, await self._around(cluster), gone, as_of=at)

    # publishing and writing back -------------------------------------------------------------------------------
    async def _settle(
        self,
        lease: Term,
        work: ClusterWork,
        incident_ids: set[str],
        around: Around,
        writes: list[Command],
        *,
        as_of: dt.datetime | None = None,
    ) -> None:
        """Publish the revisions that are due (by `as_of`, a moment about to come, when the timer derives ahead;
        each at its own time), then write back everything in one fenced write."""
        now, timing = self.svc.clock.now(), self.config.timing
        now = now if as_of is None else max(now, as_of)
        due: list[tuple[dt.datetime, str]] = []
        later: dict[str, dt.datetime | None] = {}
        for incident_id in sorted(incident_ids):
            incident = work.open.incidents[incident_id]
            state = work.states.setdefault(incident_id, NotifyState(opened_at=incident.opened_at))
            resolved = incident.state == "resolved"
            at = next_publication(state, changed=bool(incident.changed), resolved=resolved, timing=timing)
            waiting = self.alert_backlog.waiting
            if (
                at is not None
                and at <= now
                and not held_for_backlog(state, at, now, resolved=resolved, waiting=waiting, timing=timing)
            ):
                due.append((at, incident_id))
            else:
                later[incident_id] = at
        published = await self._publish(lease, work, sorted(due), around)
        commands = list(writes)
        for incident_id, at in later.items():
            incident, unsaved = work.open.incidents[incident_id], work.open.unsaved.get(incident_id, Unsaved())
            commands += self.stores.incidents.save(incident, work.states[incident_id], at, unsaved)
        commands += self._after_publishing(work, published)
        if commands:  # fenced: refused, nothing written, when another replica took the cluster over
            await self.leases.confirm(lease)
            await self.leases.fenced(lease, commands)
        for incident_id in incident_ids:
            work.open.unsaved.pop(incident_id, None)
            if incident_id in published and published[incident_id].stored.state == "resolved":
                work.open.drop(incident_id)
                work.states.pop(incident_id, None)

    def _after_publishing(self, work: ClusterWork, published: dict[str, Publication]) -> list[Command]:
        commands: list[Command] = []
        for incident_id, done in published.items():
            stored = done.stored
            work.open.incidents[incident_id] = stored
            work.states[incident_id] = done.state
            commands += self.stores.changes.firing_writes(stored.cluster, app_firing(stored))
            if stored.state == "resolved":
                commands += self.stores.incidents.close(stored, self.config.policy)
                continue
            unsaved = work.open.unsaved.setdefault(incident_id, Unsaved())
            unsaved.alerts |= done.remuted
            unsaved.timeline += done.noted
            at = next_publication(done.state, changed=False, resolved=False, timing=self.config.timing)
            commands += self.stores.incidents.save(stored, done.state, at, unsaved)
        return commands

    async def _publish(
        self, lease: Term, work: ClusterWork, due: list[tuple[dt.datetime, str]], around: Around
    ) -> dict[str, Publication]:
        """Derive and send the revisions (in the order they fall due) a part at a time, each part stamped with
        the time it was cut, or the time its revisions fall due if later, and sent no sooner: a part that waited
        for the ones before it is not dated earlier, so its next revision falls due an interval after it went
        out, not after the first part did."""
        if not due:
            return {}
        cfg = self.config
        incidents = [work.open.incidents[incident_id] for _, incident_id in due]
        surroundings = await self._surroundings(work.open.cluster, incidents, around)
        done: dict[str, Publication] = {}
        sending: list[asyncio.Task[None]] = []
        try:
            for now, ids in timed_parts(due, self.svc.clock.now, PUBLISH_EVERY):
                part = {}
                for incident in (work.open.incidents[incident_id] for incident_id in ids):
                    state = work.states[incident.incident_id]
                    part[incident.incident_id] = publication(
                        incident, state, surroundings, timing=cfg.timing, limits=cfg.limits, now=now
                    )
                done |= part
                sending.append(asyncio.create_task(self._send(lease, list(part.values()), now)))
                await asyncio.sleep(0)  # the part goes out, and the lease's renewal runs, while the next is derived
        except BaseException:
            await asyncio.gather(*sending, return_exceptions=True)  # no part left going out once handed back
            raise
        await each_tried(sending)  # a failure as it is (a Retryable stays one: the batch waits for NATS)
        return done

    async def _send(self, lease: Term, done: list[Publication], at: dt.datetime) -> None:
        """The part's revisions and their audit records, at `at` (the time they carry) and not before."""
        if (early := (at - self.svc.clock.now()).total_seconds()) > 0:
            await asyncio.sleep(early)
        await self.leases.confirm(lease)
        revisions = [(p.revision, p.why) for p in done if p.revision is not None]
        await self.svc.publish_many([*(r for r, _ in revisions), *(self._audit(r, why) for r, why in revisions)])

    async def _surroundings(self, cluster: str, incidents: list[Incident], around: Around) -> Surroundings:
        """What `derive` needs besides the incidents, for all of them at once."""
        window = self.config.change_window
        first = min(a.starts_at for i in incidents for a in i.alerts)
        last = max(a.starts_at for i in incidents for a in i.alerts)
        apps = {app for i in incidents for app in app_firing(i)}
        changes, views = await asyncio.gather(
            self.stores.changes.between(cluster, first - window, last), self.stores.changes.apps(apps)
        )
        return Surroundings(
            silences=self._silences,
            rules=self.config.rules,
            sources=around.sources,
            ranking=RankingInputs(changes, around.stats, self.config.thresholds, window),
            apps=views,
        )

    def _audit(self, revision: Incident, why: str) -> AuditRecord:
        top = revision.causes[0].description if revision.causes else "unknown"
        return self.svc.audit_record(
            "incident",
            revision.state,
            target=revision.title,
            reason=f"{revision.changed_count} alert(s) changed, {revision.alert_count} in all; notify: {why}; "
            f"likely cause: {top}",
            incident_id=revision.incident_id,
            event_id=stable_id(revision.event_id, "audit"),
            revision=revision.revision,
            notify=revision.notify,
            silenced=revision.silenced,
        )

    # silences --------------------------------------------------------------------------------------------------
    async def load_silences(self) -> int:
        """Re-read the silences when someone changed them (a counter in Redis says so); the version read."""
        version = await self.stores.silences.version()
        if version != self._silences_version:
            self._silences = await self.stores.silences.all()
            self._silences_version = version
        return version

    async def _follow_silences(self) -> None:
        """Look at every open incident again when the silences in force changed; audit the ended."""
        now = self.svc.clock.now()
        version = await self.load_silences()
        active = frozenset(s.silence_id for s in self._silences if s.active(now))
        if (version, active) == self._silence_view:
            return
        self._silence_view = (version, active)
        for silence in self._silences:
            if silence.ends_at <= now:
                await self._audit_ended(silence)
        headers = await self.stores.incidents.headers()
        for cluster in sorted({i.cluster for i in headers}):
            async with self._under(cluster) as (lease, work):
                touched = await self._recheck(work, self._open_ids(headers, cluster))
                if touched:
                    await self._settle(lease, work, touched, await self._around(cluster), [])
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
