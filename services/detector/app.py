"""Composes the detector: settings -> rules, state and engines -> handlers."""

from __future__ import annotations

import gc

from healer_common.runtime.bus import Service, run_service
from services.detector.adapters.baseline_store import BaselineStore
from services.detector.adapters.evaluation import Evaluation
from services.detector.adapters.series_alert_store import FiringSeriesAlerts
from services.detector.adapters.watch_store import WatchStore
from services.detector.adapters.workflow_store import WorkflowStore
from services.detector.anomaly_steps import StepMeans
from services.detector.baselines import BaselineEngine
from services.detector.handlers import register
from services.detector.held_conditions import ConditionCatalogue
from services.detector.log_signatures import LogSignatures
from services.detector.predictions import Forecasts
from services.detector.rule_config import RuleBook
from services.detector.rules import CONDITION_RULES, METRIC_RULES, WORKFLOW_RULES
from services.detector.series import SeriesIndex
from services.detector.thresholds import ThresholdEngine

BASELINE_SAVE_S = 60.0
GC_FREEZE_S = 10.0


async def freeze_long_lived() -> None:
    """Move what is alive now (the series index, lanes, baselines) out of the garbage collector's scans.

    The detector keeps hundreds of thousands of long-lived objects while each metric batch allocates
    thousands of short-lived ones; every full collection walked all the long-lived ones again, which cost a
    third of the throughput. Frozen objects are still freed by reference counting when they go.
    """
    gc.freeze()


def compose(svc: Service) -> Evaluation:
    """The detector on a service; returns its evaluation, which tests watch."""
    cfg = svc.settings.detector
    book = RuleBook(cfg)
    index = SeriesIndex()
    evaluation = Evaluation(
        catalogue=ConditionCatalogue.build(CONDITION_RULES, cfg),
        book=book,
        watches=WatchStore(svc.redis, svc.keys),
        thresholds=ThresholdEngine(METRIC_RULES, book, index, cfg.stale_after_s),
        predictions=Forecasts.build(METRIC_RULES, book, index, cfg),
        steps=StepMeans(cfg.anomaly.step_s),
        baselines=BaselineEngine(METRIC_RULES, index, cfg.anomaly),
        logs=LogSignatures(cfg.logs),
        series_alerts=FiringSeriesAlerts(svc.redis, svc.keys),
        baseline_store=BaselineStore(svc.redis, svc.keys),
        workflows=WorkflowStore(svc.redis, svc.keys),
        workflow_rules=WORKFLOW_RULES,
    )
    svc.on_start(evaluation.start)
    svc.on_stop(evaluation.save_baselines)
    svc.every(BASELINE_SAVE_S)(evaluation.save_baselines)
    svc.every(GC_FREEZE_S)(freeze_long_lived)
    register(svc, evaluation, cfg.tick_s)
    return evaluation


def setup(svc: Service) -> None:
    compose(svc)


def main() -> None:
    run_service("detector", setup)
