"""H11 control plane latency: the Kubernetes API's p99 request latency above `h11.apiserver_p99_s` for
`h11.for_s`. Everything that acts on the cluster (the remediator included) slows with it, so it is worth
knowing before a remediation times out. Resolves once fast again for `h11.resolve_for_s`.
"""

from __future__ import annotations

from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import Limits, MetricRule


def _latency(cfg: RuleSettings) -> Limits:
    h11 = cfg.h11
    return Limits(h11.apiserver_p99_s, h11.apiserver_p99_s * 0.9, h11.for_s, h11.resolve_for_s, "warning")


RULES = (MetricRule("H11", "apiserver_request_p99_seconds", _latency, what="API server p99 latency (s)"),)
