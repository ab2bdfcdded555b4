"""Every action lands on the right cluster: with two clusters holding a pod of the same name, an incident is
healed on its own cluster only, and one from a cluster Healer has no client for is refused (audited, published
for the notifier) and touches neither.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from healer_common.runtime.busclient import BusClient
from healer_common.settings import CollectedCluster
from healer_common.testing import KubeEmulator, ServiceRunner, recording
from tests.support.cluster_objects import seed_deployment
from tests.support.remediation_helpers import audit, cluster_changes, publish, remediation
from tests.support.samples import alert, incident

pytestmark = pytest.mark.integration


@pytest.fixture
def prod(tmp_path: Path) -> Iterator[KubeEmulator]:
    """A second emulated cluster, beside the `kube` fixture's."""
    emulator = KubeEmulator().start()
    emulator.write_kubeconfig(tmp_path / "kubeconfig-prod")
    yield emulator
    emulator.stop()


def oom_on(cluster: str, incident_id: str, target: ResourceRef) -> Incident:
    fired = alert("H8", resource=target, cluster=cluster)
    return incident(fired).evolve(incident_id=incident_id, event_id=f"{incident_id}-1")


async def test_an_incident_is_healed_on_its_own_cluster_and_one_from_an_unknown_cluster_nowhere(
    kube: KubeEmulator, prod: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    _, staging_pod = seed_deployment(kube, "cto", "rex", replicas=1)
    _, prod_pod = seed_deployment(prod, "cto", "rex", replicas=1)
    name = staging_pod["metadata"]["name"]
    assert prod_pod["metadata"]["name"] == name, "the same pod name in both clusters"
    target = ResourceRef(kind="Pod", namespace="cto", name=name)
    services.configure(
        "collector",
        clusters=[
            CollectedCluster(name="staging", kubeconfig=tmp_path / "kubeconfig"),
            CollectedCluster(name="prod", kubeconfig=tmp_path / "kubeconfig-prod"),
        ],
    )
    services.configure("cluster", name="staging")
    services.configure("remediator", tick_s=0.2, memory_timeout_s=0.2)
    services.start("remediator")
    await services.wait_running("remediator")

    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, oom_on("qa", "inc-qa", target))
        skipped = json.loads((await seen.wait_for(remediation("skipped"), what="the qa run refused")).data)
        assert skipped["cluster"] == "qa"
        assert "no Kubernetes client for cluster 'qa' (Healer has prod, staging)" in skipped["reason"]
        refused = await seen.wait_for(audit(decision="skipped"), what="the refusal audited")
        assert "cluster 'qa'" in json.loads(refused.data)["reason"]

        await publish(bus, oom_on("prod", "inc-prod", target))
        acted = json.loads((await seen.wait_for(remediation("acted", cluster="prod"), what="the prod restart")).data)
        assert acted["steps"][-1]["api_calls"] == [f"DELETE /api/v1/namespaces/cto/pods/{name}"]

    assert cluster_changes(prod) == [("DELETE", f"/api/v1/namespaces/cto/pods/{name}")]
    assert cluster_changes(kube) == [], "neither the qa nor the prod incident touched staging's pod of that name"
