"""An external provider's quota running out, end to end: a model API stand-in (Anthropic's rate-limit headers)
spends its quota fast; the collector's probe sees the trend, the detector raises H2 while quota is still left
(not at zero); the remediator asks to fail over, and once approved switches its consumers' ConfigMap to the
backup provider; when the quota refills the alert resolves and the ConfigMap is switched back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import LOOPBACK
from healer_common.settings.collector import ProbesSettings, ProbeTarget
from healer_common.settings.remediator import ProviderFailover
from healer_common.testing import KubeEmulator, ServiceRunner, eventually, recording
from healer_sandbox.listener import Listener
from tests.support.remediation_helpers import healer, remediation

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
LIMIT = 1000
SPENT_PER_ANSWER = 25


@dataclass
class ModelApi:
    """Answers like Anthropic's API, spending `SPENT_PER_ANSWER` of its quota per probe until refilled."""

    remaining: int = LIMIT
    refilled: bool = False

    async def models(self, _request: web.Request) -> web.Response:
        if not self.refilled:
            self.remaining = max(0, self.remaining - SPENT_PER_ANSWER)
        headers = {
            "anthropic-ratelimit-requests-limit": str(LIMIT),
            "anthropic-ratelimit-requests-remaining": str(self.remaining),
            "anthropic-ratelimit-requests-reset": "2099-01-01T00:00:00Z",
        }
        return web.json_response({"data": []}, headers=headers)


@pytest.fixture
async def model_api() -> AsyncIterator[tuple[ModelApi, str]]:
    api = ModelApi()
    app = web.Application()
    app.router.add_get("/v1/models", api.models)
    listener = Listener("model-api", app, LOOPBACK, 0)
    await listener.start()
    try:
        yield api, f"{listener.url}/v1/models"
    finally:
        await listener.stop()


def configmap(kube: KubeEmulator) -> str:
    found = kube.get("", "v1", "configmaps", "cto", "agent-providers")
    return str(((found or {}).get("data") or {}).get("provider"))


async def test_a_quota_running_out_alerts_before_zero_and_fails_over_to_the_backup_and_back(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, model_api: tuple[ModelApi, str], tmp_path: Any
) -> None:
    api, url = model_api
    kube.put(
        "",
        "v1",
        "configmaps",
        "cto",
        {"metadata": {"name": "agent-providers", "namespace": "cto"}, "data": {"provider": "anthropic"}},
    )
    probes = ProbesSettings(interval_s=0.5, quota_window_s=5.0, targets=[ProbeTarget(name="anthropic", url=url)])
    services.configure("collector", probes=probes)
    rules = services.settings.detector.rules
    h2 = rules.h2.model_copy(update={"resolve_for_s": 1.0})
    services.configure("detector", rules=rules.model_copy(update={"h2": h2}), tick_s=0.2)
    services.configure("cluster", kubeconfig=kube.write_kubeconfig(tmp_path / "kubeconfig"))
    failover = ProviderFailover(config_map="cto/agent-providers", backup="openai")
    services.configure(
        "remediator", tick_s=0.2, memory_timeout_s=0.2, cluster_playbooks=False, providers={"anthropic": failover}
    )
    async with recording(bus, bus.space.all_alerts, bus.space.all_remediations) as seen:
        services.start("detector", "correlator", "remediator", "collector")
        await services.wait_running("detector", "correlator", "remediator", "collector")

        fired = await seen.wait_for(_h2("firing"), timeout=60, what="H2 on the quota running out")
        left_then = api.remaining
        asking = await seen.wait_for(remediation("awaiting_approval", playbook="provider-failover"), what="the ask")
        run_id = json.loads(asking.data)["remediation_id"]
        code, said = await healer(services, "approve", run_id, "--reason", "the quota runs out")
        assert code == 0, said
        await eventually(lambda: configmap(kube) == "openai", timeout=30, what="the consumers switched to the backup")

        api.refilled, api.remaining = True, LIMIT
        await seen.wait_for(_h2("resolved"), timeout=60, what="H2 resolved once the quota refilled")
        await eventually(lambda: configmap(kube) == "anthropic", timeout=30, what="switched back to the primary")
        # the ConfigMap is patched before the run publishes the step that did it
        await seen.wait_for(_switched_back, what="the run's record of the switch back")

    assert left_then > 0, "the alert came while quota was still left"
    alert = json.loads(fired.data)
    assert alert["labels"]["target"] == "anthropic"
    predicted = float(alert["evidence"][-1]["values"][-1])
    assert predicted < 900, "it says when the quota runs out"
    print(f"H2 fired with {left_then} of {LIMIT} requests left, predicting exhaustion in {predicted:.0f}s")
    runs = [json.loads(m.data) for m in seen.messages if remediation(playbook="provider-failover")(m)]
    assert runs[-1]["state"] == "succeeded", "verified: the primary recovered"
    assert [(step["action"], step["outcome"]) for step in runs[-1]["steps"]] == [
        ("failover_provider", "ok"),
        ("failover_provider", "rolled_back"),
    ]


def _switched_back(msg: Any) -> bool:
    if not remediation(playbook="provider-failover")(msg):
        return False
    return any(step["outcome"] == "rolled_back" for step in json.loads(msg.data)["steps"])


def _h2(status: str) -> Any:
    def match(msg: Any) -> bool:
        if not msg.subject.endswith(".alerts.H2"):
            return False
        body = json.loads(msg.data)
        return bool(body["status"] == status and body["labels"].get("metric") == "ratelimit_exhausted_in_seconds")

    return match
