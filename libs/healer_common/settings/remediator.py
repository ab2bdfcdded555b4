"""The remediator (`HEALER_REMEDIATOR__*`): guard rails, limits, approvals, webhooks, CodeRun defaults, and the
agent coordination (`remediator.agents`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from healer_common.settings.section import Section

LEVEL_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class ApprovalLevel(Section):
    """Who may approve one action type, and how long its request waits."""

    level: str = Field(pattern=LEVEL_PATTERN, description="approvers need scope approve:<level> (admin also may)")
    timeout_s: float | None = Field(None, gt=0, description="how long the request waits; unset: approval_timeout_s")


def _seed_levels() -> dict[str, ApprovalLevel]:
    """The seed's approval levels: rollback by on-call within 5 minutes, a node drain by an admin, a database
    failover by PagerDuty's escalation level, a feature flag by its product owner."""
    return {
        "rollback_deployment": ApprovalLevel(level="oncall", timeout_s=300.0),
        "drain_node": ApprovalLevel(level="admin"),
        "refresh_secrets": ApprovalLevel(level="admin"),
        "database_failover": ApprovalLevel(level="escalation"),
        "disable_feature_flag": ApprovalLevel(level="product-owner"),
    }


class ProviderFailover(Section):
    """Where the consumers of an external provider read which one to use, and the backup to switch them to."""

    config_map: str = Field(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$",
        description="namespace/name of the ConfigMap the consumers read the provider from",
    )
    key: str = Field("provider", min_length=1, description="the ConfigMap key that names the provider")
    backup: str = Field(min_length=1, description="the provider switched to while the primary is in trouble")


class AgentCoordinationSettings(Section):
    enabled: bool = Field(True, description="watch the live CodeRuns, report them, and pause low-priority ones")
    interval_s: float = Field(10.0, gt=0, description="how often the CodeRuns, their pods and the nodes are read")
    namespaces: list[str] = Field(
        default_factory=list, description="namespaces whose CodeRuns are coordinated; [] = every namespace"
    )
    pause_on_severity: Literal["warning", "critical"] = Field(
        "critical", description="while an incident this severe or worse is open, low-priority CodeRuns are paused"
    )
    pause_below: Literal["normal", "high", "critical"] = Field(
        "normal", description="CodeRuns of a priority below this are paused (remediation CodeRuns never are)"
    )
    priority_label: str = Field(
        "healer.platform/priority", description="CodeRun label (critical, high, normal, low) that sets its priority"
    )
    run_type_priorities: dict[str, Literal["critical", "high", "normal", "low"]] = Field(
        default_factory=lambda: {"remediate": "critical"},  # type: ignore[arg-type] # mypy widens the literal
        description="a CodeRun's priority by spec.runType when it has no priority label (unlisted: normal)",
    )
    pause_annotation: str = Field(
        "agents.platform/paused",
        description="the annotation (value true) the CodeRun controller honours by stopping the agent's pod",
    )
    node_request_ratio: float = Field(
        1.0, gt=0, description="agents' requests over a node's allocatable CPU or memory above this is contention"
    )
    pending_for_s: float = Field(
        30.0, ge=0, description="a pod Pending this long while agent pods run in its namespace is contention"
    )


