"""H4 image pull failures: ImagePullBackOff / ErrImagePull on a pod, repeated (`h4.repeats` within
`h4.window_s`) or still reported after `h4.for_s`; one alert per pod whichever of the two reasons comes.
A single transient pull error (a registry blip the kubelet's retry absorbs) stays quiet. Ready resolves.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold


def _pull_failure(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    h4 = cfg.h4
    return Hold(for_s=h4.for_s, severity="warning", repeats=h4.repeats, window_s=h4.window_s)


RULES = (ConditionRule("H4", ("ImagePullBackOff", "ErrImagePull"), _pull_failure),)
