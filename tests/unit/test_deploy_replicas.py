"""Production runs every service in replicas (memory-bridge aside: its embedded store is one file on a
ReadWriteOnce volume), spread over nodes, each under a PodDisruptionBudget so a drain takes one replica at a
time; the NATS chart's values make three JetStream servers, one per node."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support.kustomize import render
from tests.support.rbac import DEPLOY

PROD = DEPLOY / "overlays" / "prod"


def deployments() -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in render(PROD) if o["kind"] == "Deployment"}


def test_every_service_but_memory_bridge_runs_in_replicas_spread_over_nodes() -> None:
    for name, deployment in deployments().items():
        if name == "healer-memory-bridge":
            assert deployment["spec"]["replicas"] == 1
            continue
        assert deployment["spec"]["replicas"] >= 2, name
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert "kubernetes.io/hostname" in {c["topologyKey"] for c in spread}, name


def test_each_replicated_service_has_a_disruption_budget_of_one() -> None:
    budgets = [o for o in render(PROD) if o["kind"] == "PodDisruptionBudget"]
    covered = {b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] for b in budgets}
    for name, deployment in deployments().items():
        component = deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        assert (component in covered) == (deployment["spec"]["replicas"] > 1), name
    assert all(b["spec"]["maxUnavailable"] == 1 for b in budgets)


def test_the_nats_chart_values_make_three_jetstream_servers_one_per_node() -> None:
    values = yaml.safe_load((PROD / "nats-values.yaml").read_text())
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    assert values["config"]["jetstream"]["fileStore"]["enabled"]
    assert values["podTemplate"]["topologySpreadConstraints"]["kubernetes.io/hostname"]["maxSkew"] == 1
    assert values["podDisruptionBudget"]["enabled"]
