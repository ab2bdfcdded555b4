"""What the collector can see: each source's health, and from them the cluster's.

A source reports each contact with its system: reached, unreachable (connection refused, timeout, 5xx, 401)
or degraded (one part refused: a 403 on secrets, a bad query). When one part (a watched kind, a query) has
failed to connect `unreachable_after` times in a row, its retries spent, with no success of any part between,
the source is Unreachable and says so with a `SourceUnreachable` condition (the detector's H0); the first
success of any part after that says `SourceHealthy`. A source never goes quiet.

The cluster is Unreachable when its Kubernetes API is (since then), Degraded when any source is in trouble
(the reason names which), and Healthy otherwise. Pure: the sources call it, the outbox publishes what it
returns, and cluster.py writes the health where `healer status --all` reads it.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.health import ClusterHealth, SourceHealth, SourceState
from services.collector.observations import Observation, observe, rfc3339

KUBERNETES = "kubernetes"


class SourceSight:
    """The health of one source of one cluster, moved by the contacts it reports."""

    def __init__(self, source: str, now: dt.datetime, *, unreachable_after: int = 3) -> None:
        self.source = source
        self.state: SourceState = "Connecting"
        self.since = now
        self.error: str | None = None
        self._unreachable_after = unreachable_after
        self._failures: dict[str, int] = {}
        self._reached_once = False
        self._degraded: dict[str, str] = {}
        self._announced: str | None = None

    def reached(self, part: str, now: dt.datetime) -> list[Observation]:
        self._failures.clear()  # any part that gets through shows the system can be reached
        self._reached_once = True
        self._degraded.pop(part, None)
        return self._settle(now)

    def unreachable(self, part: str, error: str, now: dt.datetime) -> list[Observation]:
        self._failures[part] = self._failures.get(part, 0) + 1
        self.error = error
        return self._settle(now)

    def degraded(self, part: str, error: str, now: dt.datetime) -> list[Observation]:
        self._degraded[part] = error
        return self._settle(now)

    def health(self) -> SourceHealth:
        error = self.error if self.state == "Unreachable" else "; ".join(self._degraded.values()) or None
        return SourceHealth(source=self.source, state=self.state, since=self.since, error=error)

    def _state(self) -> SourceState:
        if max(self._failures.values(), default=0) >= self._unreachable_after:
            return "Unreachable"
        if self._degraded:
            return "Degraded"
        return "Healthy" if self._reached_once else "Connecting"

    def _settle(self, now: dt.datetime) -> list[Observation]:
        state = self._state()
        if state != self.state:
            self.state, self.since = state, now
        announce = {"Unreachable": "SourceUnreachable", "Healthy": "SourceHealthy", "Degraded": "SourceHealthy"}
        reason = announce.get(state)
        if reason is None or reason == self._announced:
            return []
        self._announced = reason
        message = f"{self.source} cannot be read: {self.error}" if state == "Unreachable" else f"{self.source} reads"
        observation = observe(
            "Source",
            ("", self.source),
            reason,
            labels={"source": self.source},
            message=message,
            occurrence=rfc3339(self.since),
        )
        return [observation]


def cluster_health(
    cluster: str, sights: list[SourceSight], previous: ClusterHealth | None, now: dt.datetime
) -> ClusterHealth:
    """Healthy, Degraded(reason) or Unreachable(since) from the cluster's sources."""
    sources = [s.health() for s in sights]
    kube = next((s for s in sources if s.source == KUBERNETES), None)
    troubled = [s for s in sources if s.state != "Healthy"]
    if kube is not None and kube.state == "Unreachable":
        state, reason, since = "Unreachable", f"kubernetes API: {kube.error}", kube.since
    elif troubled:
        state = "Degraded"
        reason = "; ".join(f"{s.source} {s.state.lower()}" + (f": {s.error}" if s.error else "") for s in troubled)
        since = previous.since if previous is not None and previous.state == state else now
    else:
        state, reason = "Healthy", None
        since = previous.since if previous is not None and previous.state == state else now
    return ClusterHealth(cluster=cluster, state=state, reason=reason, since=since, sources=sources, time=now)
