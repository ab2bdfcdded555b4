"""H2 resource exhaustion: a node filesystem or PVC above its usage ratio (80 % by default), node CPU
saturated, a node under DiskPressure or PIDPressure; scheduling pressure (requests over a node's allocatable
above `h2.node_request_ratio`); a namespace using far more than it requested (`h2.namespace_request_ratio`)
or nearly all its ResourceQuota (`h2.quota_ratio`). Usage must stay above the threshold `h2.for_s` and fall
`h2.hysteresis` below it for `h2.resolve_for_s` to resolve, so a volume hovering at the line does not flap.
Predicted exhaustion (the trend) is raised under the same id with label predicted="true".

External APIs' budgets are resources too: a rate-limit quota nearly spent (`h2.ratelimit_remaining_below`) or
that at its recent rate runs out sooner than `h2.quota_exhausted_in_s` (before its window resets), a probe's
error budget below `h2.error_budget_below`, and an API answering 429 (`RateLimited`: its rate limit, not the
network, which H5 watches).
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold, Limits, MetricRule


def _usage(cfg: RuleSettings) -> Limits:
    h2 = cfg.h2
    return Limits(h2.usage_ratio, h2.usage_ratio - h2.hysteresis, h2.for_s, h2.resolve_for_s, "warning")


def _cpu(cfg: RuleSettings) -> Limits:
    h2 = cfg.h2
    return Limits(h2.cpu_ratio, h2.cpu_ratio - h2.hysteresis, h2.for_s, h2.resolve_for_s, "warning")


def _quota_runway(cfg: RuleSettings) -> Limits:
    """Fires when the quota runs out within the limit; clears once it lasts twice as long (or until its reset)."""
    h2 = cfg.h2
    return Limits(h2.quota_exhausted_in_s, h2.quota_exhausted_in_s * 2, 0.0, h2.resolve_for_s, "warning")


def _error_budget(cfg: RuleSettings) -> Limits:
    h2 = cfg.h2
    return Limits(h2.error_budget_below, h2.error_budget_below + h2.hysteresis, 0.0, h2.resolve_for_s, "warning")


def _rate_limited(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h2.rate_limited_for_s, severity="warning")


def _ratio(threshold: float, cfg: RuleSettings) -> Limits:
    h2 = cfg.h2
    return Limits(threshold, threshold - h2.hysteresis, h2.for_s, h2.resolve_for_s, "warning")


def _node_requests(cfg: RuleSettings) -> Limits:
    return _ratio(cfg.h2.node_request_ratio, cfg)


def _namespace_requests(cfg: RuleSettings) -> Limits:
    return _ratio(cfg.h2.namespace_request_ratio, cfg)


def _quota(cfg: RuleSettings) -> Limits:
    return _ratio(cfg.h2.quota_ratio, cfg)


def _ratelimit(cfg: RuleSettings) -> Limits:
    h2 = cfg.h2
    below = h2.ratelimit_remaining_below
    return Limits(below, below + h2.hysteresis, 0.0, h2.resolve_for_s, "warning")


def _pid_pressure(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h2.pid_pressure_for_s, severity="warning")


def _disk_pressure(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h2.disk_pressure_for_s, severity="warning")


RULES = (
    MetricRule("H2", "node_filesystem_usage_ratio", _usage, what="filesystem usage"),
    MetricRule("H2", "pvc_usage_ratio", _usage, what="PVC usage"),
    MetricRule("H2", "node_cpu_usage_ratio", _cpu, what="node CPU usage"),
    ConditionRule("H2", ("DiskPressure",), _disk_pressure),
    ConditionRule("H2", ("PIDPressure",), _pid_pressure),
    MetricRule("H2", "node_cpu_request_ratio", _node_requests, what="CPU requested over allocatable"),
    MetricRule("H2", "node_memory_request_ratio", _node_requests, what="memory requested over allocatable"),
    MetricRule("H2", "namespace_cpu_request_ratio", _namespace_requests, what="CPU used over requested"),
    MetricRule("H2", "namespace_memory_request_ratio", _namespace_requests, what="memory used over requested"),
    MetricRule("H2", "namespace_cpu_quota_ratio", _quota, what="CPU quota used"),
    MetricRule("H2", "namespace_memory_quota_ratio", _quota, what="memory quota used"),
    MetricRule("H2", "ratelimit_remaining_ratio", _ratelimit, above=False, what="rate-limit quota left"),
    MetricRule("H2", "ratelimit_exhausted_in_seconds", _quota_runway, above=False, what="time to quota exhaustion"),
    MetricRule("H2", "probe_error_budget_remaining_ratio", _error_budget, above=False, what="error budget left"),
    ConditionRule("H2", ("RateLimited",), _rate_limited),
)
