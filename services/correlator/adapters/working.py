"""What the correlator holds in memory of each cluster (folding.OpenIncidents plus each incident's notify
state), and loading into it what a batch, a tick or a change needs.

The view is kept between batches while this process holds the cluster's lease without a break: a new lease
token one more than the last one this process held means nobody else wrote to the cluster in between
(runtime/leadership.py). Any other token, and the view starts empty and fills from Redis again. So one replica
working a storm reads each incident once, and replicas taking turns stay correct.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from healer_common.contract.alerts import Alert
from healer_common.runtime.leadership import Term
from services.correlator.adapters.incident_store import IncidentStore
from services.correlator.folding import OpenIncidents
from services.correlator.notify_timing import NotifyState

MAX_ENTRIES = 500_000
"""A view grown beyond this many index entries, closings and alerts starts over (bounded memory)."""
LOAD_ROUNDS = 3


@dataclass
class ClusterWork:
    token: int
    open: OpenIncidents
    states: dict[str, NotifyState] = field(default_factory=dict)


class WorkingSets:
    def __init__(self, store: IncidentStore) -> None:
        self._store = store
        self._views: dict[str, ClusterWork] = {}

    def under(self, cluster: str, lease: Term) -> ClusterWork:
        """The cluster's view for work under `lease`: kept if nobody held the lease since, else empty."""
        view = self._views.get(cluster)
        if view is None or view.token + 1 != lease.token or view.open.size > MAX_ENTRIES:
            view = ClusterWork(lease.token, OpenIncidents(cluster))
        view.token = lease.token
        self._views[cluster] = view
        return view

    def forget(self, cluster: str) -> None:
        """After a failure mid-way: what memory holds may differ from what was written."""
        self._views.pop(cluster, None)

    async def load(self, work: ClusterWork, fields: Iterable[str], alerts: Iterable[Alert] = ()) -> None:
        """Read the index fields and closings not known yet, then every incident they point at."""
        open_incidents, fields = work.open, set(fields)
        for _ in range(LOAD_ROUNDS):
            unknown = sorted(open_incidents.unknown_fields(fields))
            closings = sorted(open_incidents.unknown_closings(alerts))
            if unknown or closings:
                found, closed = await self._store.lookup(open_incidents.cluster, unknown, closings)
                open_incidents.learn_fields(found)
                open_incidents.closed.update(closed)
            missing = open_incidents.missing_incidents(fields)
            if not missing:
                return
            await self.load_ids(work, missing)

    async def load_ids(self, work: ClusterWork, incident_ids: Iterable[str]) -> None:
        wanted = set(incident_ids) - set(work.open.incidents)
        loaded = await self._store.load(wanted)
        for incident_id, (incident, state) in loaded.items():
            work.open.incidents[incident_id] = incident
            work.states[incident_id] = state
        gone = wanted - set(loaded)
        if gone:  # index entries left by a write lost in a crash: nothing to find there
            for ids in work.open.index.values():
                ids.difference_update(gone)
