"""H2 resource exhaustion: a node filesystem or PVC above its usage ratio (80 % by default), node CPU
saturated, or a node under DiskPressure. Usage must stay above the threshold `h2.for_s` and fall
`h2.hysteresis` below it for `h2.resolve_for_s` to resolve, so a volume hovering at the line does not flap.
Predicted exhaustion (the trend) is raised under the same id with label predicted="true".

External APIs' budgets are resources too: a rate-limit quota that at its recent rate runs out sooner than
`h2.quota_exhausted_in_s` (before its window resets), a probe's error budget below `h2.error_budget_below`,
and an API answering 429 (`RateLimited`: its rate limit, not the network, which H5 watches).
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


def _quota(cfg: RuleSettings) -> Limits:
    """Fires when the quota runs out within the limit; clears once it lasts twice as long (or until its reset)."""
    h2 = cfg.h2
    return Limits(h2.quota_exhausted_in_s, h2.quota_exhausted_in_s * 2, 0.0, h2.resolve_for_s, "warning")


def _error_budget(cfg: RuleSettings) -> Limits:
    h2 = cfg.h2
    return Limits(h2.error_budget_below, h2.error_budget_below + h2.hysteresis, 0.0, h2.resolve_for_s, "warning")


def _rate_limited(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h2.rate_limited_for_s, severity="warning")


def _disk_pressure(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h2.disk_pressure_for_s, severity="warning")


RULES = (
    MetricRule("H2", "node_filesystem_usage_ratio", _usage, what="filesystem usage"),
    MetricRule("H2", "pvc_usage_ratio", _usage, what="PVC usage"),
    MetricRule("H2", "node_cpu_usage_ratio", _cpu, what="node CPU usage"),
    ConditionRule("H2", ("DiskPressure",), _disk_pressure),
    MetricRule("H2", "ratelimit_exhausted_in_seconds", _quota, above=False, what="seconds until the quota runs out"),
    MetricRule("H2", "probe_error_budget_remaining_ratio", _error_budget, above=False, what="error budget left"),
    ConditionRule("H2", ("RateLimited",), _rate_limited),
)
