"""Composes the detector: settings -> rules, state and engines -> handlers."""

from __future__ import annotations

from healer_common.bus import Service, run_service
from services.detector.evaluation import Evaluation
from services.detector.handlers import register
from services.detector.held_conditions import ConditionCatalogue
from services.detector.rule_config import RuleBook
from services.detector.rules import CONDITION_RULES, METRIC_RULES
from services.detector.series import SeriesIndex
from services.detector.series_alert_store import FiringSeriesAlerts
from services.detector.thresholds import ThresholdEngine
from services.detector.watch_store import WatchStore


def compose(svc: Service) -> Evaluation:
    """The detector on a service; returns its evaluation, which tests watch."""
    cfg = svc.settings.detector
    book = RuleBook(cfg)
    evaluation = Evaluation(
        ConditionCatalogue.build(CONDITION_RULES, cfg),
        book,
        WatchStore(svc.redis, svc.keys),
        ThresholdEngine(METRIC_RULES, book, SeriesIndex(), cfg.stale_after_s),
        FiringSeriesAlerts(svc.redis, svc.keys),
    )
    svc.on_start(evaluation.start)
    register(svc, evaluation, cfg.tick_s)
    return evaluation


def setup(svc: Service) -> None:
    compose(svc)


def main() -> None:
    run_service("detector", setup)
