"""The signals vocabulary: which condition reasons and metric names the collector emits and the detector's
rules read. It is the contract between the two (and with users' own publishers), so it lives here once.

A collector source turns what it reads into events with these names; a detector rule names the signals it
consumes from here. A user system may publish any of them on `healer.events.custom.<source>` to get the
same alerts. Adding a signal means adding it here first, with its unit and meaning.

Label conventions on every signal: `namespace`, and the object's kind in lower case as the key of its name
(`pod`, `node`, `persistentvolumeclaim`, `application`, `certificate`, `secret`, `service`, `deployment`,
`coderun`, `queue`, `database`, `target`), plus `container` where it applies. The cluster travels in the
CloudEvent's `cluster` attribute, not in labels.

Topology labels, which the detector copies into alert labels and the correlator ranks root causes by: a pod
signal carries, where known, `node` (spec.nodeName), `owner_kind`/`owner_name` (its controller),
`deployment` (resolved through the ReplicaSet), `statefulset`, `application` (the ArgoCD Application that
manages it: label `argocd.argoproj.io/instance` or `app.kubernetes.io/instance`), and for agent pods `agent`
and `task-id` (the pod's own labels). A PVC signal carries `node` when bound to a local volume, and the
`pod`s that mount it in `mounted_by` (comma-separated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ConditionSignal:
    reason: str
    kind: str
    meaning: str
    recovers: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricSignal:
    name: str
    unit: Literal["ratio", "seconds", "bytes", "count", "per_second", "boolean"]
    labels: tuple[str, ...]
    meaning: str


# Conditions (healer.condition.v1): `reason` is one of these; `recovers` lists the reasons that end it.
CONDITIONS: dict[str, ConditionSignal] = {
    c.reason: c
    for c in (
        # pods and containers (kubernetes source)
        ConditionSignal("OOMKilled", "Pod", "a container was killed for exceeding its memory limit", ("Ready",)),
        ConditionSignal("ImagePullBackOff", "Pod", "the kubelet backs off pulling an image", ("Ready",)),
        ConditionSignal("ErrImagePull", "Pod", "an image pull failed", ("Ready",)),
        ConditionSignal(
            "CrashLoopBackOff", "Pod", "a container keeps crashing; labels.restarts holds the sum", ("Ready",)
        ),
        ConditionSignal(
            "ContainerNotReady", "Pod", "pod Running but a container is not ready; labels.method", ("Ready",)
        ),
        ConditionSignal("Failed", "Pod", "pod phase Failed", ("Ready", "Succeeded")),
        ConditionSignal("Evicted", "Pod", "the pod was evicted; message says why", ("Ready",)),
        ConditionSignal(
            "PodRunning",
            "Pod",
            "pod phase Running; labels.since is its start time (agent pods: labels.agent)",
            ("Succeeded", "Failed"),
        ),
        ConditionSignal("DNSFailure", "Pod", "a name lookup from the pod failed; message names the host", ("Ready",)),
        ConditionSignal("Ready", "Pod", "every container of the pod is ready (a recovery)"),
        ConditionSignal(
            "PodDeleted",
            "Pod",
            "a pod last reported in trouble is gone (deleted, evicted, replaced by its controller): what was "
            "raised about it resolves; its replacement speaks for itself (a recovery)",
        ),
        ConditionSignal("Succeeded", "Pod", "pod phase Succeeded (a recovery)"),
        # nodes
        ConditionSignal("MemoryPressure", "Node", "node condition MemoryPressure=True", ("NodeHealthy",)),
        ConditionSignal("DiskPressure", "Node", "node condition DiskPressure=True", ("NodeHealthy",)),
        ConditionSignal("PIDPressure", "Node", "node condition PIDPressure=True", ("NodeHealthy",)),
        ConditionSignal("NotReady", "Node", "node condition Ready=False", ("NodeReady", "NodeHealthy")),
        ConditionSignal(
            "KubeletStopped",
            "Node",
            "node condition Ready=Unknown: the kubelet stopped posting its status",
            ("NodeReady", "NodeHealthy"),
        ),
        ConditionSignal("NetworkUnavailable", "Node", "node condition NetworkUnavailable=True", ("NodeHealthy",)),
        ConditionSignal(
            "Unschedulable", "Node", "spec.unschedulable (cordoned); labels.since when first seen", ("NodeHealthy",)
        ),
        ConditionSignal("NodeReady", "Node", "Ready=True while another node condition persists (a recovery)"),
        ConditionSignal("NodeHealthy", "Node", "Ready=True, schedulable and no pressure condition (a recovery)"),
        # ArgoCD Applications (argocd source); labels.since is when the status began (RFC 3339)
        ConditionSignal("OutOfSync", "Application", "sync status OutOfSync; labels.since", ("Synced",)),
        ConditionSignal("Synced", "Application", "sync status Synced (a recovery)"),
        ConditionSignal("Degraded", "Application", "health Degraded or Missing; labels.since", ("Healthy",)),
        ConditionSignal("Healthy", "Application", "health Healthy (a recovery)"),
        ConditionSignal("SyncFailed", "Application", "the last sync operation failed; message says why", ("Synced",)),
        ConditionSignal(
            "ConfigDrift",
            "ConfigMap",
            "a ConfigMap or Secret an Application manages differs from Git (kind: ConfigMap or Secret); "
            "labels.application, labels.since",
            ("ConfigSynced",),
        ),
        ConditionSignal("ConfigSynced", "ConfigMap", "the ConfigMap or Secret matches Git again (a recovery)"),
        # Secrets (kubernetes source)
        ConditionSignal(
            "SecretRotated",
            "Secret",
            "a Secret's data changed while pods that mount it still run with the old data; labels.since, "
            "labels.consumers (comma-separated pods)",
            ("SecretConsumersCurrent",),
        ),
        ConditionSignal(
            "SecretConsumersCurrent", "Secret", "every pod mounting the Secret started after its change (a recovery)"
        ),
        # Services and probes
        ConditionSignal("EndpointsEmpty", "Service", "a Service selects no ready endpoint", ("EndpointsReady",)),
        ConditionSignal("EndpointsReady", "Service", "the Service has ready endpoints (a recovery)"),
        ConditionSignal("ProbeFailed", "Probe", "an HTTP probe failed; message has status/error", ("ProbeSucceeded",)),
        ConditionSignal("ProbeSucceeded", "Probe", "an HTTP probe succeeded (a recovery)"),
        # CodeRuns (agents.platform/v1); labels.phase, labels.since, labels.run_type
        ConditionSignal("CodeRunPending", "CodeRun", "a CodeRun is Pending; labels.since", ("CodeRunFinished",)),
        ConditionSignal("CodeRunRunning", "CodeRun", "a CodeRun is Running; labels.since", ("CodeRunFinished",)),
        ConditionSignal("CodeRunFinished", "CodeRun", "a CodeRun Succeeded or Failed (labels.phase)"),
        # Pull requests (github source): resource kind PullRequest named `owner/repo#number`; labels repo, pr,
        # url and task-id (from the PR's labels or branch, `task-<n>`), which joins a PR to its agents' pods
        ConditionSignal(
            "PullRequestOpen",
            "PullRequest",
            "the PR is open; labels head_sha, last_commit_at (RFC 3339), author, branch",
            ("PullRequestClosed",),
        ),
        ConditionSignal("PullRequestClosed", "PullRequest", "the PR was closed; labels.merged true or false"),
        ConditionSignal(
            "PullRequestComment",
            "PullRequest",
            "a comment or review on the PR, once each; labels author, kind (comment, review), review_state "
            "(APPROVED, CHANGES_REQUESTED, COMMENTED), comment_id, time; message holds its text",
        ),
        ConditionSignal(
            "CheckFailed",
            "PullRequest",
            "a check run or workflow run on the PR's head failed; labels check, kind (check_run, workflow_run), "
            "conclusion, head_sha, time",
            ("CheckPassed",),
        ),
        ConditionSignal("CheckPassed", "PullRequest", "a check run or workflow run on the PR's head passed"),
        # External providers (probes, and every source that reads an API)
        ConditionSignal(
            "RateLimited",
            "Probe",
            "an API answered 429 (or 403 with its quota spent): its rate limit, not the network; labels target, "
            "retry_after_s",
            ("ProbeSucceeded",),
        ),
        # Agents (remediator's agent coordination): agents competing for one node or namespace
        ConditionSignal(
            "AgentContention",
            "Node",
            "agent pods on one node (kind Node) or in one namespace (kind Namespace) ask for more CPU or memory "
            "than it has, or pods wait Pending behind them; labels agents, pending, resource",
            ("AgentContentionCleared",),
        ),
        ConditionSignal("AgentContentionCleared", "Node", "the agents fit again (a recovery)"),
        # Healer's own sight (every collector source)
        ConditionSignal("SourceUnreachable", "Source", "a collector source cannot read its system", ("SourceHealthy",)),
        ConditionSignal("SourceHealthy", "Source", "the source reads its system again (a recovery)"),
    )
}

# Metrics (healer.metric.v1 / healer.metrics.v1).
METRICS: dict[str, MetricSignal] = {
    m.name: m
    for m in (
        MetricSignal("node_memory_usage_ratio", "ratio", ("node",), "1 - MemAvailable / MemTotal"),
        MetricSignal("node_filesystem_usage_ratio", "ratio", ("node", "mountpoint"), "used / size of a filesystem"),
        MetricSignal("node_cpu_usage_ratio", "ratio", ("node",), "busy CPU over allocatable"),
        MetricSignal("pvc_usage_ratio", "ratio", ("namespace", "persistentvolumeclaim"), "used / capacity"),
        MetricSignal(
            "container_memory_usage_ratio",
            "ratio",
            ("namespace", "pod", "container"),
            "working set over the container's memory limit",
        ),
        MetricSignal("container_restarts", "count", ("namespace", "pod", "container"), "restart count"),
        MetricSignal("namespace_memory_request_ratio", "ratio", ("namespace",), "memory in use over memory requested"),
        MetricSignal("namespace_cpu_request_ratio", "ratio", ("namespace",), "CPU in use over CPU requested"),
        MetricSignal(
            "certificate_expiry_seconds",
            "seconds",
            ("namespace", "certificate"),
            "seconds until notAfter (cert-manager Certificate or a TLS Secret: label secret instead)",
        ),
        MetricSignal(
            "db_connection_pool_usage_ratio", "ratio", ("namespace", "database"), "connections in use over max"
        ),
        MetricSignal("db_query_duration_p99_seconds", "seconds", ("namespace", "database"), "slow-query latency"),
        MetricSignal("queue_depth", "count", ("namespace", "queue"), "jobs waiting in a queue"),
        MetricSignal("network_errors_per_second", "per_second", ("namespace", "pod"), "receive+transmit errors"),
        MetricSignal("apiserver_request_p99_seconds", "seconds", ("verb",), "Kubernetes API latency"),
        MetricSignal("probe_success", "boolean", ("target",), "1 when the last HTTP probe succeeded"),
        MetricSignal("probe_duration_seconds", "seconds", ("target",), "time of the last HTTP probe"),
        MetricSignal("probe_tls_expiry_seconds", "seconds", ("target",), "seconds until the probed TLS cert expires"),
        MetricSignal(
            "ratelimit_remaining_ratio", "ratio", ("target",), "remaining / limit from the probe's rate-limit headers"
        ),
        MetricSignal(
            "argocd_app_revision_lag",
            "count",
            ("namespace", "application"),
            "1 while the deployed revision is not Git's",
        ),
        MetricSignal(
            "argocd_app_revision_age_seconds",
            "seconds",
            ("namespace", "application"),
            "how long Git's revision has been ahead of the deployed one (0 when deployed)",
        ),
        MetricSignal(
            "helm_release_behind",
            "boolean",
            ("namespace", "application"),
            "1 while the deployed Helm chart version is not the newest one declared (labels chart, chart_version)",
        ),
        MetricSignal("namespace_memory_quota_ratio", "ratio", ("namespace",), "memory used over its ResourceQuota"),
        MetricSignal("namespace_cpu_quota_ratio", "ratio", ("namespace",), "CPU used over its ResourceQuota"),
        # node capacity and scheduling pressure (kubernetes source: allocatable; prometheus: requests)
        MetricSignal("node_allocatable_memory_bytes", "bytes", ("node",), "memory the node offers to pods"),
        MetricSignal("node_allocatable_cpu_cores", "count", ("node",), "CPU cores the node offers to pods"),
        MetricSignal(
            "node_memory_request_ratio", "ratio", ("node",), "memory requested by the node's pods over allocatable"
        ),
        MetricSignal("node_cpu_request_ratio", "ratio", ("node",), "CPU requested by the node's pods over allocatable"),
        # rate limits seen by probes (ratelimit_remaining_ratio above is remaining / limit)
        MetricSignal("probe_ratelimit_remaining", "count", ("target",), "requests left in the rate-limit window"),
        MetricSignal(
            "probe_ratelimit_reset_seconds", "seconds", ("target",), "seconds until the rate-limit window resets"
        ),
        MetricSignal(
            "ratelimit_exhausted_in_seconds",
            "seconds",
            ("target",),
            "seconds until the quota runs out at its recent rate of spending (86400: not before it resets)",
        ),
        MetricSignal(
            "probe_error_budget_remaining_ratio",
            "ratio",
            ("target",),
            "share of the SLO window's error budget still unspent (probes with an slo)",
        ),
    )
}

# Logs (healer.log.v1) carry `line`, `level` and stream labels (`namespace`, `app` or `pod`); the detector's
# log patterns and signatures read them. No names to agree on beyond the label keys.


def condition(reason: str) -> ConditionSignal:
    """The signal for a condition reason; a KeyError names the reasons that exist."""
    try:
        return CONDITIONS[reason]
    except KeyError:
        raise KeyError(f"unknown condition reason {reason!r}; known: {', '.join(sorted(CONDITIONS))}") from None


def metric(name: str) -> MetricSignal:
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}") from None
