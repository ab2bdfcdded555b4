"""H1 ArgoCD sync drift: an Application OutOfSync or Degraded for longer than its limit, dated from when the
status began (labels.since) so that a detector restart does not restart the clock. A failed sync operation
fires after `h1.sync_failed_for_s` (at once by default). Synced / Healthy resolve.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold


def _out_of_sync(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h1.out_of_sync_for_s, severity="warning")


def _degraded(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h1.degraded_for_s, severity="warning")


def _sync_failed(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h1.sync_failed_for_s, severity="warning")


RULES = (
    ConditionRule("H1", ("OutOfSync",), _out_of_sync, dated_by_since=True),
    ConditionRule("H1", ("Degraded",), _degraded, dated_by_since=True),
    ConditionRule("H1", ("SyncFailed",), _sync_failed, recoveries=("Synced",)),
)
