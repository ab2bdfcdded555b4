"""H9 node down: a node NotReady, its kubelet silent (Ready Unknown: it stopped posting status), its network
unavailable, or left cordoned (unschedulable) past `h9.unschedulable_for_s`. The first three are critical and
mute the alerts of the pods on that node (the correlator's default inhibition), so one incident names the
node instead of a page per pod. NodeReady resolves the first two (the node may still be cordoned), NodeHealthy
all of them.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold


def _not_ready(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h9.not_ready_for_s, severity="critical")


def _kubelet_stopped(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h9.kubelet_stopped_for_s, severity="critical")


def _network(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h9.network_unavailable_for_s, severity="critical")


def _cordoned(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h9.unschedulable_for_s, severity="warning")


RULES = (
    ConditionRule("H9", ("NotReady",), _not_ready),
    ConditionRule("H9", ("KubeletStopped",), _kubelet_stopped),
    ConditionRule("H9", ("NetworkUnavailable",), _network),
    ConditionRule("H9", ("Unschedulable",), _cordoned, dated_by_since=True),
)
