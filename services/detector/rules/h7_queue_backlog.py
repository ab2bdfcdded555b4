"""H7 queue backlog: a job queue deeper than `h7.depth` for `h7.for_s`, or one that keeps growing: up by at
least `h7.min_growth` over `h7.growth_window_s` without a dip larger than `h7.growth_tolerance`. A queue
that drains resolves the growth alert; depth must fall `h7.hysteresis` below the threshold to clear.
"""

from __future__ import annotations

from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import Limits, MetricRule


def _depth(cfg: RuleSettings) -> Limits:
    h7 = cfg.h7
    return Limits(h7.depth, h7.depth - h7.hysteresis, h7.for_s, h7.resolve_for_s, "warning")


def _growth(cfg: RuleSettings) -> Limits:
    """For a growth check: threshold = growth needed, clear = tolerated dip, for_s = the window."""
    h7 = cfg.h7
    return Limits(h7.min_growth, h7.growth_tolerance, h7.growth_window_s, h7.resolve_for_s, "warning")


RULES = (
    MetricRule("H7", "queue_depth", _depth, what="queue depth"),
    MetricRule("H7", "queue_depth", _growth, check="growing", what="queue growth"),
)
