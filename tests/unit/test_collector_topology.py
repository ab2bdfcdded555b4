"""Where a pod or a PVC sits, so any source's signal about it carries the labels root causes are ranked by."""

from __future__ import annotations

from services.collector.sources import samples
from services.collector.topology import GONE_PODS_KEPT, Topology


def test_a_pod_resolves_its_deployment_even_when_the_replicaset_comes_later() -> None:
    topology = Topology()
    topology.observe_pod(("cto", "api-7d9-x2"), samples.pod("api-7d9-x2", owner=("ReplicaSet", "api-7d9")))

    before = topology.pod_labels(("cto", "api-7d9-x2"))
    topology.observe_replicaset(("cto", "api-7d9"), samples.replicaset("api-7d9", "api"))
    after = topology.pod_labels(("cto", "api-7d9-x2"))

    assert "deployment" not in before
    assert after["deployment"] == "api"
    assert after["node"] == "node-1"


def test_a_statefulset_pod_names_its_statefulset() -> None:
    topology = Topology()
    topology.observe_pod(("cto", "pg-0"), samples.pod("pg-0", owner=("StatefulSet", "pg")))

    assert topology.pod_labels(("cto", "pg-0"))["statefulset"] == "pg"


def test_a_pvc_knows_the_pods_that_mount_it_and_its_node() -> None:
    topology = Topology()
    topology.observe_pvc(("cto", "data-pg-0"), samples.pvc("data-pg-0", node_name="node-3"))
    topology.observe_pod(("cto", "pg-0"), samples.pod("pg-0", claims=("data-pg-0",)))
    topology.observe_pod(("cto", "backup"), samples.pod("backup", claims=("data-pg-0",)))
    topology.forget_pod(("cto", "backup"))

    assert topology.pvc_labels(("cto", "data-pg-0")) == {"mounted_by": "pg-0", "node": "node-3"}


def test_a_pvcs_labels_name_its_workloads_so_a_restart_or_a_cleanup_job_keeps_its_series() -> None:
    topology = Topology()
    topology.observe_replicaset(("cto", "cache-5f6"), samples.replicaset("cache-5f6", "cache"))
    topology.observe_pod(
        ("cto", "cache-5f6-a"), samples.pod("cache-5f6-a", owner=("ReplicaSet", "cache-5f6"), claims=("cache",))
    )
    before = topology.pvc_labels(("cto", "cache"))

    topology.forget_pod(("cto", "cache-5f6-a"))
    topology.observe_pod(
        ("cto", "cache-5f6-b"), samples.pod("cache-5f6-b", owner=("ReplicaSet", "cache-5f6"), claims=("cache",))
    )
    topology.observe_pod(("cto", "cleanup-x"), samples.pod("cleanup-x", owner=("Job", "cleanup"), claims=("cache",)))

    assert before == topology.pvc_labels(("cto", "cache")) == {"mounted_by": "cache"}


def test_samples_from_other_sources_are_enriched_but_keep_their_own_labels() -> None:
    topology = Topology()
    topology.observe_pod(("cto", "rex-1"), samples.pod("rex-1", node="node-9", labels={"agent": "5DLabs-Rex"}))

    enriched = topology.enrich({"namespace": "cto", "pod": "rex-1", "container": "rex", "node": "from-prometheus"})
    untouched = topology.enrich({"queue": "builds"})

    assert enriched == {
        "namespace": "cto",
        "pod": "rex-1",
        "container": "rex",
        "node": "from-prometheus",
        "agent": "5DLabs-Rex",
    }
    assert untouched == {"queue": "builds"}


def test_a_deleted_pod_is_named_gone_until_a_pod_of_its_name_comes_back() -> None:
    topology = Topology()
    topology.observe_pod(("cto", "web-0"), samples.pod("web-0", owner=("StatefulSet", "web")))
    topology.observe_pod(("cto", "web-1"), samples.pod("web-1", owner=("StatefulSet", "web")))
    web_0 = {"namespace": "cto", "pod": "web-0", "container": "web"}
    web_1 = {"namespace": "cto", "pod": "web-1", "container": "web"}

    topology.forget_pod(("cto", "web-0"))
    gone_while_deleted = topology.names_gone_pod(web_0), topology.names_gone_pod(web_1)
    topology.observe_pod(("cto", "web-0"), samples.pod("web-0", owner=("StatefulSet", "web")))

    assert gone_while_deleted == (True, False)
    assert not topology.names_gone_pod(web_0), "the StatefulSet's new web-0 is read again"
    assert not topology.names_gone_pod({"namespace": "cto", "queue": "builds"}), "a sample naming no pod"


def test_the_oldest_deleted_pods_are_forgotten_past_the_bound() -> None:
    topology = Topology()
    for n in range(GONE_PODS_KEPT + 1):
        topology.forget_pod(("cto", f"p-{n}"))

    assert not topology.names_gone_pod({"namespace": "cto", "pod": "p-0"})
    assert topology.names_gone_pod({"namespace": "cto", "pod": "p-1"})
    assert topology.names_gone_pod({"namespace": "cto", "pod": f"p-{GONE_PODS_KEPT}"})
