"""Agent coordination's decisions as the platform's SRE relies on them: each CodeRun's priority, stage, pod and
requests; contention where agents ask for more than a node has or pods wait behind them; which runs pause
while something presses, which resume after, and that a remediation CodeRun never pauses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from healer_common.contract.agents import LiveCodeRun
from healer_common.settings.remediator import AgentCoordinationSettings
from services.remediator.agent_platform import (
    PAUSED_BY,
    agent_health,
    contention,
    live_coderun,
    pod_view,
    priority_of,
    quantity,
)
from services.remediator.agent_priority import Pressure, decide, waiting_remediations

CFG = AgentCoordinationSettings()
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def coderun(
    name: str, *, labels: dict[str, str] | None = None, run_type: str = "implementation", **extra: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "cto", "uid": f"uid-{name}", "labels": labels or {}, **extra},
        "spec": {"taskId": 7, "githubApp": "5DLabs-Tess", "runType": run_type},
        "status": {"phase": "Running"},
    }


def pod(
    name: str, node: str | None, cpu: str = "500m", memory: str = "1Gi", agent: bool = True, **meta: Any
) -> dict[str, Any]:
    labels = {"agent": "5DLabs-Tess"} if agent else {}
    container = {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    spec = {"containers": [container], **({"nodeName": node} if node else {})}
    return {
        "metadata": {"name": name, "namespace": "cto", "labels": labels, **meta},
        "spec": spec,
        "status": {"phase": "Running" if node else "Pending"},
    }


def live(name: str, priority: str = "normal", **changes: Any) -> LiveCodeRun:
    return LiveCodeRun(namespace="cto", name=name, phase="Running", priority=priority, **changes)


def test_quantities_read_as_kubernetes_writes_them() -> None:
    assert quantity("500m") == 0.5
    assert quantity("2Gi") == 2 * 2**30
    assert quantity("4") == 4.0
    assert quantity("nonsense") == 0.0


def test_a_coderuns_priority_comes_from_its_label_its_run_type_and_a_remediation_is_always_critical() -> None:
    assert priority_of(coderun("a", labels={"healer.platform/priority": "low"}), CFG) == "low"
    assert priority_of(coderun("b"), CFG) == "normal"
    assert priority_of(coderun("c", run_type="remediate"), CFG) == "critical"
    labelled_low = coderun("d", labels={"remediation": "true", "healer.platform/priority": "low"})
    assert priority_of(labelled_low, CFG) == "critical"


def test_a_live_coderun_carries_its_stage_pod_node_requests_and_who_paused_it() -> None:
    paused = coderun("tests", annotations={"agents.platform/paused": "true", PAUSED_BY: "inc-1"})
    run = live_coderun(paused, [pod("tests-agent", "node-1")], CFG)
    assert run is not None
    assert (run.stage, run.pod, run.node, run.cpu_request_cores) == ("testing", "tests-agent", "node-1", 0.5)
    assert run.paused
    assert run.paused_by == "inc-1"
    done = {**coderun("x"), "status": {"phase": "Succeeded"}}
    assert live_coderun(done, [], CFG) is None


def test_agents_asking_for_more_than_a_node_has_contend_and_pending_pods_behind_them_do_too() -> None:
    pods = [pod("rex", "node-1", cpu="3"), pod("tess", "node-1", cpu="2"), pod("cleo", "node-2", cpu="3")]
    waiting = pod("atlas", None, agent=False, creationTimestamp="2026-03-02T08:58:00Z")
    found = contention(
        [pod_view(p) for p in [*pods, waiting]], {"node-1": (4.0, 64e9), "node-2": (4.0, 64e9)}, CFG, NOW
    )

    assert [(c.scope, c.name, c.resource) for c in found] == [("node", "node-1", "cpu"), ("namespace", "cto", "pods")]
    assert found[0].agents == ["rex", "tess"]
    assert found[0].requested == 5.0
    assert found[1].pending == ["atlas"]
    assert "wait Pending" in found[1].describe()


def test_an_agent_is_degraded_while_an_alert_naming_it_fires() -> None:
    runs = [live("a", agent="5DLabs-Tess", paused=True), live("b", agent="5DLabs-Rex")]
    health = {h.agent: h for h in agent_health(runs, {"tess": ["A3 stale progress"]})}
    assert health["tess"].state == "degraded"
    assert health["tess"].paused == 1
    assert health["rex"].state == "healthy"
    assert health["rex"].running == 1


def test_while_a_critical_incident_presses_runs_below_normal_pause_and_never_a_remediation() -> None:
    runs = [live("low", "low"), live("normal"), live("high", "high"), live("fix", "critical", remediation=True)]
    critical = Pressure("inc-1", "critical", "database down")

    decision = decide(runs, [critical, Pressure("inc-2", "warning", "slow")], CFG)

    assert [r.name for r in decision.pause] == ["low"]
    assert decision.because == critical
    assert decide(runs, [Pressure("inc-2", "warning", "slow")], CFG).pause == (), "a warning does not press"


def test_once_nothing_presses_healer_resumes_only_what_it_paused() -> None:
    runs = [live("mine", "low", paused=True, paused_by="inc-1"), live("a-persons", "low", paused=True)]
    assert [r.name for r in decide(runs, [], CFG).resume] == ["mine"]


def test_a_remediation_coderun_kept_waiting_presses_like_a_critical_incident() -> None:
    since = NOW - dt.timedelta(seconds=CFG.pending_for_s + 1)
    waiting = live("fix", "critical", remediation=True, since=since).model_copy(update={"phase": "Pending"})
    pressures = waiting_remediations([waiting, live("low", "low")], CFG, NOW)
    assert [p.key for p in pressures] == ["waiting:cto/fix"]
    assert [r.name for r in decide([waiting, live("low", "low")], pressures, CFG).pause] == ["low"]
