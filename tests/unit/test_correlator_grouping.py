"""Which incident an alert joins: Alertmanager's label groups, the same place in the cluster (node, owner,
Deployment, Application), and links learned from history. Played through the index the correlator keeps.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from services.correlator.cooccurrence import NO_LINKS, LinkStats, LinkThresholds
from services.correlator.grouping import (
    GroupingPolicy,
    choose_incident,
    group_for,
    group_of,
    index_fields,
    lookup_fields,
)
from services.correlator.revision import apply_alert
from tests.support.correlator_samples import POLICY, at, make_alert, node_alert, pod_alert, resolved
from tests.support.samples import alert


class Index:
    """The correlator's loop over an in-memory index: what Redis holds in production."""

    def __init__(self, policy: GroupingPolicy = POLICY, links: LinkStats = NO_LINKS) -> None:
        self.policy, self.links = policy, links
        self.fields: dict[str, set[str]] = {}
        self.incidents: dict[str, Incident] = {}

    def found(self, alert: Alert) -> dict[str, list[Incident]]:
        return {
            f: [self.incidents[i] for i in sorted(self.fields[f]) if i in self.incidents]
            for f in lookup_fields(alert, self.policy)
            if f in self.fields
        }

    def play(self, *alerts: Alert) -> list[Incident]:
        for one in alerts:
            join = choose_incident(one, self.policy, self.found(one), self.links)
            group = group_for(one.labels, one.cluster, self.policy)
            incident = apply_alert(join.incident if join else None, one, group, one.starts_at)
            if incident is not None:
                self.incidents[incident.incident_id] = incident
                for field in index_fields(incident, self.policy):
                    self.fields.setdefault(field, set()).add(incident.incident_id)
        return list(self.incidents.values())


def test_a_node_under_memory_pressure_and_its_oomkilled_pods_are_one_incident() -> None:
    pods = [pod_alert(f"p{i}", namespace=f"team-{i % 3}", node="n1", starts_at=at(i * 0.1)) for i in range(20)]

    incidents = Index().play(*pods[:10], node_alert("n1", starts_at=at(0.5)), *pods[10:])

    assert len(incidents) == 1
    assert len(incidents[0].alerts) == 21


def test_pods_on_another_node_in_another_namespace_stay_apart() -> None:
    incidents = Index().play(
        pod_alert("p1", namespace="a", node="n1"), pod_alert("p2", namespace="b", node="n2", starts_at=at(1))
    )

    assert len(incidents) == 2


def test_alerts_on_pods_of_one_deployment_join_whatever_their_alert() -> None:
    crash = pod_alert("gw-1", alert_id="A7", reason="CrashLoopBackOff", deployment="gateway", node="n1")
    oom = pod_alert("gw-2", reason="OOMKilled", deployment="gateway", node="n2", starts_at=at(2))

    incidents = Index().play(crash, oom)

    assert len(incidents) == 1


def test_a_shared_node_joins_only_while_an_alert_on_it_still_fires() -> None:
    first = pod_alert("p1", namespace="a", node="n1")
    index = Index()
    index.play(first, pod_alert("p9", namespace="a", node="n9", starts_at=at(1)), resolved(first, at(2)))

    incidents = index.play(pod_alert("p2", namespace="b", node="n1", starts_at=at(3)))

    assert len(incidents) == 2, "p2 shares n1 only with a resolved alert: a new incident"


def test_with_topology_off_only_the_group_labels_join() -> None:
    policy = GroupingPolicy(group_by=("cluster", "namespace", "alertname"))

    incidents = Index(policy).play(pod_alert("p1", namespace="a", node="n1"), node_alert("n1", starts_at=at(1)))

    assert len(incidents) == 2


def test_a_resolve_goes_back_to_the_incident_that_holds_its_alert() -> None:
    pod = pod_alert("p1", namespace="a", node="n1")
    index = Index()
    index.play(node_alert("n1"), pod)

    (incident,) = index.play(resolved(pod, at(5)))

    assert [a.status for a in incident.alerts if a.fingerprint == pod.fingerprint] == ["resolved"]


def test_a_resolve_for_an_alert_no_incident_holds_opens_nothing() -> None:
    assert Index().play(resolved(pod_alert("p1"), at(1))) == []


