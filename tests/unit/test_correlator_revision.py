"""One incident, revision by revision: only news changes it, repeats and redeliveries never do, it resolves
with its last alert, and its derived parts (mutes, causes, title, namespace) follow its alerts.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from healer_common.contract.matchers import InhibitionRule, Matcher
from healer_common.contract.silences import Silence
from services.correlator.causes import RankingInputs
from services.correlator.cooccurrence import NO_LINKS, LinkThresholds
from services.correlator.grouping import group_for
from services.correlator.revision import Surroundings, apply_alert, derive
from tests.support.correlator_samples import POLICY, at, fold, node_alert, pod_alert, resolved
from tests.support.samples import T0, alert, pod

NOTHING_AROUND = Surroundings(
    silences=[],
    rules=[],
    sources={},
    ranking=RankingInputs([], NO_LINKS, LinkThresholds(), dt.timedelta(minutes=30)),
    apps={},
)


def apply(incident: Incident | None, change: Alert, now: dt.datetime = T0) -> Incident | None:
    return apply_alert(incident, change, group_for(change.labels, change.cluster, POLICY), now)


def opened(first: Alert) -> Incident:
    incident = apply(None, first)
    assert incident is not None
    return incident


def test_the_first_firing_alert_opens_an_incident() -> None:
    first = alert("H8", resource=pod("rex-1"))

    incident = opened(first)

    assert (incident.state, incident.revision) == ("opened", 1)
    assert (incident.severity, incident.cluster, incident.namespace) == ("critical", "default", "cto")
    assert [a.fingerprint for a in incident.alerts] == [first.fingerprint]
    assert incident.title == first.summary()
    assert incident.group_labels == {"cluster": "default", "namespace": "cto", "alertname": "MemoryPressure"}
    assert (incident.opened_at, incident.resolved_at) == (T0, None)
    assert [entry.kind for entry in incident.timeline] == ["opened"]
    assert incident.correlation_id == incident.incident_id


def test_a_duplicate_alert_changes_nothing() -> None:
    first = alert()
    incident = opened(first)

    assert apply(incident, first, at(1)) is None
    assert apply(incident, first.evolve(event_id="redelivered"), at(1)) is None


def test_a_second_alert_updates_the_incident_and_says_why_it_joined() -> None:
    first = alert("H8", severity="warning", resource=pod("rex-1"))
    second = alert("H8", severity="critical", resource=pod("rex-2"), starts_at=at(1))

    updated = apply_alert(opened(first), second, group_for(second.labels, "default", POLICY), at(1), "the same node")

    assert updated is not None
    assert (updated.state, updated.revision) == ("updated", 2)
    assert [a.fingerprint for a in updated.alerts] == [first.fingerprint, second.fingerprint]
    assert updated.timeline[-1].text.endswith("(joined: the same node)")
    assert updated.event_id != opened(first).event_id
    assert updated.opened_at == T0


def test_the_incident_resolves_when_its_last_alert_resolves() -> None:
    first = alert("H8", severity="critical", resource=pod("rex-1"))
    second = alert("H8", severity="warning", resource=pod("rex-2"), starts_at=at(1))
    incident = apply(opened(first), second, at(1))
    assert incident is not None

    half = apply(incident, resolved(first, at(2)), at(2))
    assert half is not None
    assert (half.state, half.revision, half.resolved_at) == ("updated", 3, None)

    done = apply(half, resolved(second, at(3)), at(3))
    assert done is not None
    assert (done.state, done.revision, done.resolved_at) == ("resolved", 4, at(3))
    assert [entry.kind for entry in done.timeline] == ["opened", "firing", "resolved", "resolved"]


def test_a_firing_alert_redelivered_after_its_resolve_does_not_reopen_it() -> None:
    first, second = alert(resource=pod("rex-1")), alert(resource=pod("rex-2"), starts_at=at(1))
    incident = apply(apply(opened(first), second, at(1)), resolved(first, at(2)), at(2))
    assert incident is not None

    assert apply(incident, first, at(3)) is None, "the same firing (same start) is stale"
    again = apply(incident, first.evolve(starts_at=at(4)), at(4))
    assert again is not None, "a new firing of it is news"
    assert len(again.firing_alerts) == 2


def test_a_redelivered_resolve_after_resolution_changes_nothing() -> None:
    first = alert()
    done = apply(opened(first), resolved(first, at(1)), at(1))
    assert done is not None

    assert apply(done, resolved(first, at(1)), at(1)) is None


def test_the_same_input_builds_the_same_incident_ids() -> None:
    first = alert()

    assert opened(first).incident_id == opened(first).incident_id
    assert opened(first).event_id == opened(first).event_id


def test_derive_names_the_incident_after_its_cause_and_drops_a_namespace_it_does_not_share() -> None:
    incident = fold(pod_alert("p1", namespace="a", node="n1"), node_alert("n1", starts_at=at(1)))

    derived = derive(incident, NOTHING_AROUND, at(1))

    assert derived.causes[0].resource == ResourceRef(kind="Node", name="n1")
    assert derived.title.startswith("memory pressure: node n1")
    assert derived.namespace is None


def test_derive_changes_nothing_when_nothing_around_changed() -> None:
    incident = derive(fold(pod_alert("p1", node="n1")), NOTHING_AROUND, at(1))

    assert derive(incident, NOTHING_AROUND, at(2)) is incident


def test_an_incident_whose_firing_alerts_are_all_silenced_is_silenced() -> None:
    incident = fold(pod_alert("p1", node="n1"), pod_alert("p2", node="n1", starts_at=at(1)))
    silence = Silence(
        silence_id="s1",
        matchers=[Matcher.parse('node="n1"')],
        starts_at=T0,
        ends_at=at(60),
        reason="maintenance",
        author="ops",
        created_at=T0,
    )
    around = Surroundings([silence], [], {}, NOTHING_AROUND.ranking, {})

    silenced = derive(incident, around, at(2))
    later = derive(silenced, around, at(61))

    assert silenced.silenced
    assert all(a.silenced_by == ["s1"] for a in silenced.alerts)
    assert silenced.timeline[-1].kind == "silenced"
    assert not later.silenced
    assert later.timeline[-1].kind == "unsilenced"


def test_an_alert_inhibited_by_its_node_stays_in_the_incident() -> None:
    not_ready = node_alert("n1", reason="NotReady")
    incident = fold(not_ready, pod_alert("p1", node="n1", starts_at=at(1)))
    rule = InhibitionRule(
        name="node NotReady mutes its pods",
        source_matchers=[Matcher.parse('reason="NotReady"')],
        target_matchers=[Matcher.parse('pod=~".+"')],
        equal=["node"],
    )
    around = Surroundings([], [rule], {not_ready.fingerprint: not_ready.labels}, NOTHING_AROUND.ranking, {})

    derived = derive(incident, around, at(2))

    muted = {a.resource.name if a.resource else "": a.inhibited_by for a in derived.alerts}
    assert muted == {"n1": [], "p1": [f"node NotReady mutes its pods: {not_ready.fingerprint}"]}
    assert not derived.silenced
