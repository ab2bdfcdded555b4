"""H3 certificate expiry: a certificate (cert-manager Certificate, TLS Secret or a probed endpoint) that
expires within `h3.warn_days`; critical within `h3.critical_days`. Renewal moves the expiry far past the
limit and resolves it; `h3.hysteresis_days` keeps an expiry hovering at the limit from flapping.

A rotated Secret (its data changed while pods that mount it still run on the old data) fires once that has
lasted `h3.rotated_for_s`; its consumers all restarted since (SecretConsumersCurrent) resolves it.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold, Limits, MetricRule

DAY_S = 86_400.0


def _expiry(cfg: RuleSettings) -> Limits:
    h3 = cfg.h3
    return Limits(
        threshold=h3.warn_days * DAY_S,
        clear=(h3.warn_days + h3.hysteresis_days) * DAY_S,
        for_s=0.0,
        resolve_for_s=0.0,
        severity="warning",
        critical=h3.critical_days * DAY_S,
    )


def _rotated(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h3.rotated_for_s, severity="warning")


RULES = (
    MetricRule("H3", "certificate_expiry_seconds", _expiry, above=False, what="expires in"),
    MetricRule("H3", "probe_tls_expiry_seconds", _expiry, above=False, what="expires in"),
    ConditionRule("H3", ("SecretRotated",), _rotated),
)
