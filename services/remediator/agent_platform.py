"""The live agent platform from what the cluster says: each unfinished CodeRun with its agent, task, stage,
priority, pod, node and requests; where agents contend (their requests over a node's allocatable, or pods
Pending behind them in their namespace); each agent healthy or degraded; and the report that carries it all.
Pure: adapters/agent_coordination.py reads the CodeRuns, pods and nodes and hands them here as JSON.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from healer_common.contract.agents import AgentHealth, Contention, LiveCodeRun, Priority
from healer_common.settings.remediator import AgentCoordinationSettings

Json = dict[str, Any]
STAGE_OF = {
    "rex": "implementation",
    "blaze": "implementation",
    "cleo": "quality",
    "tess": "testing",
    "cipher": "security",
    "atlas": "integration",
}
PAUSED_BY = "healer.platform/paused-by"  # which incident Healer paused a CodeRun for: it resumes only its own
FINISHED = frozenset({"Succeeded", "Failed"})
_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}


def quantity(text: object) -> float:
    """A Kubernetes quantity (`500m`, `2Gi`, `4`) as a number of cores or bytes; 0 when unreadable."""
    value = str(text or "").strip()
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if value.endswith(suffix):
            try:
                return float(value[: -len(suffix)]) * _UNITS[suffix]
            except ValueError:
                return 0.0
    try:
        return float(value)
    except ValueError:
        return 0.0


def _meta(obj: Json) -> Json:
    return obj.get("metadata") or {}


def agent_key(agent: str | None) -> str | None:
    """`5DLabs-Cleo` -> cleo; an agent outside the play keeps its name, lower-cased."""
    if not agent:
        return None
    lowered = agent.lower()
    return next((name for name in STAGE_OF if name in lowered), lowered)


def priority_of(coderun: Json, cfg: AgentCoordinationSettings) -> Priority:
    """critical for a remediation CodeRun whatever its labels say; else its label; else by its run type."""
    if is_remediation(coderun):
        return "critical"
    labels = _meta(coderun).get("labels") or {}
    label = str(labels.get(cfg.priority_label, "")).lower()
    if label in {"critical", "high", "normal", "low"}:
        return label  # type: ignore[return-value] # one of the Priority literals, checked just above
    return cfg.run_type_priorities.get(str((coderun.get("spec") or {}).get("runType") or ""), "normal")


def is_remediation(coderun: Json) -> bool:
    """Healer's own remediation CodeRuns: never paused, whatever their labels say."""
    labels = _meta(coderun).get("labels") or {}
    return labels.get("remediation") == "true" or (coderun.get("spec") or {}).get("runType") == "remediate"


def requests_of(pod: Json) -> tuple[float, float]:
    """(CPU cores, memory bytes) the pod's containers request."""
    cpu = memory = 0.0
    for container in (pod.get("spec") or {}).get("containers") or []:
        asked = (container.get("resources") or {}).get("requests") or {}
        cpu += quantity(asked.get("cpu"))
        memory += quantity(asked.get("memory"))
    return cpu, memory


def _since(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def live_coderun(coderun: Json, pods: list[Json], cfg: AgentCoordinationSettings) -> LiveCodeRun | None:
    """The CodeRun as the report shows it; None once it has finished."""
    meta, spec, status = _meta(coderun), coderun.get("spec") or {}, coderun.get("status") or {}
    phase = str(status.get("phase") or "Pending")
    if phase in FINISHED:
        return None
    agent = str(spec.get("implementationAgent") or spec.get("githubApp") or "") or None
    remediation = is_remediation(coderun)
    pod = next((p for p in pods if not _meta(p).get("deletionTimestamp")), None)
    cpu, memory = requests_of(pod) if pod else (0.0, 0.0)
    annotations = meta.get("annotations") or {}
    return LiveCodeRun(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        phase=phase,
        agent=agent,
        task_id=str(spec["taskId"]) if spec.get("taskId") is not None else None,
        stage="remediation" if remediation else STAGE_OF.get(agent_key(agent) or "", "other"),
        priority=priority_of(coderun, cfg),
        remediation=remediation,
        paused=str(annotations.get(cfg.pause_annotation, "")).lower() == "true",
        paused_by=annotations.get(PAUSED_BY),
        pod=_meta(pod).get("name") if pod else None,
        node=(pod.get("spec") or {}).get("nodeName") if pod else None,
        cpu_request_cores=cpu,
        memory_request_bytes=memory,
        since=_since(meta.get("creationTimestamp")),
    )


def by_stage(runs: Iterable[LiveCodeRun]) -> dict[str, int]:
    return dict(Counter(run.stage for run in runs))


@dataclass(frozen=True)
class PodView:
    namespace: str
    name: str
    node: str | None
    pending_since: dt.datetime | None  # unscheduled and waiting since then
    agent: bool
    cpu: float
    memory: float


def pod_view(pod: Json) -> PodView:
    meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    waiting = None
    if not spec.get("nodeName") and status.get("phase", "Pending") == "Pending":
        waiting = _since(meta.get("creationTimestamp"))
    cpu, memory = requests_of(pod)
    labels = meta.get("labels") or {}
    return PodView(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        node=spec.get("nodeName"),
        pending_since=waiting,
        agent="agent" in labels,
        cpu=cpu,
        memory=memory,
    )


def contention(
    pods: list[PodView], allocatable: dict[str, tuple[float, float]], cfg: AgentCoordinationSettings, now: dt.datetime
) -> list[Contention]:
    """Nodes whose agent pods ask for more than it offers, and namespaces with pods Pending behind agent pods."""
    found = []
    agents = [p for p in pods if p.agent and p.node]
    for node, (cpu, memory) in sorted(allocatable.items()):
        here = [p for p in agents if p.node == node]
        if len(here) < 2:
            continue
        for resource, asked, offered in (
            ("cpu", sum(p.cpu for p in here), cpu),
            ("memory", sum(p.memory for p in here), memory),
        ):
            if offered > 0 and asked > offered * cfg.node_request_ratio:
                names = sorted(p.name for p in here)
                found.append(
                    Contention(
                        scope="node", name=node, resource=resource, requested=asked, available=offered, agents=names
                    )
                )
    waited = dt.timedelta(seconds=cfg.pending_for_s)
    for namespace in sorted({p.namespace for p in agents}):
        pending = [
            p.name for p in pods if p.namespace == namespace and p.pending_since and now - p.pending_since >= waited
        ]
        if pending:
            names = sorted(p.name for p in agents if p.namespace == namespace)
            found.append(
                Contention(
                    scope="namespace", name=namespace, resource="pods", requested=len(pending), available=0,
                    agents=names, pending=sorted(pending),
                )
            )  # fmt: skip
    return found


def agent_health(runs: list[LiveCodeRun], firing: dict[str, list[str]]) -> list[AgentHealth]:
    """Each agent with runs or alerts: degraded while an agent-workflow alert naming it fires."""
    names = sorted({k for r in runs if (k := agent_key(r.agent))} | set(firing))
    health = []
    for name in names:
        mine = [r for r in runs if agent_key(r.agent) == name]
        reasons = firing.get(name, [])
        health.append(
            AgentHealth(
                agent=name,
                state="degraded" if reasons else "healthy",
                running=sum(1 for r in mine if r.phase == "Running" and not r.paused),
                pending=sum(1 for r in mine if r.phase == "Pending" and not r.paused),
                paused=sum(1 for r in mine if r.paused),
                reasons=reasons[:5],
            )
        )
    return health
