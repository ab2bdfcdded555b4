"""The detector's settings (`HEALER_DETECTOR__*`): one section per catalogue rule with its thresholds, `for`
durations and windows, and the overrides that change them per cluster and per namespace.

Defaults are those of the embedded run (`make run`), short enough that the sandbox's scenarios raise each of
H1..H8 within a few minutes; docs/detector.md's "Detector in production" lists the longer values a real cluster
wants. Durations end in `_s` (seconds) or `_minutes`/`_days` where that is the unit people think in.

Overrides (`detector.overrides`) are keyed by scope: `<cluster>`, `<cluster>/<namespace>` or `*/<namespace>`,
then by rule section, then by field, e.g. `{"prod": {"h2": {"usage_ratio": 0.9}}, "*/ci": {"h7": {"depth":
5000}}}`. The most specific scope wins (cluster/namespace, then */namespace, then cluster). They are checked
at start against the sections, so a misspelt field fails loudly.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from healer_common.contract.catalogue import log_signatures
from healer_common.settings.section import Section


class ObservabilityGap(Section):
    for_s: float = Field(30.0, ge=0, description="H0: a source unreachable this long raises an observability gap")


class SyncDrift(Section):
    out_of_sync_for_s: float = Field(
        120.0, ge=0, description="H1: an Application OutOfSync this long (since labels.since) fires; prod 600"
    )
    degraded_for_s: float = Field(120.0, ge=0, description="H1: an Application Degraded this long fires; prod 600")
    sync_failed_for_s: float = Field(0.0, ge=0, description="H1: a failed sync operation fires after this long")
    revision_age_s: float = Field(
        900.0, gt=0, description="H1: Git's revision ahead of the deployed one this long fires (git commit lag)"
    )
    helm_behind_for_s: float = Field(
        600.0, ge=0, description="H1: a Helm release behind its newest declared chart version this long fires"
    )
    config_drift_for_s: float = Field(
        60.0, ge=0, description="H1: a ConfigMap or Secret differing from its Git source this long fires"
    )


class ResourceExhaustion(Section):
    usage_ratio: float = Field(0.8, gt=0, le=1, description="H2: node filesystem or PVC usage above this fires")
    cpu_ratio: float = Field(0.95, gt=0, le=1, description="H2: node CPU usage above this fires")
    for_s: float = Field(60.0, ge=0, description="H2: how long usage must stay above its threshold; prod 300")
    resolve_for_s: float = Field(60.0, ge=0, description="H2: how long usage must stay below before resolving")
    hysteresis: float = Field(0.02, ge=0, description="H2: usage must fall this far below the threshold to clear")
    disk_pressure_for_s: float = Field(0.0, ge=0, description="H2: a node's DiskPressure held this long fires")
    quota_exhausted_in_s: float = Field(
        900.0, gt=0, description="H2: an API's rate-limit quota that runs out sooner than this at its rate fires"
    )
    error_budget_below: float = Field(
        0.25, ge=0, le=1, description="H2: a probe's error budget with less than this share left fires"
    )
    rate_limited_for_s: float = Field(0.0, ge=0, description="H2: an API answering 429 this long fires")
    pid_pressure_for_s: float = Field(0.0, ge=0, description="H2: a node's PIDPressure held this long fires")
    node_request_ratio: float = Field(
        0.9, gt=0, description="H2: requests over a node's allocatable CPU or memory above this (scheduling pressure)"
    )
    namespace_request_ratio: float = Field(
        1.5, gt=0, description="H2: a namespace using this many times the CPU or memory it requested fires"
    )
    quota_ratio: float = Field(0.9, gt=0, description="H2: a namespace's use of its ResourceQuota above this fires")
    ratelimit_remaining_below: float = Field(
        0.1, ge=0, le=1, description="H2: a probed API's rate-limit quota with less than this share left fires"
    )


class CertificateExpiry(Section):
    warn_days: float = Field(14.0, gt=0, description="H3: a certificate expiring within this many days fires")
    rotated_for_s: float = Field(
        30.0, ge=0, description="H3: pods still running on a rotated Secret's old data this long fire"
    )
    critical_days: float = Field(3.0, ge=0, description="H3: within this many days the alert is critical")
    hysteresis_days: float = Field(1.0, ge=0, description="H3: expiry must move this much past the limit to clear")


class ImagePull(Section):
    repeats: int = Field(2, ge=1, description="H4: this many pull failures of one pod within the window fire")
    window_s: float = Field(600.0, gt=0, description="H4: the window in which pull failures are counted")
    for_s: float = Field(60.0, ge=0, description="H4: a pull failure still reported after this long fires")


class Network(Section):
    endpoints_empty_for_s: float = Field(30.0, ge=0, description="H5: a Service without endpoints this long fires")
    failures: int = Field(3, ge=1, description="H5: this many probe or DNS failures within the window fire")
    window_s: float = Field(300.0, gt=0, description="H5: the window in which probe and DNS failures are counted")
    failing_for_s: float = Field(60.0, ge=0, description="H5: a probe or DNS failure persisting this long fires")
    probe_success_below: float = Field(0.5, ge=0, le=1, description="H5: probe_success below this is a failure")
    errors_per_s: float = Field(10.0, gt=0, description="H5: network errors per second above this fire")
    for_s: float = Field(60.0, ge=0, description="H5: how long a network metric must stay bad; prod 120")
    resolve_for_s: float = Field(30.0, ge=0, description="H5: how long a network metric must be good to resolve")
    hysteresis: float = Field(0.0, ge=0, description="H5: margin below the error threshold needed to clear")
    probe_latency_s: float = Field(2.0, gt=0, description="H5: an HTTP probe slower than this many seconds fires")


class Database(Section):
    pool_usage_ratio: float = Field(0.95, gt=0, le=1, description="H6: connection pool usage at or above this fires")
    slow_query_p99_s: float = Field(1.0, gt=0, description="H6: p99 query latency above this many seconds fires")
    for_s: float = Field(60.0, ge=0, description="H6: how long the pool or latency must stay bad; prod 120")
    resolve_for_s: float = Field(60.0, ge=0, description="H6: how long it must stay good before resolving")
    hysteresis: float = Field(0.02, ge=0, description="H6: margin below the threshold needed to clear")


class QueueBacklog(Section):
    depth: float = Field(1_000.0, gt=0, description="H7: a queue deeper than this fires")
    for_s: float = Field(60.0, ge=0, description="H7: how long the queue must stay deeper; prod 300")
    resolve_for_s: float = Field(60.0, ge=0, description="H7: how long it must stay shallower before resolving")
    hysteresis: float = Field(50.0, ge=0, description="H7: jobs below the threshold needed to clear")
    growth_window_s: float = Field(300.0, gt=0, description="H7: a queue still growing after this long fires")
    min_growth: float = Field(100.0, gt=0, description="H7: jobs added over the growth window to count as growing")
    growth_tolerance: float = Field(5.0, ge=0, description="H7: a dip smaller than this does not end growth")


class MemoryPressure(Section):
    container_usage_ratio: float = Field(0.9, gt=0, description="H8: container working set over limit above this")
    node_usage_ratio: float = Field(0.9, gt=0, le=1, description="H8: node memory usage above this fires")
    for_s: float = Field(60.0, ge=0, description="H8: how long memory usage must stay high; prod 120")
    resolve_for_s: float = Field(60.0, ge=0, description="H8: how long it must stay lower before resolving")
    hysteresis: float = Field(0.03, ge=0, description="H8: margin below the threshold needed to clear")


class NodeDown(Section):
    not_ready_for_s: float = Field(0.0, ge=0, description="H9: a node NotReady this long fires")
    kubelet_stopped_for_s: float = Field(0.0, ge=0, description="H9: a kubelet silent (Ready Unknown) this long fires")
    network_unavailable_for_s: float = Field(
        30.0, ge=0, description="H9: a node's NetworkUnavailable held this long fires"
    )
    unschedulable_for_s: float = Field(
        3600.0, ge=0, description="H9: a node left cordoned (unschedulable) this long fires, a warning"
    )


class ControlPlane(Section):
    apiserver_p99_s: float = Field(1.0, gt=0, description="H11: Kubernetes API p99 latency above this fires")
    for_s: float = Field(120.0, ge=0, description="H11: how long the API must stay slow")
    resolve_for_s: float = Field(60.0, ge=0, description="H11: how long it must be fast again before resolving")


class SilentAgentFailure(Section):
    for_s: float = Field(0.0, ge=0, description="A2: how long a dead container is tolerated by default")
    method_for_s: dict[str, float] = Field(
        default_factory=lambda: {"not_ready": 30.0, "conditions_false": 30.0, "terminated_non_zero": 60.0},
        description="A2: per detection method (labels.method), how long it must hold",
    )


class PodFailure(Section):
    crashloop_restarts: int = Field(
        3, ge=0, description="A7: CrashLoopBackOff is critical when restarts summed over containers exceed this"
    )
    restarts_per_hour: float = Field(
        12.0, gt=0, description="A7: a container restarting at this rate or faster (restart_rate) fires"
    )
    restart_window_s: float = Field(900.0, gt=0, description="A7: the window over which the restart rate is measured")


class StepTimeout(Section):
    step_minutes: dict[str, float] = Field(
        default_factory=lambda: {
            "implementation": 45.0,
            "quality": 15.0,
            "testing": 30.0,
            "security": 15.0,
            "integration": 20.0,
        },
        description="A8: the step limit of an agent pod, in minutes",
    )
    default_minutes: float = Field(60.0, gt=0, description="A8: the limit of a step not in step_minutes")
    agent_steps: dict[str, str] = Field(
        default_factory=lambda: {
            "rex": "implementation",
            "blaze": "implementation",
            "cleo": "quality",
            "tess": "testing",
            "cipher": "security",
            "atlas": "integration",
        },
        description="A8: agent name (found in labels.agent, any case) -> its workflow step",
    )


class AgentOrder(Section):
    order: list[list[str]] = Field(
        default_factory=lambda: [["rex", "blaze"], ["cleo"], ["tess"], ["cipher"], ["atlas"]],
        description="A1: the agents' order, each step's agents (names found in pod labels.agent and PR authors)",
    )
    grace_s: float = Field(
        60.0, ge=0, description="A1: a predecessor's comment this soon after the agent pod started still counts"
    )


class StaleProgress(Section):
    stale_after_s: float = Field(
        900.0, gt=0, description="A3: the PR's last commit older than this while an agent pod runs fires"
    )


class ApprovalLoop(Section):
    max_approvals: int = Field(2, ge=1, description="A4: more approval comments than this from one author fire")
    approval_pattern: str = Field(
        r"(?i)\b(approved|lgtm|ship it)\b|✅|:white_check_mark:|:\+1:",
        description="A4: a comment matching this is an approval (an APPROVED review always is)",
    )


class PostTessFailure(Section):
    approver: str = Field("tess", description="A5: the agent whose approval a failed check contradicts")


class AgentContention(Section):
    for_s: float = Field(30.0, ge=0, description="A10: agents contending for a node or namespace this long fires")


class StuckCodeRun(Section):
    for_s: float = Field(600.0, ge=0, description="A9: a CodeRun Pending or Running this long fires")
    except_run_types: list[str] = Field(
        default_factory=lambda: ["remediate"], description="A9: CodeRun run types never reported as stuck"
    )


EXHAUSTION_METRICS = [
    "pvc_usage_ratio",
    "node_filesystem_usage_ratio",
    "node_cpu_usage_ratio",
    "node_memory_usage_ratio",
    "container_memory_usage_ratio",
    "queue_depth",
]


class TrendSettings(Section):
    metrics: list[str] = Field(
        default_factory=lambda: list(EXHAUSTION_METRICS),
        description="metrics whose threshold crossing is predicted (under their rule's id, predicted=true)",
    )
    horizon_s: float = Field(1_800.0, gt=0, description="predict a crossing at most this far ahead")
    slot_s: float = Field(60.0, gt=0, description="a trend is re-fitted once per slot of this many seconds")
    window_slots: int = Field(60, ge=10, le=1_440, description="slots of history each trend fit uses")
    min_confidence: float = Field(
        0.7, ge=0, le=1, description="predict only when the crossing within the horizon is at least this likely"
    )
    profile_days: int = Field(
        2, ge=0, le=7, description="days of a series' daily profile the trend forecasts along (0: window only)"
    )
    profile_slot_s: float = Field(900.0, gt=0, description="the daily profile keeps one mean per slot of this length")
    shift_z: float = Field(
        5.0, gt=0, description="a step in the window, in noise sigmas, that is forecast as a level shift, not a ramp"
    )
    bend_z: float = Field(
        3.0, gt=0, description="curvature, in noise sigmas, that makes a rise levelling off forecast as one"
    )
    track_above: float = Field(
        0.5, ge=0, le=1, description="follow a series' trend once it is past this share of its threshold"
    )
    withdraw_after_slots: int = Field(
        3, ge=1, description="withdraw a prediction after this many fits in a row see no crossing"
    )
    select_margin: float = Field(
        0.1, ge=0, lt=1, description="a model replaces the window's own only when its recent error is this much lower"
    )
    error_scale: float = Field(
        2.0, gt=0, description="widens (above 1) or narrows the recent forecast errors the confidence is drawn from"
    )


class CapacitySettings(TrendSettings):
    """Capacity planning: requests against what the nodes and quotas offer, a day of 15-minute slots read along
    the daily profile (the seasonal trend of load), a crossing within 12 hours: a scale-up will be needed."""

    metrics: list[str] = Field(
        default_factory=lambda: [
            "node_cpu_request_ratio",
            "node_memory_request_ratio",
            "namespace_cpu_quota_ratio",
            "namespace_memory_quota_ratio",
        ],
        description="capacity planning: metrics whose crossing means a scale-up will be needed",
    )
    horizon_s: float = Field(12 * 3600.0, gt=0, description="capacity planning: predict this far ahead")
    slot_s: float = Field(900.0, gt=0, description="capacity planning: one fit per slot of this many seconds")
    window_slots: int = Field(96, ge=10, le=1_440, description="capacity planning: slots each fit uses (a day)")
    profile_days: int = Field(7, ge=0, le=7, description="capacity planning: days of the daily profile (seasonal)")
    withdraw_after_slots: int = Field(4, ge=1, description="capacity planning: fits without a crossing to withdraw")


class DegradationSettings(TrendSettings):
    """Dependency degradation: an upstream's latency decaying over days: a week of hourly slots, a crossing of
    its limit within 3 days."""

    metrics: list[str] = Field(
        default_factory=lambda: [
            "probe_duration_seconds",
            "db_query_duration_p99_seconds",
            "apiserver_request_p99_seconds",
        ],
        description="dependency degradation: latencies whose slow climb to their limit is predicted",
    )
    horizon_s: float = Field(3 * 86_400.0, gt=0, description="dependency degradation: predict this far ahead")
    slot_s: float = Field(3600.0, gt=0, description="dependency degradation: one fit per slot of this many seconds")
    window_slots: int = Field(168, ge=10, le=1_440, description="dependency degradation: slots each fit uses (a week)")
    profile_days: int = Field(
        0, ge=0, le=7, description="dependency degradation: no daily profile (a drift, not a cycle)"
    )
    withdraw_after_slots: int = Field(
        6, ge=1, description="dependency degradation: fits without a crossing to withdraw"
    )


class AnomalySettings(Section):
    metrics: list[str] = Field(
        default_factory=lambda: ["queue_depth", "db_query_duration_p99_seconds", "network_errors_per_second"],
        description="metrics scored against their learnt baseline (alerts under their rule's id, anomaly=true)",
    )
    max_series: int = Field(100, ge=0, description="at most this many series get a baseline (about 1 MB each)")
    step_s: float = Field(
        300.0, gt=0, description="the baseline takes one mean per series per step: its window is counted in time"
    )
    baseline_points: int = Field(
        4_032,
        ge=100,
        description="steps in the rolling baseline (4,032 of 5 minutes: two weeks), and of each detector's surprises",
    )
    shift_points: int = Field(48, ge=2, description="steps whose mean is judged for a level shift (4 h at 5 min)")
    seasonal_ratio: float = Field(
        0.3, gt=0, le=1, description="a series follows the clock when its day-ago differences spread this much less"
    )
    suppress_points: int = Field(100, ge=0, description="steps after an anomaly whose scores are damped")
    warmup: int = Field(150, ge=0, description="steps before anything scores (cold start: 12.5 hours at 5 minutes)")
    sigma: float = Field(2.0, gt=0, description="alert only at this many robust standard deviations or more")
    alert_score: float = Field(
        1.0, gt=0, le=1, description="alert when the anomaly score reaches this (1: a record for its detector)"
    )
    resolve_for_s: float = Field(600.0, ge=0, description="an anomaly alert resolves after this long without one")


class LogSettings(Section):
    similarity: float = Field(0.75, gt=0, le=1, description="Drain: how alike a line must be to join a template")
    depth: int = Field(4, ge=3, le=8, description="Drain: a template's leading words that route a line (depth - 2)")
    variable_after: int = Field(
        4, ge=2, description="words one position of otherwise equal templates takes before it counts as a value"
    )
    burst_count: int = Field(5, ge=1, description="lines of one failure signature within the window that fire")
    window_s: float = Field(60.0, gt=0, description="the window in which a signature's lines are counted")
    quiet_s: float = Field(300.0, gt=0, description="a signature silent this long resolves its alert")
    max_streams: int = Field(200, ge=1, description="log streams (by app, pod or namespace) mined at once")
    signatures: dict[str, str] = Field(
        default_factory=log_signatures,
        description="catalogue id -> pattern a template must match to be that alert's failure signature",
    )


class RuleSettings(Section):
    """One section per rule; `detector.overrides` refers to them by these names."""

    h0: ObservabilityGap = ObservabilityGap()
    h1: SyncDrift = SyncDrift()
    h2: ResourceExhaustion = ResourceExhaustion()
    h3: CertificateExpiry = CertificateExpiry()
    h4: ImagePull = ImagePull()
    h5: Network = Network()
    h6: Database = Database()
    h7: QueueBacklog = QueueBacklog()
    h8: MemoryPressure = MemoryPressure()
    h9: NodeDown = NodeDown()
    h11: ControlPlane = ControlPlane()
    a2: SilentAgentFailure = SilentAgentFailure()
    a7: PodFailure = PodFailure()
    a8: StepTimeout = StepTimeout()
    a9: StuckCodeRun = StuckCodeRun()
    a1: AgentOrder = AgentOrder()
    a3: StaleProgress = StaleProgress()
    a4: ApprovalLoop = ApprovalLoop()
    a5: PostTessFailure = PostTessFailure()
    a10: AgentContention = AgentContention()

    def with_overrides(self, changes: dict[str, dict[str, Any]]) -> Self:
        """These sections with some fields changed, validated (a bad field or value raises ValueError)."""
        data = self.model_dump()
        for section, fields in changes.items():
            if section not in data:
                raise ValueError(f"no rule section {section!r}; sections are {', '.join(data)}")
            data[section] = {**data[section], **fields}
        return type(self).model_validate(data)


class DetectorSettings(Section):
    recovery_reasons: list[str] = Field(
        default_factory=lambda: ["Ready", "Running", "Healthy", "Recovered", "Resolved", "Succeeded", "PodDeleted"],
        description="condition reasons that resolve alerts raised by earlier conditions on the same resource",
    )
    condition_alerts: dict[str, str] = Field(
        default_factory=lambda: {"Error": "A7", "CertificateExpiring": "H3"},
        description="extra condition reason -> catalogue id, fired at once (the rules handle the vocabulary's)",
    )
    tick_s: float = Field(1.0, gt=0, description="how often held conditions and series are evaluated on a timer")
    flap_window_s: float = Field(600.0, ge=0, description="an alert firing again this soon after resolving is flapping")
    flap_hold_s: float = Field(
        60.0, ge=0, description="a flapping alert resolves only after its recovery held this long"
    )
    stale_after_s: float = Field(
        600.0, gt=0, description="a series silent this long is forgotten and its alerts resolve"
    )
    rules: RuleSettings = RuleSettings()
    trend: TrendSettings = TrendSettings()
    capacity: CapacitySettings = CapacitySettings()
    degradation: DegradationSettings = DegradationSettings()
    anomaly: AnomalySettings = AnomalySettings()
    logs: LogSettings = LogSettings()
    overrides: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict,
        description="per cluster, cluster/namespace or */namespace: rule section -> field -> value",
    )

    @model_validator(mode="after")
    def _overrides_name_real_fields(self) -> Self:
        for scope, changes in self.overrides.items():
            try:
                self.rules.with_overrides(changes)
            except ValueError as exc:
                raise ValueError(f"detector.overrides[{scope!r}]: {exc}") from None
        return self
