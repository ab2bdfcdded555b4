"""Root cause ranking: the node under its pods, the rollout before the errors, the database before the backlog
it causes, and the alert itself when it is alone."""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import CauseCandidate
from services.correlator.causes import RankingInputs, rank_causes
from services.correlator.changes import ChangeRecord
from services.correlator.cooccurrence import NO_LINKS, LinkStats, LinkThresholds
from tests.support.correlator_samples import at, change, fold, make_alert, node_alert, pod_alert

WINDOW = dt.timedelta(minutes=30)


def ranked(
    *alerts: Alert, changes: list[ChangeRecord] | None = None, links: LinkStats = NO_LINKS
) -> list[CauseCandidate]:
    return rank_causes(fold(*alerts), RankingInputs(changes or [], links, LinkThresholds(), WINDOW))


def named(cause: CauseCandidate) -> str:
    assert cause.resource is not None
    return f"{cause.resource.kind}/{cause.resource.name}"


def test_the_node_under_memory_pressure_is_the_cause_of_its_oomkilled_pods() -> None:
    pods = [pod_alert(f"p{i}", namespace=f"team-{i % 3}", node="n1", starts_at=at(0.1 * i)) for i in range(20)]

    causes = ranked(*pods[:5], node_alert("n1", starts_at=at(0.3)), *pods[5:])

    assert named(causes[0]) == "Node/n1"
    assert causes[0].kind == "topology"
    assert causes[0].description.startswith("21 of 21 alerts are on node n1; its own alert: memory pressure")
    assert "kubectl describe node n1" in causes[0].suggested_actions
    assert len(causes[0].evidence) == 21


def test_pods_sharing_a_node_point_at_it_even_before_the_node_alerts() -> None:
    causes = ranked(*(pod_alert(f"p{i}", deployment=f"app{i}", node="n1", starts_at=at(i)) for i in range(4)))

    assert named(causes[0]) == "Node/n1"


def test_a_rollout_just_before_errors_on_its_deployment_is_the_top_cause() -> None:
    rollout = change("gateway", when=at(-3))
    errors = [
        pod_alert(
            f"gw-{i}", alert_id="A7", reason="CrashLoopBackOff", deployment="gateway", node=f"n{i}", starts_at=at(i)
        )
        for i in range(3)
    ]

    causes = ranked(*errors, changes=[rollout])

    assert causes[0].kind == "change"
    assert named(causes[0]) == "Deployment/gateway"
    assert causes[0].description.startswith(
        "deploy-related regression: deploy of deployment cto/gateway v1.4.2 -> v1.5.0"
    )
    assert "roll deployment cto/gateway back to v1.4.2" in causes[0].suggested_actions
    assert causes[0].evidence[0] == rollout.change_id


def test_a_change_that_does_not_explain_the_alerts_is_not_a_cause() -> None:
    errors = [pod_alert(f"gw-{i}", deployment="gateway", node="n1", starts_at=at(i)) for i in range(2)]
    elsewhere = change("billing", when=at(-3))
    too_early = change("gateway", when=at(-45))
    after = change("gateway", when=at(5))

    causes = ranked(*errors, changes=[elsewhere, too_early, after])

    assert all(c.kind != "change" for c in causes)


def test_a_lone_alert_is_its_own_cause() -> None:
    causes = ranked(pod_alert("p1", alert_id="H4", reason="ImagePullBackOff"))

    assert named(causes[0]) == "Pod/p1"
    assert causes[0].kind == "alert"


def test_a_learned_link_ranks_the_failing_database_above_the_backlog_it_causes() -> None:
    database = make_alert("H6", ResourceRef(kind="Database", namespace="shop", name="orders-db"))
    backlog = make_alert("H7", ResourceRef(kind="Queue", namespace="shop", name="orders"), starts_at=at(2))
    learned = LinkStats(
        window=dt.timedelta(minutes=10),
        span=dt.timedelta(days=10),
        counts={"H6": 20, "H7": 20},
        pairs={("H6", "H7"): 18},
    )

    causes = ranked(database, backlog, links=learned)

    assert named(causes[0]) == "Database/orders-db"
    assert causes[0].kind == "co-occurrence"
    assert "H6 usually precedes H7: 18 of the H7 alerts had H6 within 10 min before (90%)" in causes[0].description


def test_with_nothing_shared_the_first_alert_to_fire_leads() -> None:
    first = make_alert("H3", ResourceRef(kind="Certificate", namespace="web", name="tls"))
    second = make_alert("H2", ResourceRef(kind="PersistentVolumeClaim", namespace="db", name="data"), starts_at=at(4))

    causes = ranked(first, second)

    assert named(causes[0]) == "Certificate/tls"
    assert causes[0].kind == "time-order"


def test_scores_are_ranked_and_each_object_appears_once() -> None:
    causes = ranked(node_alert("n1"), *(pod_alert(f"p{i}", node="n1", starts_at=at(i)) for i in range(3)))

    assert [c.score for c in causes] == sorted((c.score for c in causes), reverse=True)
    assert len({named(c) for c in causes}) == len(causes)
