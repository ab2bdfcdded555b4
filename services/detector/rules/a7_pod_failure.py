"""A7 pod failure: a pod Failed (or Evicted), or a container in CrashLoopBackOff. CrashLoopBackOff is
critical once the restarts summed over containers (labels.restarts) exceed `a7.crashloop_restarts`, a
warning before; a later report with more restarts escalates the firing alert. One alert per pod.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold


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


RULES = (ConditionRule("A7", ("CrashLoopBackOff", "Failed", "Evicted"), _pod_failure),)
