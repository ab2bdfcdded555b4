"""What memory-bridge knows of right now: the recent alerts and changes (bounded), the open incidents, and when
anything last happened, so that predictions match current conditions and analysis waits for a quiet spell.

Fed by the bridge's consumers of alerts, changes and incidents. A durable consumer replays history at first
start, so anything older than the window is ignored rather than taken as current. The occurrences are also kept
per namespace, so that a question about one namespace (every alert asks one) reads that namespace's, not all
CAPACITY of them: in a storm that scan was a quarter of memory-bridge's time. Pure; time is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections import deque

from services.memory_bridge.occurrences import Occurrence

CAPACITY = 1_000


def _identity(occurrence: Occurrence) -> tuple[str, bool]:
    return (occurrence.ref or f"{occurrence.key}@{occurrence.time.isoformat()}", occurrence.firing)


class RecentActivity:
    def __init__(self, window_s: float, started_at: dt.datetime, capacity: int = CAPACITY) -> None:
        self.window = dt.timedelta(seconds=window_s)
        self._occurrences: deque[Occurrence] = deque(maxlen=capacity)
        self._by_namespace: dict[str | None, deque[Occurrence]] = {}
        self._seen: set[tuple[str, bool]] = set()
        self._open_incidents: set[str] = set()
        self.last_activity = started_at

    def note(self, occurrence: Occurrence, now: dt.datetime) -> bool:
        """Remember an occurrence; False (and nothing kept) when it is old news or already known."""
        identity = _identity(occurrence)
        if now - occurrence.time > self.window or identity in self._seen:
            return False
        if len(self._occurrences) == self._occurrences.maxlen:
            oldest = self._occurrences[0]
            self._seen.discard(_identity(oldest))
            same = self._by_namespace[oldest.namespace]
            same.popleft()  # the oldest of all is the oldest of its namespace
            if not same:
                del self._by_namespace[oldest.namespace]
        self._occurrences.append(occurrence)
        self._by_namespace.setdefault(occurrence.namespace, deque()).append(occurrence)
        self._seen.add(identity)
        if not occurrence.is_change:
            self.last_activity = max(self.last_activity, now)
        return True

    def incident(self, incident_id: str, *, is_open: bool, now: dt.datetime) -> None:
        if is_open:
            self._open_incidents.add(incident_id)
        else:
            self._open_incidents.discard(incident_id)
        self.last_activity = max(self.last_activity, now)

    def current(
        self,
        now: dt.datetime,
        *,
        namespace: str | None = None,
        service: str | None = None,
        cluster: str | None = None,
    ) -> list[Occurrence]:
        """The occurrences within the window, oldest first, narrowed to a namespace, service or cluster."""
        pool = self._occurrences if namespace is None else self._by_namespace.get(namespace, ())
        return [
            o
            for o in pool
            if now - o.time <= self.window
            and (service is None or o.service == service)
            and (cluster is None or o.cluster == cluster)
        ]

    def idle_for(self, now: dt.datetime) -> float:
        """Seconds since the last alert or incident; 0 while an incident is open."""
        if self._open_incidents:
            return 0.0
        return max(0.0, (now - self.last_activity).total_seconds())
