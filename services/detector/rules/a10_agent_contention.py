"""A10 agent contention: agents starve each other of CPU or memory on one node or in one namespace's quota, or
pods wait Pending behind agent pods. The remediator's agent coordination sees the live CodeRuns, their pods
and what they ask for, and reports `AgentContention` (on the Node or Namespace); held `a10.for_s`, it fires.
`AgentContentionCleared` resolves it.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold


def _contended(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.a10.for_s, severity="warning")


RULES = (ConditionRule("A10", ("AgentContention",), _contended, recoveries=("AgentContentionCleared",)),)
