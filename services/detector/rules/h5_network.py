"""H5 network connectivity: a Service with no ready endpoint for `h5.endpoints_empty_for_s`; HTTP probes or
DNS lookups failing repeatedly (`h5.failures` within `h5.window_s`) or persistently (`h5.failing_for_s`);
probe_success low, network errors high or probes slower than `h5.probe_latency_s` (an upstream
degrading) for `h5.for_s`. Log signatures of connection failures (log
patterns) arrive as DNSFailure-like bursts under the same id.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold, Limits, MetricRule


def _endpoints_empty(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h5.endpoints_empty_for_s, severity="warning")


def _failing(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    h5 = cfg.h5
    return Hold(for_s=h5.failing_for_s, severity="warning", repeats=h5.failures, window_s=h5.window_s)


def _probe_success(cfg: RuleSettings) -> Limits:
    h5 = cfg.h5
    return Limits(h5.probe_success_below, h5.probe_success_below, h5.for_s, h5.resolve_for_s, "warning")


def _errors(cfg: RuleSettings) -> Limits:
    h5 = cfg.h5
    return Limits(h5.errors_per_s, h5.errors_per_s - h5.hysteresis, h5.for_s, h5.resolve_for_s, "warning")


def _probe_latency(cfg: RuleSettings) -> Limits:
    h5 = cfg.h5
    return Limits(h5.probe_latency_s, h5.probe_latency_s * 0.8, h5.for_s, h5.resolve_for_s, "warning")


RULES = (
    ConditionRule("H5", ("EndpointsEmpty",), _endpoints_empty),
    ConditionRule("H5", ("ProbeFailed",), _failing),
    ConditionRule("H5", ("DNSFailure",), _failing),
    MetricRule("H5", "probe_success", _probe_success, above=False, what="probe success"),
    MetricRule("H5", "network_errors_per_second", _errors, what="network errors per second"),
    MetricRule("H5", "probe_duration_seconds", _probe_latency, what="probe latency (s)"),
)
