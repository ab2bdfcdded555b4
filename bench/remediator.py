"""The remediator benchmark on the sandbox cluster's scenarios: time from alert to action, and from action to
verified recovery. Prints one figure per line, `name value unit`.

    python bench/remediator.py [--runs 5] [--speed 30]

It starts its own nats-server and redis-server on free loopback ports and the correlator, remediator and
memory-bridge as processes; each run starts a fresh sandbox (`healer_sandbox`, one scenario, on the same
port, so the remediator's kubeconfig stays valid), waits for the scenario's trouble, publishes the alert as
the detector would (the detector's own hold times are not counted), and follows the run:

    alert_to_action      alert published -> the action made on the sandbox (the run's `acted` received);
                         bad-image includes an approval given at once on healer.approvals.<id>
    action_to_verified   `acted` -> `succeeded`: the sandbox's own recovery (a fresh pod up, the Job done,
                         the sync done, the rollout back), seen by polling its API, the alert's resolution
                         published at once, and the correlator's and remediator's share

Scenarios: leaking-pod (H8 on the pod: restart), pvc-filling (H2 on the PVC: clean-up Job), argocd-drift
(H1 on the Application: sync), bad-image (H4 on the pod: rollback, after approval). Cooldowns and recurrence
are off, so that each run starts its playbook afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from healer_common.contract.alerts import Alert, alert_fingerprint
from healer_common.contract.auth import attest
from healer_common.contract.events import ResourceRef
from healer_common.contract.remediations import ApprovalDecision, Remediation
from healer_common.logging import configure_logging
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.kube import api_client
from healer_common.runtime.servers import free_port, start_nats, start_redis
from healer_common.settings import ClusterSettings, Settings
from healer_common.testing import ServiceRunner, eventually, isolated_settings, token_of
from healer_sandbox.sandbox import Sandbox, SandboxConfig
from services.remediator.actions.cluster import kube

Probe = Callable[[client.ApiClient], Awaitable[Any]]


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


async def pods(api: client.ApiClient, app: str) -> list[dict[str, Any]]:
    listed = await kube(client.CoreV1Api(api).list_namespaced_pod, "cto", label_selector=f"app={app}")
    return list(listed["items"])


def waiting_reason(pod: dict[str, Any]) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return str(((statuses[0].get("state") or {}).get("waiting") or {}).get("reason") or "")


def running(pod: dict[str, Any]) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return "running" in (statuses[0].get("state") or {})


@dataclass(frozen=True)
class Scenario:
    name: str
    alert_id: str
    trouble: Callable[[client.ApiClient], Awaitable[ResourceRef | None]]  # the target once the trouble shows
    recovered: Callable[[client.ApiClient, ResourceRef], Awaitable[bool]]
    approve: bool = False


async def _leaking_pod(api: client.ApiClient) -> ResourceRef | None:
    found = await pods(api, "rex-worker")
    return (
        ResourceRef(kind="Pod", namespace="cto", name=found[0]["metadata"]["name"], container="rex") if found else None
    )


async def _replaced(api: client.ApiClient, target: ResourceRef) -> bool:
    fresh = [p for p in await pods(api, "rex-worker") if p["metadata"]["name"] != target.name]
    return any(running(p) for p in fresh)


async def _full_volume(api: client.ApiClient) -> ResourceRef | None:
    del api
    return ResourceRef(kind="PersistentVolumeClaim", namespace="cto", name="build-cache")


async def _cleaned(api: client.ApiClient, target: ResourceRef) -> bool:
    jobs = await kube(client.BatchV1Api(api).list_namespaced_job, target.namespace)
    return any((j.get("status") or {}).get("succeeded") for j in jobs["items"])


async def _drifted(api: client.ApiClient) -> ResourceRef | None:
    custom = client.CustomObjectsApi(api)
    app = await kube(
        custom.get_namespaced_custom_object, "argoproj.io", "v1alpha1", "argocd", "applications", "cto-agents"
    )
    if ((app.get("status") or {}).get("sync") or {}).get("status") != "OutOfSync":
        return None
    return ResourceRef(kind="Application", namespace="argocd", name="cto-agents")


async def _synced(api: client.ApiClient, target: ResourceRef) -> bool:
    custom = client.CustomObjectsApi(api)
    app = await kube(
        custom.get_namespaced_custom_object, "argoproj.io", "v1alpha1", "argocd", "applications", target.name
    )
    return ((app.get("status") or {}).get("sync") or {}).get("status") == "Synced"


async def _bad_image(api: client.ApiClient) -> ResourceRef | None:
    stuck = [p for p in await pods(api, "cleo-api") if waiting_reason(p) in {"ImagePullBackOff", "ErrImagePull"}]
    return (
        ResourceRef(kind="Pod", namespace="cto", name=stuck[0]["metadata"]["name"], container="cleo") if stuck else None
    )


async def _rolled_back(api: client.ApiClient, target: ResourceRef) -> bool:
    now = await pods(api, "cleo-api")
    return bool(now) and all(running(p) for p in now) and all(p["metadata"]["name"] != target.name for p in now)


SCENARIOS = (
    Scenario("leaking-pod", "H8", _leaking_pod, _replaced),
    Scenario("pvc-filling", "H2", _full_volume, _cleaned),
    Scenario("argocd-drift", "H1", _drifted, _synced),
    Scenario("bad-image", "H4", _bad_image, _rolled_back, approve=True),
)


def alert(alert_id: str, target: ResourceRef, status: str, started: dt.datetime) -> Alert:
    """The alert as the detector publishes it; one trouble is one `started` (the incident's identity)."""
    labels = {"alertname": alert_id, "severity": "critical", "cluster": "default", "namespace": target.namespace or ""}
    fingerprint = alert_fingerprint(alert_id, "default", target, {"alertname": alert_id})
    return Alert.model_validate(
        {
            "alert_id": alert_id,
            "status": status,
            "severity": "critical",
            "fingerprint": fingerprint,
            "cluster": "default",
            "namespace": target.namespace,
            "resource": target.model_dump(),
            "labels": labels,
            "starts_at": started.isoformat(),
            "event_id": f"{fingerprint}-{status}-{started.timestamp()}",
        }
    )


class RunWatch:
    """Remediations as published, by incident target and state, with the time each arrived."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], tuple[float, Remediation]] = {}

    def forget(self) -> None:
        self.seen.clear()

    async def on_message(self, msg: Any) -> None:
        run = Remediation.model_validate_json(msg.data)
        self.seen.setdefault((str(run.target), run.state), (time.perf_counter(), run))

    async def wait(self, target: ResourceRef, state: str) -> tuple[float, Remediation]:
        found: tuple[float, Remediation] = await eventually(
            lambda: self.seen.get((str(target), state)), timeout=120, interval=0.005, what=f"{state} on {target}"
        )
        return found


async def one_run(bus: BusClient, api: client.ApiClient, watch: RunWatch, scenario: Scenario) -> tuple[float, float]:
    target: ResourceRef = await eventually(lambda: scenario.trouble(api), timeout=120, interval=0.1, what=scenario.name)
    watch.forget()
    began = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    await bus.publish(alert(scenario.alert_id, target, "firing", began))
    if scenario.approve:
        _, asking = await watch.wait(target, "awaiting_approval")
        answer = ApprovalDecision(remediation_id=asking.remediation_id, decision="approve", by="test-oncall")
        token = token_of(bus.settings, "test-oncall")  # the approver is the credential that signs
        await bus.publish(answer.evolve(attestation=attest(token, answer.statement(), dt.datetime.now(dt.UTC))))
    acted_at, _ = await watch.wait(target, "acted")
    await eventually(lambda: scenario.recovered(api, target), timeout=120, interval=0.05, what="the sandbox's recovery")
    await bus.publish(alert(scenario.alert_id, target, "resolved", began))
    verified_at, _ = await watch.wait(target, "succeeded")
    return acted_at - started, verified_at - acted_at


def report(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    figure(f"{name}_p50", statistics.median(ms), "ms")
    figure(f"{name}_max", ms[-1], "ms")


async def scenario_runs(bus: BusClient, watch: RunWatch, scenario: Scenario, box: SandboxConfig, runs: int) -> None:
    times = []
    for _ in range(runs):
        box = SandboxConfig(**{**box.__dict__, "scenarios": [scenario.name]})
        async with Sandbox(box):
            api = api_client(ClusterSettings(kubeconfig=box.kubeconfig))
            assert api is not None
            try:
                times.append(await one_run(bus, api, watch, scenario))
            finally:
                await asyncio.to_thread(api.close)
    name = scenario.name.replace("-", "_")
    report(f"remediator_{name}_alert_to_action", [t[0] for t in times])
    report(f"remediator_{name}_action_to_verified", [t[1] for t in times])


async def bench(settings: Settings, workdir: Path, runs: int, speed: float) -> None:
    box = SandboxConfig(workdir=workdir / "sandbox", speed=speed, kube_port=free_port(), tick_s=0.1)
    runner = ServiceRunner(settings, workdir)
    runner.configure("cluster", kubeconfig=box.kubeconfig)
    runner.configure("remediator", rate_limit=100_000, cooldown_s=0, recurrence_window_s=0, tick_s=0.1)
    watch = RunWatch()
    try:
        async with Sandbox(box):  # its kubeconfig exists before the remediator starts
            runner.start("correlator", "remediator", "memory-bridge")
            await runner.wait_running(timeout=60)
        async with BusClient(settings, name="healer-bench") as bus:
            await bus.ensure_streams()
            subscription = await bus.nc.subscribe(bus.space.all_remediations, cb=watch.on_message)
            for scenario in SCENARIOS:
                await scenario_runs(bus, watch, scenario, box, runs)
            figure("remediator_runs_per_scenario", runs, "runs")
            figure("remediator_sandbox_speed", speed, "x")
            await subscription.unsubscribe()
    finally:
        runner.stop_all()


async def main(args: argparse.Namespace) -> int:
    configure_logging("WARNING", "console", service="bench")  # the sandbox narrates at info; figures only
    with tempfile.TemporaryDirectory(prefix="healer-bench-remediator-") as tmp:
        workdir = Path(tmp)
        nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
        settings = isolated_settings(nats.url, f"{redis.url}/0", workdir, log={"level": "WARNING"})
        try:
            await bench(settings, workdir, args.runs, args.speed)
        finally:
            redis.stop()
            nats.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each scenario, each on a fresh sandbox")
    parser.add_argument("--speed", type=float, default=30.0, help="scenario seconds per real second")
    sys.exit(asyncio.run(main(parser.parse_args())))
