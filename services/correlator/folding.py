"""A batch of alerts folded into one cluster's open incidents, in the order they arrived.

`OpenIncidents` is what the correlator holds of one cluster: the open incidents (every alert), the index that
finds them (grouping.lookup_fields -> incident ids) and the closed firings (so a redelivered firing cannot
reopen what is over). The correlator loads into it what a batch needs (adapters/incident_store.py), keeps it
between batches while it holds the cluster's lease without a break, and writes back what `fold` marked
unsaved. Each alert goes where grouping.choose_incident says, one after the other, so an alert sees the
incidents the alerts before it opened or changed in the same batch. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from healer_common.contract.alerts import Alert
from healer_common.contract.incidents import AlertSummary, Incident, TimelineEntry
from services.correlator.cooccurrence import Learning, alert_type
from services.correlator.grouping import GroupingPolicy, choose_incident, group_for, lookup_fields, summary_fields
from services.correlator.revision import Limits, apply_alert


@dataclass
class Unsaved:
    """What changed in one incident since it was last written to the store."""

    alerts: set[str] = field(default_factory=set)
    timeline: list[TimelineEntry] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)


@dataclass
class OpenIncidents:
    cluster: str
    incidents: dict[str, Incident] = field(default_factory=dict)
    index: dict[str, set[str]] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)
    """Index fields read from the store: what `index` says about them is the whole truth."""
    closed: dict[str, dt.datetime | None] = field(default_factory=dict)
    """fingerprint -> start of its last closed firing (None: never closed), as far as known."""
    unsaved: dict[str, Unsaved] = field(default_factory=dict)

    # what a batch needs loaded -------------------------------------------------------------------------------
    def unknown_fields(self, fields: Iterable[str]) -> set[str]:
        return {f for f in fields if f not in self.loaded}

    def learn_fields(self, found: dict[str, set[str]]) -> None:
        for name, ids in found.items():
            self.index.setdefault(name, set()).update(ids)
            self.loaded.add(name)

    def missing_incidents(self, fields: Iterable[str]) -> set[str]:
        """The incidents these fields point at that are not in hand. Only the batch's fields: every field ever
        loaded grows with the working set, and looking through all of them for each batch made a long storm's
        batches cost more and more."""
        return {i for name in fields for i in self.index.get(name, ()) if i not in self.incidents}

    def unknown_closings(self, alerts: Iterable[Alert]) -> set[str]:
        """Firing alerts held by no open incident, whose last closing is not known yet."""
        return {
            a.fingerprint
            for a in alerts
            if a.firing and not self.index.get(f"alert:{a.fingerprint}") and a.fingerprint not in self.closed
        }

    # folding ---------------------------------------------------------------------------------------------------
    def found(self, fields: Iterable[str]) -> dict[str, list[Incident]]:
        """Per field, the open incidents it points at, oldest first (grouping.choose_incident's input)."""
        result = {}
        for name in fields:
            held = [self.incidents[i] for i in self.index.get(name, ()) if i in self.incidents]
            if len(held) > 1:
                held.sort(key=lambda i: (i.opened_at, i.incident_id))
            if held:
                result[name] = held
        return result

    def is_stale(self, alert: Alert) -> bool:
        """A firing whose very start was already resolved and closed."""
        closed = self.closed.get(alert.fingerprint)
        return alert.firing and closed is not None and closed >= alert.starts_at

    def put(self, incident: Incident, alert: AlertSummary, policy: GroupingPolicy) -> None:
        """Keep the incident after `alert` changed it, index the alert, and mark both unsaved."""
        known = incident.incident_id in self.incidents
        unsaved = self.unsaved.setdefault(incident.incident_id, Unsaved())
        unsaved.alerts.add(alert.fingerprint)
        # apply_alert adds one entry to a known incident's timeline (which is capped, so lengths cannot tell)
        unsaved.timeline += incident.timeline[-1:] if known else incident.timeline
        self.incidents[incident.incident_id] = incident
        fields = summary_fields(alert, self.cluster, policy) if alert.status == "firing" else set()
        fields.add(f"alert:{alert.fingerprint}")
        for name in fields:
            self.index.setdefault(name, set()).add(incident.incident_id)
        unsaved.fields |= fields
        if incident.state == "resolved":
            self._forget(incident, policy)

    def _forget(self, incident: Incident, policy: GroupingPolicy) -> None:
        """A resolved incident is found no more; its alerts' firings are closed."""
        for alert in incident.alerts:
            for name in summary_fields(alert, self.cluster, policy) | {f"alert:{alert.fingerprint}"}:
                self.index.get(name, set()).discard(incident.incident_id)
            self.closed[alert.fingerprint] = alert.starts_at

    def drop(self, incident_id: str) -> None:
        """Once the resolved incident is closed in the store."""
        self.incidents.pop(incident_id, None)
        self.unsaved.pop(incident_id, None)

    @property
    def size(self) -> int:
        return len(self.index) + len(self.closed) + sum(len(i.alerts) for i in self.incidents.values())


@dataclass(frozen=True)
class Folded:
    """What one alert did: the incident it changed (opened or joined), or nothing (no news, stale)."""

    alert: Alert
    incident: Incident | None


def fold(
    alerts: Iterable[Alert],
    open_incidents: OpenIncidents,
    policy: GroupingPolicy,
    learning: Learning,
    *,
    now: dt.datetime,
    limits: Limits,
    wide: frozenset[str] = frozenset(),
) -> list[Folded]:
    """Each alert into its incident, in order; the incidents changed are kept in `open_incidents` (unsaved),
    and each firing alert that was news is counted in `learning` before the next one is grouped. `wide`: the
    alert types a learned link could join to another incident of their namespace (cooccurrence.joinable)."""
    results = []
    for alert in alerts:
        if open_incidents.is_stale(alert):
            results.append(Folded(alert, None))
            continue
        wider = alert_type(alert.labels) in wide
        found = open_incidents.found(lookup_fields(alert, policy, with_namespace=wider))
        join = choose_incident(alert, policy, found, learning.stats)
        group = group_for(alert.labels, alert.cluster, policy)
        incident = apply_alert(join.incident if join else None, alert, group, now, join.why if join else "", limits)
        if incident is not None:
            summary = next(a for a in incident.alerts if a.fingerprint == alert.fingerprint)
            open_incidents.put(incident, summary, policy)
            if alert.firing:
                learning.add(alert_type(alert.labels), alert.starts_at)
        results.append(Folded(alert, incident))
    return results
