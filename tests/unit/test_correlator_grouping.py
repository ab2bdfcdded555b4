"""Alerts into incidents the way Alertmanager users expect: grouped by labels, duplicates change nothing, and
the incident resolves with its last alert.
"""

from __future__ import annotations

import datetime as dt

from healer_common.alerts import Alert
from healer_common.incidents import Incident
from services.correlator.grouping import GroupingPolicy, apply_alert, group_of
from tests.unit.samples import T0, alert, pod

POLICY = GroupingPolicy(group_by=("cluster", "namespace", "alertname"))
LATER = T0 + dt.timedelta(minutes=1)


def apply(incident: Incident | None, change: Alert, now: dt.datetime = T0) -> Incident | None:
    key, labels = group_of(change, POLICY)
    return apply_alert(incident, change, key, labels, now)


def opened(first: Alert) -> Incident:
    incident = apply(None, first)
    assert incident is not None
    return incident


def resolve(firing: Alert, at: dt.datetime) -> Alert:
    return firing.evolve(status="resolved", ends_at=at)


def test_the_first_firing_alert_opens_an_incident() -> None:
    first = alert("H8", resource=pod("rex-1"))

    incident = opened(first)

    assert (incident.state, incident.revision) == ("opened", 1)
    assert incident.severity == "critical"
    assert (incident.cluster, incident.namespace) == ("default", "cto")
    assert [a.fingerprint for a in incident.alerts] == [first.fingerprint]
    assert incident.title == first.summary()
    assert incident.group_labels == {"cluster": "default", "namespace": "cto", "alertname": "H8"}
    assert incident.opened_at == T0
    assert incident.resolved_at is None
    assert [entry.kind for entry in incident.timeline] == ["opened"]
    assert incident.causes[0].evidence == [first.fingerprint]
    assert incident.correlation_id == incident.incident_id


def test_a_resolve_for_an_alert_no_incident_holds_is_ignored() -> None:
    stray = resolve(alert(), LATER)

    assert apply(None, stray) is None
    assert apply(opened(alert(resource=pod("rex-1"))), resolve(alert(resource=pod("rex-9")), LATER)) is None


def test_a_duplicate_alert_changes_nothing() -> None:
    first = alert()
    incident = opened(first)

    assert apply(incident, first, LATER) is None
    assert apply(incident, first.evolve(event_id="redelivered"), LATER) is None


def test_a_second_alert_of_the_group_updates_the_incident() -> None:
    first = alert("H8", severity="warning", resource=pod("rex-1"))
    second = alert("H8", severity="critical", resource=pod("rex-2"), starts_at=LATER)
    incident = opened(first)

    updated = apply(incident, second, LATER)

    assert updated is not None
    assert (updated.state, updated.revision) == ("updated", 2)
    assert updated.incident_id == incident.incident_id
    assert updated.severity == "critical"
    assert [a.fingerprint for a in updated.alerts] == [first.fingerprint, second.fingerprint]
    assert updated.title == f"{first.summary()} (+1 more)"
    assert [entry.kind for entry in updated.timeline] == ["opened", "firing"]
    assert updated.timeline[-1].time == LATER
    assert updated.event_id != incident.event_id
    assert updated.opened_at == T0


def test_the_incident_resolves_when_its_last_alert_resolves() -> None:
    first = alert("H8", severity="critical", resource=pod("rex-1"))
    second = alert("H8", severity="warning", resource=pod("rex-2"), starts_at=LATER)
    incident = apply(opened(first), second, LATER)
    assert incident is not None

    half = apply(incident, resolve(first, LATER), LATER + dt.timedelta(minutes=1))
    assert half is not None
    assert (half.state, half.revision, half.resolved_at) == ("updated", 3, None)
    assert half.severity == "warning"  # only the firing alerts count while some fire
    assert [a.fingerprint for a in half.firing_alerts] == [second.fingerprint]

    done_at = LATER + dt.timedelta(minutes=2)
    done = apply(half, resolve(second, done_at), done_at)
    assert done is not None
    assert (done.state, done.revision, done.resolved_at) == ("resolved", 4, done_at)
    assert done.firing_alerts == []
    assert [entry.kind for entry in done.timeline] == ["opened", "firing", "resolved", "resolved"]


def test_a_redelivered_resolve_after_resolution_changes_nothing() -> None:
    first = alert()
    done = apply(opened(first), resolve(first, LATER), LATER)
    assert done is not None

    assert apply(done, resolve(first, LATER), LATER) is None


def test_the_same_input_builds_the_same_incident_ids() -> None:
    first = alert()

    assert opened(first).incident_id == opened(first).incident_id
    assert opened(first).event_id == opened(first).event_id


def test_group_of_takes_the_values_of_the_group_by_labels() -> None:
    key, labels = group_of(alert("H8", namespace="cto"), POLICY)

    assert labels == {"cluster": "default", "namespace": "cto", "alertname": "H8"}
    assert len(key) == 16


def test_alerts_with_the_same_group_labels_share_a_group() -> None:
    a = alert("H8", resource=pod("rex-1"))
    b = alert("H8", resource=pod("rex-2"), severity="warning", starts_at=LATER)

    assert group_of(a, POLICY)[0] == group_of(b, POLICY)[0]


def test_alerts_differing_in_a_group_by_label_are_grouped_apart() -> None:
    base = group_of(alert("H8", namespace="cto"), POLICY)[0]

    assert group_of(alert("H4", namespace="cto"), POLICY)[0] != base
    assert group_of(alert("H8", namespace="play"), POLICY)[0] != base
    assert group_of(alert("H8", namespace="cto", cluster="prod"), POLICY)[0] != base


def test_a_missing_group_label_groups_as_empty() -> None:
    policy = GroupingPolicy(group_by=("alertname", "team"))

    _, labels = group_of(alert("H8"), policy)

    assert labels == {"alertname": "H8", "team": ""}


def test_grouping_by_namespace_alone_puts_different_alerts_into_one_incident() -> None:
    policy = GroupingPolicy(group_by=("namespace",))
    oom = alert("H8", resource=pod("rex-1"))
    pull = alert("H4", severity="warning", resource=pod("rex-2"), starts_at=LATER)

    assert group_of(oom, policy)[0] == group_of(pull, policy)[0]
