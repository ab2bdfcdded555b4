"""H6 database health: a connection pool at its limit or slow queries (p99 latency), held `h6.for_s`;
they must recover past `h6.hysteresis` for `h6.resolve_for_s` to resolve.
"""

from __future__ import annotations

from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import Limits, MetricRule


def _pool(cfg: RuleSettings) -> Limits:
    h6 = cfg.h6
    return Limits(h6.pool_usage_ratio, h6.pool_usage_ratio - h6.hysteresis, h6.for_s, h6.resolve_for_s, "critical")


def _latency(cfg: RuleSettings) -> Limits:
    h6 = cfg.h6
    clear = h6.slow_query_p99_s * (1 - h6.hysteresis)
    return Limits(h6.slow_query_p99_s, clear, h6.for_s, h6.resolve_for_s, "critical")


RULES = (
    MetricRule("H6", "db_connection_pool_usage_ratio", _pool, what="connection pool usage"),
    MetricRule("H6", "db_query_duration_p99_seconds", _latency, what="p99 query latency"),
)
