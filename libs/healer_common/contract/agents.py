"""The agent platform as Healer sees it: the live CodeRuns (agent, task, stage, node, what they ask for, their
priority, paused or not), each agent's health, and where agents contend for a node or a namespace.

The remediator's agent coordination publishes an `AgentsReport` every `remediator.agents.interval_s` on
`healer.agents.report` (core NATS: a snapshot, not history) and keeps the last one in Redis, where
`healer status --all` and the dashboard's Workflows and Agents tiles read it.

    coderuns      every Pending or Running CodeRun, oldest first
    by_stage      how many run in each stage of the play workflow (implementation, quality, testing,
                  security, integration) or as remediations
    agents        per agent (Rex, Blaze, Cleo, Tess, Cipher, Atlas, and any other): healthy, or degraded
                  with the firing agent-workflow alerts (A1-A10) that name it
    contention    nodes and namespaces where agents ask for more than there is, or pods wait behind them
    pressing      the open incidents that pause low-priority work now (severity at or above the setting)
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from healer_common.contract.messages import Frozen, Message

REPORT_KEY = ("remediator", "agents", "report")  # where the last report is kept in Redis (under the key prefix)
Priority = Literal["critical", "high", "normal", "low"]
PRIORITY_RANK: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "critical": 3}
STAGES = ("implementation", "quality", "testing", "security", "integration", "remediation", "other")


class LiveCodeRun(Frozen):
    """One CodeRun (agents.platform/v1) not finished yet, with the pod its agent works in."""

    namespace: str
    name: str
    phase: str
    agent: str | None = None
    task_id: str | None = None
    stage: str = "other"
    priority: Priority = "normal"
    remediation: bool = False
    paused: bool = False
    paused_by: str | None = Field(default=None, description="the incident Healer paused it for (None: not Healer)")
    pod: str | None = None
    node: str | None = None
    cpu_request_cores: float = Field(default=0.0, ge=0)
    memory_request_bytes: float = Field(default=0.0, ge=0)
    since: AwareDatetime | None = None


class AgentHealth(Frozen):
    agent: str
    state: Literal["healthy", "degraded"]
    running: int = 0
    pending: int = 0
    paused: int = 0
    reasons: list[str] = Field(default_factory=list, description="the firing alerts that make it degraded")


class Contention(Frozen):
    """Agents asking for more than a node (or a namespace's quota) has, or pods waiting Pending behind them."""

    scope: Literal["node", "namespace"]
    name: str
    resource: str = Field(description="cpu, memory, or pods (Pending pods waiting)")
    requested: float = Field(ge=0)
    available: float = Field(ge=0)
    agents: list[str] = Field(default_factory=list, description="the agent pods involved")
    pending: list[str] = Field(default_factory=list, description="pods waiting to be scheduled")

    def describe(self) -> str:
        if self.resource == "pods":
            return f"{len(self.pending)} pod(s) wait Pending in {self.scope} {self.name} behind agent pods"
        return (
            f"agents ask for {self.requested:g} {self.resource} on {self.scope} {self.name}, "
            f"which has {self.available:g}"
        )


class AgentsReport(Message):
    cluster: str
    coderuns: list[LiveCodeRun] = Field(default_factory=list)
    by_stage: dict[str, int] = Field(default_factory=dict)
    agents: list[AgentHealth] = Field(default_factory=list)
    contention: list[Contention] = Field(default_factory=list)
    pressing: list[str] = Field(default_factory=list, description="open incidents that pause low-priority work")
    dry_run: bool = False
