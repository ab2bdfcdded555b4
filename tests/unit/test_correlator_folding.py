"""A batch of alerts folded at once gives what one alert at a time gave: later alerts of a batch join the
incidents earlier ones opened, a resolved incident takes no more alerts, a replayed firing is stale, learned
links count alert by alert, and what changed is marked for the one write that follows.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ResourceRef
from services.correlator.cooccurrence import NO_LINKS, Learning, LinkThresholds
from services.correlator.folding import OpenIncidents, fold
from services.correlator.grouping import GroupingPolicy
from services.correlator.revision import MAX_TIMELINE, Limits
from tests.support.correlator_samples import POLICY, at, make_alert, node_alert, pod_alert, resolved
from tests.support.samples import T0

MINUTE = dt.timedelta(minutes=1)
LINKS = GroupingPolicy(POLICY.group_by, POLICY.topology, LinkThresholds(2, 0.5, 1.5), POLICY.window)


def learning() -> Learning:
    return Learning.start(NO_LINKS, {}, None)


def folded(*batches: list[Alert], policy: GroupingPolicy = POLICY) -> OpenIncidents:
    held = OpenIncidents("default")
    for batch in batches:
        fold(batch, held, policy, learning(), now=T0, limits=Limits())
    return held


def test_alerts_of_one_batch_join_the_incident_an_earlier_one_of_the_batch_opened() -> None:
    pods = [pod_alert(f"p{i}", namespace=f"team-{i % 3}", node="n1", starts_at=at(i * 0.1)) for i in range(5)]

    held = folded([node_alert("n1"), *pods])

    (incident,) = held.incidents.values()
    assert len(incident.alerts) == 6
    assert held.unsaved[incident.incident_id].alerts == {a.fingerprint for a in incident.alerts}
    assert incident.changed == [a.fingerprint for a in [node_alert("n1"), *pods]]


def test_a_batch_and_one_alert_at_a_time_group_alike() -> None:
    kinds = [("H8", "OOMKilled"), ("A7", "Failed")]
    alerts = [
        pod_alert(f"p{i}", alert_id=kinds[i % 2][0], reason=kinds[i % 2][1], deployment=f"d{i % 2}", starts_at=at(i))
        for i in range(8)
    ]

    at_once, one_by_one = folded(alerts), folded(*([a] for a in alerts))

    def groups(held: OpenIncidents) -> set[frozenset[str]]:
        return {frozenset(a.fingerprint for a in i.alerts) for i in held.incidents.values()}

    assert groups(at_once) == groups(one_by_one)
    assert len(at_once.incidents) == 2


def test_once_its_last_alert_resolves_an_incident_takes_no_more_alerts_and_its_firing_is_closed() -> None:
    first = pod_alert("rex-1", node="n1")
    held = folded([first, resolved(first, at(1)), pod_alert("rex-2", node="n1", starts_at=at(2)), first])

    states = sorted((i.state, len(i.alerts)) for i in held.incidents.values())
    assert states == [("opened", 1), ("resolved", 1)], "the later pod opened its own incident"
    assert held.is_stale(first), "the same firing replayed is stale"
    assert not held.is_stale(first.evolve(starts_at=at(5))), "a new firing is not"


def test_a_batch_learns_each_link_before_grouping_the_next_alert() -> None:
    database = ResourceRef(kind="Database", namespace="shop", name="orders-db")
    counted = learning()
    history: list[Alert] = []
    for day in range(3):
        start = T0 + dt.timedelta(days=day)
        queue = ResourceRef(kind="Queue", namespace="shop", name=f"orders-{day}")
        history += [make_alert("H6", database, starts_at=start), make_alert("H7", queue, starts_at=start + MINUTE)]
    fold(history, OpenIncidents("default"), LINKS, counted, now=T0, limits=Limits())

    assert counted.learned.pairs["H6", "H7"] == 3
    assert counted.learned.counts == {"H6": 3, "H7": 3}
    assert counted.stats.link("H6", "H7") is not None


def test_a_timeline_past_its_cap_still_has_each_new_entry_written() -> None:
    pods = [pod_alert(f"p{i}", node="n1", starts_at=at(i / 60)) for i in range(MAX_TIMELINE + 5)]
    held = folded(pods[:-1])
    held.unsaved.clear()

    folded_last = fold([pods[-1]], held, POLICY, learning(), now=T0, limits=Limits())

    (incident,) = held.incidents.values()
    assert folded_last[0].incident is incident
    assert len(incident.timeline) == MAX_TIMELINE
    assert held.unsaved[incident.incident_id].timeline == [incident.timeline[-1]]
