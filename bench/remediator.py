"""The remediator benchmark: time from alert to action, and from action to verified recovery, per scenario.
Prints one figure per line, `name value unit`.

    python bench/remediator.py [--runs 10]

It starts its own nats-server and redis-server on free loopback ports, the Kubernetes emulator (kmock), and the
correlator, remediator and memory-bridge as processes. Each run publishes a firing alert as the detector would
(so the detector's own hold times are not counted), waits for the remediator's action (`acted`), plays the
cluster's answer on the emulator as soon as the action shows there (the pod replaced, the Job done, the sync
done, the rollout done), publishes the alert's resolution, and waits for the verdict (`succeeded`).

    alert_to_action      alert published -> the action made on the cluster (the run's `acted` received);
                         for bad-image it includes an approval given at once on healer.approvals.<id>
    action_to_verified   `acted` received -> `succeeded` received: the cluster's answer (instant here), the
                         resolution through the correlator, and the remediator's verification

Scenarios: oom-restart (H8 on a pod), pvc-cleanup (H2 on a PVC), argocd-drift (H1 on an Application),
bad-image (H4 on a pod; rollback after approval). The sandbox cluster, when present, answers with its own
timing instead of at once; these figures are Healer's share of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healer_common.alerts import Alert, alert_fingerprint
from healer_common.busclient import BusClient
from healer_common.events import ResourceRef
from healer_common.remediations import ApprovalDecision, Remediation
from healer_common.servers import start_nats, start_redis
from healer_common.settings import Settings
from healer_common.testing import KubeEmulator, ServiceRunner, eventually, isolated_settings

Effect = Callable[[KubeEmulator], bool]


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def meta(namespace: str | None, name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "uid": f"uid-{namespace}-{name}", **({"namespace": namespace} if namespace else {}), **extra}


def seed_workload(kube: KubeEmulator, ns: str, revisions: int = 1) -> ResourceRef:
    """Deployment `app` with one ReplicaSet per revision and one pod of the last; the pod's ref."""
    template = {
        "metadata": {"labels": {"app": "app"}},
        "spec": {"containers": [{"name": "app", "image": f"app:{revisions}"}]},
    }
    annotations = {"deployment.kubernetes.io/revision": str(revisions)}
    dep = {"metadata": meta(ns, "app", annotations=annotations), "spec": {"replicas": 1, "template": template}}
    kube.put("apps", "v1", "deployments", ns, dep)
    for r in range(1, revisions + 1):
        owner = [{"kind": "Deployment", "name": "app", "uid": dep["metadata"]["uid"]}]
        rs_meta = meta(ns, f"app-{r}", ownerReferences=owner, annotations={"deployment.kubernetes.io/revision": str(r)})
        rs_template = {**template, "spec": {"containers": [{"name": "app", "image": f"app:{r}"}]}}
        kube.put("apps", "v1", "replicasets", ns, {"metadata": rs_meta, "spec": {"template": rs_template}})
    owner = [{"kind": "ReplicaSet", "name": f"app-{revisions}", "uid": f"uid-{ns}-app-{revisions}"}]
    kube.put(
        "",
        "v1",
        "pods",
        ns,
        {"metadata": meta(ns, "app-x1", ownerReferences=owner), "spec": {}, "status": {"phase": "Running"}},
    )
    return ResourceRef(kind="Pod", namespace=ns, name="app-x1")


@dataclass(frozen=True)
class Scenario:
    name: str
    alert_id: str
    seed: Callable[[KubeEmulator, str], ResourceRef]
    effect: Callable[[KubeEmulator, ResourceRef], bool]  # the action shows on the cluster
    approve: bool = False


def _pvc(kube: KubeEmulator, ns: str) -> ResourceRef:
    kube.put("", "v1", "persistentvolumeclaims", ns, {"metadata": meta(ns, "data"), "spec": {}})
    return ResourceRef(kind="PersistentVolumeClaim", namespace=ns, name="data")


def _app(kube: KubeEmulator, ns: str) -> ResourceRef:
    app = {
        "metadata": meta(ns, "shop"),
        "spec": {"source": {"targetRevision": "main"}},
        "status": {"sync": {"status": "OutOfSync"}},
    }
    kube.put("argoproj.io", "v1alpha1", "applications", ns, app)
    return ResourceRef(kind="Application", namespace=ns, name="shop")


def _job_created(kube: KubeEmulator, ref: ResourceRef) -> bool:
    return any(m == "POST" and p.endswith(f"/namespaces/{ref.namespace}/jobs") for m, p in kube.mutating_requests())


