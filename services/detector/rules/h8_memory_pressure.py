"""H8 memory pressure: an OOMKilled container or a node under MemoryPressure (at once), or memory usage near
the limit (container working set over its limit, node memory) held `h8.for_s`, clearing `h8.hysteresis`
below the threshold after `h8.resolve_for_s`. The pod's Ready / the node's NodeHealthy resolve the former.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold, Limits, MetricRule


def _at_once(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data, cfg
    return Hold(for_s=0.0, severity="critical")


def _container(cfg: RuleSettings) -> Limits:
    h8 = cfg.h8
    ratio = h8.container_usage_ratio
    return Limits(ratio, ratio - h8.hysteresis, h8.for_s, h8.resolve_for_s, "warning")


def _node(cfg: RuleSettings) -> Limits:
    h8 = cfg.h8
    ratio = h8.node_usage_ratio
    return Limits(ratio, ratio - h8.hysteresis, h8.for_s, h8.resolve_for_s, "warning")


RULES = (
    ConditionRule("H8", ("OOMKilled",), _at_once),
    ConditionRule("H8", ("MemoryPressure",), _at_once),
    MetricRule("H8", "container_memory_usage_ratio", _container, what="container memory over limit"),
    MetricRule("H8", "node_memory_usage_ratio", _node, what="node memory usage"),
)
