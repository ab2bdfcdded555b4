"""A9 stuck CodeRun: a CodeRun Pending or Running (labels.since) longer than `a9.for_s` (10 minutes).
Healer's own remediation CodeRuns (labels.run_type `remediate`, or label remediation=true) are exempt: they
are watched by the remediator. CodeRunFinished resolves.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold


def _non_terminal(data: ConditionData, cfg: RuleSettings) -> Hold | None:
    remediation = data.labels.get("remediation") == "true"
    if remediation or data.labels.get("run_type") in cfg.a9.except_run_types:
        return None
    return Hold(for_s=cfg.a9.for_s, severity="warning")


RULES = (
    ConditionRule(
        "A9", ("CodeRunPending", "CodeRunRunning"), _non_terminal, recoveries=("CodeRunFinished",), dated_by_since=True
    ),
)