def _synced(kube: KubeEmulator, ref: ResourceRef) -> bool:
    app = kube.get("argoproj.io", "v1alpha1", "applications", ref.namespace, ref.name)
    return bool(app and app.get("operation"))


def _rolled_back(kube: KubeEmulator, ref: ResourceRef) -> bool:
    dep = kube.get("apps", "v1", "deployments", ref.namespace, "app")
    return bool(dep and dep["spec"]["template"]["spec"]["containers"][0]["image"] == "app:1")


SCENARIOS = (
    Scenario(
        "oom_restart",
        "H8",
        seed_workload,
        lambda kube, ref: kube.get("", "v1", "pods", ref.namespace, ref.name) is None,
    ),
    Scenario("pvc_cleanup", "H2", _pvc, _job_created),
    Scenario("argocd_drift", "H1", _app, _synced),
    Scenario("bad_image", "H4", lambda kube, ns: seed_workload(kube, ns, revisions=2), _rolled_back, approve=True),
)


def alert(alert_id: str, target: ResourceRef, status: str) -> Alert:
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
            "starts_at": "2026-01-05T09:00:00Z",
            "event_id": f"{fingerprint}-{status}",
        }
    )


class RunWatch:
    """Remediations as they are published, by target and state, with the time each arrived."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], tuple[float, Remediation]] = {}
        self.changed = asyncio.Event()

    async def on_message(self, msg: Any) -> None:
        run = Remediation.model_validate_json(msg.data)
        self.seen.setdefault((str(run.target), run.state), (time.perf_counter(), run))
        self.changed.set()

    async def wait(self, target: ResourceRef, state: str) -> tuple[float, Remediation]:
        def found() -> tuple[float, Remediation] | None:
            return self.seen.get((str(target), state))

        result: tuple[float, Remediation] = await eventually(
            found, timeout=60, interval=0.005, what=f"{state} on {target}"
        )
        return result


async def one_run(
    bus: BusClient, kube: KubeEmulator, watch: RunWatch, scenario: Scenario, ns: str
) -> tuple[float, float]:
    target = scenario.seed(kube, ns)
    started = time.perf_counter()
    await bus.publish(alert(scenario.alert_id, target, "firing"))
    if scenario.approve:
        _, asking = await watch.wait(target, "awaiting_approval")
        await bus.publish(ApprovalDecision(remediation_id=asking.remediation_id, decision="approve", by="bench"))
    acted_at, _ = await watch.wait(target, "acted")
    await eventually(
        lambda: scenario.effect(kube, target), timeout=30, interval=0.005, what="the action on the cluster"
    )
    await bus.publish(alert(scenario.alert_id, target, "resolved"))
    verified_at, _ = await watch.wait(target, "succeeded")
    return acted_at - started, verified_at - acted_at


def report(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    figure(f"{name}_p50", statistics.median(ms), "ms")
    figure(f"{name}_max", ms[-1], "ms")


async def bench(settings: Settings, workdir: Path, kube: KubeEmulator, runs: int) -> None:
    runner = ServiceRunner(settings, workdir)
    runner.configure("cluster", kubeconfig=kube.write_kubeconfig(workdir / "kubeconfig"))
    runner.configure("remediator", rate_limit=100_000, tick_s=0.1, memory_timeout_s=1.0)
    watch = RunWatch()
    try:
        runner.start("correlator", "remediator", "memory-bridge")
        await runner.wait_running(timeout=60)
        async with BusClient(settings, name="healer-bench") as bus:
            await bus.ensure_streams()
            subscription = await bus.nc.subscribe(bus.space.all_remediations, cb=watch.on_message)
            for scenario in SCENARIOS:
                times = [
                    await one_run(bus, kube, watch, scenario, f"{scenario.name.replace('_', '-')}-{i}")
                    for i in range(runs)
                ]
                report(f"remediator_{scenario.name}_alert_to_action", [t[0] for t in times])
                report(f"remediator_{scenario.name}_action_to_verified", [t[1] for t in times])
            figure("remediator_runs_per_scenario", runs, "runs")
            await subscription.unsubscribe()
    finally:
        runner.stop_all()


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="healer-bench-remediator-") as tmp:
        workdir = Path(tmp)
        nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
        kube = KubeEmulator().start()
        settings = isolated_settings(nats.url, f"{redis.url}/0", workdir, log={"level": "WARNING"})
        try:
            await bench(settings, workdir, kube, args.runs)
        finally:
            kube.stop()
            redis.stop()
            nats.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs of each scenario (each on its own namespace)")
    sys.exit(asyncio.run(main(parser.parse_args())))
