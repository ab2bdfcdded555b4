"""A7 pod failure: a pod Failed (or Evicted), or a container in CrashLoopBackOff. CrashLoopBackOff is
critical once the restarts summed over containers (labels.restarts) exceed `a7.crashloop_restarts`, a
warning before; a later report with more restarts escalates the firing alert. One alert per pod.

The restart rate (the seed's `restart_rate`): a container's restart count up by `a7.restarts_per_hour` (scaled
to `a7.restart_window_s`) within that window fires, a warning, whether or not the kubelet is backing off yet.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold, Limits, MetricRule


def _restarts(data: ConditionData) -> int:
    try:
        return int(data.labels.get("restarts", "0"))
    except ValueError:
        return 0


def _pod_failure(data: ConditionData, cfg: RuleSettings) -> Hold:
    if data.reason == "CrashLoopBackOff" and _restarts(data) <= cfg.a7.crashloop_restarts:
        return Hold(for_s=0.0, severity="warning")
    if data.reason == "Evicted":
        return Hold(for_s=0.0, severity="warning")
    return Hold(for_s=0.0, severity="critical")


def _restart_rate(cfg: RuleSettings) -> Limits:
    """A growth check: threshold = restarts within the window, clear = a dip tolerated (a counter never dips)."""
    a7 = cfg.a7
    restarts = a7.restarts_per_hour * a7.restart_window_s / 3600.0
    return Limits(restarts, 0.0, a7.restart_window_s, a7.restart_window_s, "warning")


RULES = (
    ConditionRule("A7", ("CrashLoopBackOff", "Failed", "Evicted"), _pod_failure),
    MetricRule("A7", "container_restarts", _restart_rate, check="growing", what="restarts"),
)
