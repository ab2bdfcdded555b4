"""H0 observability gap: a collector source that cannot read its system leaves Healer blind there, which is
worth knowing before it hides anything else. Fires when SourceUnreachable holds `h0.for_s`; SourceHealthy
resolves it.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold


def _unreachable(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h0.for_s, severity="warning")


RULES = (ConditionRule("H0", ("SourceUnreachable",), _unreachable),)
