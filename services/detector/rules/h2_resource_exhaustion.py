"""H2 resource exhaustion: a node filesystem or PVC above its usage ratio (80 % by default), node CPU
saturated, or a node under DiskPressure. Usage must stay above the threshold `h2.for_s` and fall
`h2.hysteresis` below it for `h2.resolve_for_s` to resolve, so a volume hovering at the line does not flap.
Predicted exhaustion (the trend) is raised under the same id with label predicted="true".
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


def _disk_pressure(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h2.disk_pressure_for_s, severity="warning")


RULES = (
    MetricRule("H2", "node_filesystem_usage_ratio", _usage, what="filesystem usage"),
    MetricRule("H2", "pvc_usage_ratio", _usage, what="PVC usage"),
    MetricRule("H2", "node_cpu_usage_ratio", _cpu, what="node CPU usage"),
    ConditionRule("H2", ("DiskPressure",), _disk_pressure),
)
