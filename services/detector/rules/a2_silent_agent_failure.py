"""A2 silent agent failure: the pod is Running but a container is dead (non-zero exit, not ready, Ready /
ContainersReady false, restarts ≥ 3, terminated non-zero). The collector reports which in labels.method;
some methods must hold a while before they mean anything (not ready after 30 s, terminated for 60 s), which
`a2.method_for_s` says. Ready resolves.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold


def _dead_container(data: ConditionData, cfg: RuleSettings) -> Hold:
    a2 = cfg.a2
    method = data.labels.get("method", "")
    return Hold(for_s=a2.method_for_s.get(method, a2.for_s), severity="critical")


RULES = (ConditionRule("A2", ("ContainerNotReady",), _dead_container),)
