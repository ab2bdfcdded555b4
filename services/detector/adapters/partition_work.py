"""The detector's work on the parts of its input it serves (runtime/partitioned.py hands the parts out):

    a numbered partition  -> `DetectorPart`: one Evaluation (its own engines, its own timers) fed the partition's
                             events in stream order; its engines checkpointed (checkpoint.py)
    the intake            -> `Intake`: events published without a partition (your systems, the CLI), split and
                             republished into the partitions (contract/partitions.py); Alertmanager webhooks
                             made alerts, changes forwarded to `healer.changes.<cluster>`; nothing to keep

Built by `DetectorParts.build` (app.py installs it), which resumes a partition's engines from its checkpoint
or, when there is none it can use, starts them as a restarted detector would: alerts firing and baselines
from Redis.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable
from typing import Any

from healer_common.contract.alerts import Alert
from healer_common.contract.codec import encode
from healer_common.contract.events import (
    AlertmanagerWebhook,
    ChangeEvent,
    CloudEvent,
    ConditionEvent,
    LogEvent,
    MetricBatchEvent,
    MetricEvent,
)
from healer_common.contract.headers import event_headers
from healer_common.contract.partitions import event_key, split
from healer_common.runtime.bus import Service
from healer_common.runtime.leadership import Term
from healer_common.runtime.partition_worker import Delivered, PartWork
from healer_common.runtime.publishing import publish_raw_many
from healer_common.runtime.telemetry import carrying_trace, consuming, consuming_batch
from healer_common.settings import DetectorSettings
from services.detector.adapters import checkpoint
from services.detector.adapters.baseline_store import BaselineStore
from services.detector.adapters.evaluation import Engines, Evaluation
from services.detector.adapters.series_alert_store import FiringSeriesAlerts
from services.detector.adapters.watch_store import WatchStore
from services.detector.adapters.workflow_store import WorkflowStore
from services.detector.alertmanager import alerts_from_webhook
from services.detector.held_conditions import ConditionCatalogue
from services.detector.rule_config import RuleBook
from services.detector.rules import CONDITION_RULES, METRIC_RULES, WORKFLOW_RULES

INTAKE = "intake"
RaiseAlerts = Callable[[Term, list[Alert]], Awaitable[None]]


class DetectorPart:
    def __init__(
        self, evaluation: Evaluation, now: Callable[[], dt.datetime], version: str, cfg: DetectorSettings
    ) -> None:
        self.evaluation = evaluation
        self._now = now
        self._version = version
        self._cfg = cfg

    async def handle(self, items: list[Delivered]) -> bool:
        """In stream order; consecutive condition events together (Evaluation.conditions: a storm's conditions
        in a few round trips, not two each), every other event on its own."""
        published = False
        conditions: list[Delivered] = []
        for delivered in items:
            if isinstance(delivered.item, ConditionEvent):
                conditions.append(delivered)
                continue
            published |= await self._conditions(conditions)
            conditions = []
            with consuming(delivered.family, delivered.headers):
                published |= await self._one(delivered.item)
        return await self._conditions(conditions) or published

    async def _conditions(self, items: list[Delivered]) -> bool:
        if not items:
            return False
        with consuming_batch(items[0].family, [delivered.headers for delivered in items]):
            return await self.evaluation.conditions([(d.item, d.seq) for d in items], self._now())

    async def _one(self, event: Any) -> bool:
        now, evaluation = self._now(), self.evaluation
        match event:
            case MetricBatchEvent() | MetricEvent():
                return await evaluation.metrics(event, now)
            case LogEvent():
                return await evaluation.log_line(event, now)
        return False  # a change or a webhook published into a partition by hand: the intake's business

    async def tick(self) -> bool:
        return await self.evaluation.tick(self._now())

    def snapshot(self) -> bytes:
        return checkpoint.dump(self.evaluation.engines, self._version, self._cfg)


class Intake:
    def __init__(self, svc: Service, term: Term, raise_alerts: RaiseAlerts) -> None:
        self._svc = svc
        self._term = term
        self._raise = raise_alerts
        self._partitions = svc.settings.scale.partitions

    async def handle(self, items: list[Delivered]) -> bool:
        """What a run of deliveries asks is done together: webhooks raised in one publish (in order per
        fingerprint), events republished into their partitions in one (in order per object). A storm arrives as
        a hundred webhooks of a hundred alerts, or ten thousand events; one publish each, each waiting for its
        acknowledgement before the next, made the intake the storm's slowest step. A change, rare, goes after
        everything before it."""
        raising: list[Alert] = []
        parts: list[tuple[str, str, bytes, dict[str, str]]] = []
        published = False
        for delivered in items:
            with consuming(delivered.family, delivered.headers):
                match delivered.item:
                    case AlertmanagerWebhook():
                        raising += alerts_from_webhook(delivered.item, self._svc.clock.now())
                    case ChangeEvent():
                        published |= await self._flush(raising, parts)
                        raising, parts = [], []
                        self._term.check()
                        await self._svc.publish_event(self._svc.space.changes(delivered.item.cluster), delivered.item)
                        published = True
                    case CloudEvent():
                        parts += self._parts(delivered.subject, delivered.item)
        if not items:
            return published
        with consuming(items[-1].family, items[-1].headers):  # the batch's alerts continue its last trace
            return await self._flush(raising, parts) or published

    def _parts(self, subject: str, event: CloudEvent) -> list[tuple[str, str, bytes, dict[str, str]]]:
        space, found = self._svc.space, []
        for partition, part in split(event, self._partitions):
            target = space.in_partition(subject, partition)
            key = event_key(part) or target  # a metric batch's parts: in order per partition
            headers = carrying_trace(space.family(target), event_headers(space, target, part))
            found.append((key, target, encode(part), headers))
        return found

    async def _flush(self, alerts: list[Alert], parts: list[tuple[str, str, bytes, dict[str, str]]]) -> bool:
        self._term.check()
        if alerts:
            await self._raise(self._term, alerts)
        await publish_raw_many(self._svc, parts)
        return bool(alerts or parts)

    async def tick(self) -> bool:
        return False

    def snapshot(self) -> bytes:
        return b""


class DetectorParts:
    """Builds the work of each part this replica comes to serve; keeps the partitions' evaluations (tests and
    `healer status` look at them)."""

    def __init__(self, svc: Service, raise_alerts: RaiseAlerts) -> None:
        self.svc = svc
        self.cfg = partition_settings(svc.settings.detector, svc.settings.scale.partitions)
        self.book = RuleBook(self.cfg)
        self.catalogue = ConditionCatalogue.build(CONDITION_RULES, self.cfg)
        self.version = checkpoint.config_version(self.cfg)
        self.evaluations: dict[str, Evaluation] = {}
        self.workflows = WorkflowStore(svc.redis, svc.keys)  # shared by the partitions (evaluation.py says why)
        self._raise = raise_alerts

    async def build(self, part: str, state: bytes | None, term: Term) -> PartWork:
        if part == INTAKE:
            return Intake(self.svc, term, self._raise)
        svc = self.svc
        engines, why = checkpoint.load(state, self.cfg, self.book, METRIC_RULES) if state else (None, "none saved")
        firing = FiringSeriesAlerts(svc.redis, svc.keys)
        if engines is None:
            svc.log.info("partition_starting_afresh", partition=part, checkpoint=why)
            engines = Engines.fresh(self.cfg, self.book)
            alerts = await firing.load()
            engines.thresholds.restore(alerts)
            engines.predictions.restore(alerts)
            engines.baselines.restore(await BaselineStore(svc.redis, svc.keys).load())

        async def publish(alerts: list[Alert]) -> None:
            await self._raise(term, alerts)

        evaluation = Evaluation(
            catalogue=self.catalogue,
            book=self.book,
            engines=engines,
            watches=WatchStore(svc.redis, svc.keys, part),
            series_alerts=firing,
            publish=publish,
            workflows=self.workflows,
            workflow_rules=WORKFLOW_RULES,
        )
        self.evaluations[part] = evaluation
        return DetectorPart(evaluation, svc.clock.now, self.version, self.cfg)


def partition_settings(cfg: DetectorSettings, partitions: int) -> DetectorSettings:
    """The detector's settings as one partition applies them: its share of the anomaly baselines' budget."""
    share = math.ceil(cfg.anomaly.max_series / partitions)
    return cfg.model_copy(update={"anomaly": cfg.anomaly.model_copy(update={"max_series": share})})