DATABASE = make_alert("H6", ResourceRef(kind="Database", namespace="shop", name="orders-db"))
BACKLOG = make_alert("H7", ResourceRef(kind="Queue", namespace="shop", name="orders"), starts_at=at(2))
LINKING = GroupingPolicy(("cluster", "namespace", "alertname"), POLICY.topology, LinkThresholds())


def learned(span: dt.timedelta, database_alerts: int) -> LinkStats:
    """18 of 20 backlogs had a failing database within 10 minutes before, over `span` of history."""
    return LinkStats(dt.timedelta(minutes=10), span, {"H6": database_alerts, "H7": 20}, {("H6", "H7"): 18})


def test_a_learned_link_joins_the_backlog_to_the_failing_database_in_its_namespace() -> None:
    assert len(Index(LINKING, learned(dt.timedelta(days=10), 20)).play(DATABASE, BACKLOG)) == 1
    assert len(Index(LINKING, NO_LINKS).play(DATABASE, BACKLOG)) == 2, "nothing learned yet: apart"


def test_a_link_no_better_than_chance_does_not_join() -> None:
    assert len(Index(LINKING, learned(dt.timedelta(hours=2), 12)).play(DATABASE, BACKLOG)) == 2


def test_a_link_joins_only_alerts_in_the_namespace_of_the_cause() -> None:
    elsewhere = make_alert("H7", ResourceRef(kind="Queue", namespace="billing", name="invoices"), starts_at=at(2))

    assert len(Index(LINKING, learned(dt.timedelta(days=10), 20)).play(DATABASE, elsewhere)) == 2


def test_the_join_says_why() -> None:
    index = Index()
    index.play(node_alert("n1"))
    pod = pod_alert("p1", node="n1", starts_at=at(1))
    join = choose_incident(pod, POLICY, index.found(pod), NO_LINKS)

    assert join is not None
    assert join.why == "the same node n1"


def test_group_of_takes_the_values_of_the_group_by_labels() -> None:
    key, labels = group_of(alert("H8", namespace="cto"), POLICY)

    assert labels == {"cluster": "default", "namespace": "cto", "alertname": "MemoryPressure"}
    assert len(key) == 16


def test_alerts_differing_in_a_group_by_label_are_grouped_apart() -> None:
    base = group_of(alert("H8", namespace="cto"), POLICY)[0]

    assert group_of(alert("H8", namespace="cto", starts_at=at(1)), POLICY)[0] == base
    assert group_of(alert("H4", namespace="cto"), POLICY)[0] != base
    assert group_of(alert("H8", namespace="play"), POLICY)[0] != base
    assert group_of(alert("H8", namespace="cto", cluster="prod"), POLICY)[0] != base


def test_the_cluster_always_separates_groups_even_when_not_grouped_by() -> None:
    policy = GroupingPolicy(group_by=("alertname",))

    assert group_of(alert("H8", cluster="prod"), policy)[0] != group_of(alert("H8", cluster="staging"), policy)[0]


def test_a_missing_group_label_groups_as_empty() -> None:
    _, labels = group_of(alert("H8"), GroupingPolicy(group_by=("alertname", "team")))

    assert labels == {"alertname": "MemoryPressure", "team": ""}


def test_a_pod_sharing_only_a_node_with_an_older_problem_stays_apart() -> None:
    incidents = Index().play(
        pod_alert("p1", namespace="a", node="n1"), pod_alert("p2", namespace="b", node="n1", starts_at=at(30))
    )

    assert len(incidents) == 2


def test_once_the_node_itself_alerts_its_pods_join_however_late() -> None:
    incidents = Index().play(node_alert("n1"), pod_alert("p2", namespace="b", node="n1", starts_at=at(30)))

    assert len(incidents) == 1


def test_a_deployment_joins_its_failing_pods_however_far_apart() -> None:
    first = pod_alert("gw-1", alert_id="A7", reason="CrashLoopBackOff", namespace="a", deployment="gw", node="n1")
    later = pod_alert("gw-2", alert_id="H5", reason="ProbeFailed", namespace="a", deployment="gw", starts_at=at(40))

    assert len(Index().play(first, later)) == 1