class RemediatorSettings(Section):
    dry_run: bool = Field(False, description="never act, only say what would be done (always so with no cluster)")
    verify_window_s: float = Field(300.0, gt=0, description="how long an action has to resolve its alert")
    memory_timeout_s: float = Field(
        1.0, gt=0, description="how long to wait for memory-bridge before acting without it"
    )
    exclude_label: str = Field(
        "healer.platform/exclude", description="pods with this label set to true are never touched"
    )
    protected_name_prefixes: list[str] = Field(
        default_factory=lambda: ["healer", "cto-tools", "cto-controller", "openmemory", "nats", "redis"],
        description="pods whose names start with these are infrastructure and never touched",
    )
    playbook_paths: list[Path] = Field(
        default_factory=list,
        description="RemediationPlaybook YAML files or folders; a playbook here replaces a built-in of the same name",
    )
    cluster_playbooks: bool = Field(
        True, description="also read RemediationPlaybook custom resources from the cluster (all namespaces)"
    )
    playbook_reload_s: float = Field(
        30.0, gt=0, description="how often playbooks are re-read from files and the cluster"
    )
    tick_s: float = Field(
        1.0, gt=0, description="how often timers are checked: verification windows, approvals, rollback windows"
    )
    batch_max: int = Field(
        64, ge=1, le=1_000, description="most incident revisions taken at once (side by side, each incident's in order)"
    )
    linger_s: float = Field(
        1.0,
        ge=0,
        le=10,
        description="once caught up, incident revisions are taken at most this often (0: as they come): on shared "
        "cores a storm's wave is told first and looked at for remediation a second later",
    )
    namespace_allow: list[str] = Field(
        default_factory=list, description="act only in these namespaces (empty: every namespace not denied)"
    )
    namespace_deny: list[str] = Field(
        default_factory=lambda: ["kube-system", "kube-public", "kube-node-lease"],
        description="never act in these namespaces (Healer's own namespace is always denied)",
    )
    rate_limit: int = Field(
        20, ge=0, description="cluster-wide budget of actions on the cluster per rate_window_s (0 refuses all)"
    )
    rate_window_s: float = Field(3600.0, gt=0, description="the sliding window of rate_limit")
    cooldown_s: float = Field(
        600.0, ge=0, description="after acting on a target, refuse new remediations of it for this long"
    )
    recurrence_window_s: float = Field(
        1800.0,
        ge=0,
        description="an alert back this soon after a verified fix means the fix did not hold: "
        "the next run goes on after it (and is not held back by the cooldown)",
    )
    max_concurrent: int = Field(
        10,
        ge=1,
        description="remediations in progress at once, across replicas (a problem over the limit waits its turn: "
        "its incident is looked at again every 5 ticks, at least 5 s, until a run ends)",
    )
    max_problems_per_incident: int = Field(
        3,
        ge=1,
        description="an incident's problems (one per workload) answered by their own playbooks, most severe first",
    )
    lock_ttl_s: float = Field(
        120.0,
        gt=0,
        description="expiry of the per-target lock, renewed while its run lives (a crashed replica's lock lapses)",
    )
    breaker_window_s: float = Field(3600.0, gt=0, description="the circuit breaker weighs outcomes this recent")
    breaker_min_runs: int = Field(5, ge=1, description="the breaker judges only once this many runs have ended")
    breaker_min_success: float = Field(
        0.5, ge=0, le=1, description="open the breaker (stop acting) when the success rate falls below this"
    )
    breaker_cooldown_s: float = Field(
        1800.0, gt=0, description="an open breaker refuses for this long, then lets runs try again"
    )
    approval_timeout_s: float = Field(
        900.0, gt=0, description="how long an approval request waits for an answer, unless its level says"
    )
    approval_on_timeout: dict[str, Literal["approve", "deny"]] = Field(
        default_factory=lambda: {  # type: ignore[arg-type] # mypy widens the literals in a lambda's dict
            "rollback_deployment": "deny",
            "drain_node": "deny",
            "refresh_secrets": "deny",
            "database_failover": "deny",
            "disable_feature_flag": "deny",
            "failover_provider": "deny",
        },
        description="per action type, what an unanswered approval request becomes (unlisted: deny)",
    )
    approval_levels: dict[str, ApprovalLevel] = Field(
        default_factory=_seed_levels,
        description="per action type, the level whose approvers may answer (approve:<level>) and its timeout",
    )
    approval_default_level: str = Field(
        "oncall", pattern=LEVEL_PATTERN, description="the level of action types approval_levels does not list"
    )
    memory_confidence: float = Field(
        0.9, ge=0, le=1, description="apply memory's recommended fix directly when its confidence is above this"
    )
    database_failover_url: str | None = Field(
        None, description="webhook that fails a database over (POST {database, reason, ...}); unset: action fails"
    )
    feature_flag_url: str | None = Field(
        None, description="webhook that switches a feature flag (POST {flag, enabled, ...}); unset: action fails"
    )
    secret_namespaces: list[str] = Field(
        default_factory=list,
        description="namespaces where refresh_secrets may read and restore Secrets (opt-in; empty: nowhere)",
    )
    webhook_token: SecretStr | None = Field(None, description="bearer token sent to the two webhooks above")
    webhook_timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of the failover and feature-flag webhooks")
    coderun_namespace: str = Field("cto", description="where remediation CodeRuns are created")
    coderun_repository_url: str = Field(
        "https://github.com/5dlabs/cto", description="CodeRun spec.repositoryUrl for remediation runs"
    )
    coderun_docs_repository_url: str = Field(
        "https://github.com/5dlabs/cto", description="CodeRun spec.docsRepositoryUrl for remediation runs"
    )
    coderun_working_directory: str = Field(".", description="CodeRun spec.workingDirectory")
    coderun_model: str = Field("claude-sonnet-4-20250514", description="CodeRun spec.model")
    coderun_github_app: str = Field("5DLabs-Rex", description="CodeRun spec.githubApp (and implementationAgent)")
    coderun_service: str = Field("healer", description="CodeRun spec.service")
    coderun_follow_s: float = Field(
        3600.0,
        gt=0,
        description="how long a remediation CodeRun is followed: to its end, its PR read, and the alert resolved; "
        "after that the hand-off counts as failed",
    )
    coderun_poll_s: float = Field(5.0, gt=0, description="how often followed CodeRuns (and their PRs) are read")
    agents: AgentCoordinationSettings = AgentCoordinationSettings()
    providers: dict[str, ProviderFailover] = Field(
        default_factory=dict,
        description="failover_provider: per probe target (e.g. anthropic), the ConfigMap key to switch and the backup",
    )

    @property
    def look_again_s(self) -> float:
        """How long something that cannot go on now waits to be tried again: a paused run, a problem over
        `max_concurrent`. Five ticks, and at least 5 s."""
        return max(self.tick_s * 5, 5.0)

    def approval_level(self, action: str) -> ApprovalLevel:
        return self.approval_levels.get(action) or ApprovalLevel(level=self.approval_default_level)
