"""Composes the detector: settings -> rules and state -> handlers."""

from __future__ import annotations

from healer_common.bus import Service, run_service
from services.detector.alert_state import ActiveAlerts
from services.detector.conditions import ConditionRules
from services.detector.handlers import register


def setup(svc: Service) -> None:
    cfg = svc.settings.detector
    rules = ConditionRules(
        alert_for_reason=dict(cfg.condition_alerts), recovery_reasons=frozenset(cfg.recovery_reasons)
    )
    register(svc, rules, ActiveAlerts(svc.redis, svc.keys))


def main() -> None:
    run_service("detector", setup)
