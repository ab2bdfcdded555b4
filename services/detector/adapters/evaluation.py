"""Where events meet the rules: loads the state an event needs, runs the pure engines, saves what changed
and returns the alerts to publish. handlers.py calls it per event and on the timer; app.py builds it.

    condition events  -> held_conditions.py over the object's watches (watch_store.py, Redis); a PodDeleted
                         also ends the pod's series in thresholds.py, so nothing fires about a pod gone
    metric samples    -> thresholds.py over in-memory lanes (series.py, lanes.py), and predictions.py over
                         the trends of the series worth predicting, baselines.py over anomaly baselines;
                         their firing alerts in Redis
    log lines         -> log_signatures.py: templates mined per stream, bursts of failure signatures
    PR and agent pod  -> workflows.py over the task's workflow (workflow_facts.py, workflow_store.py, Redis):
    conditions           A1, A3, A4, A5
    the timer         -> all of them: due watches and workflows claimed from Redis, every lane checked at once
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ConditionEvent, LogEvent, MetricBatchEvent, MetricEvent, MetricSample
from services.detector.adapters.baseline_store import BaselineStore
from services.detector.adapters.series_alert_store import FiringSeriesAlerts
from services.detector.adapters.watch_store import WatchStore
from services.detector.adapters.workflow_store import WorkflowStore
from services.detector.anomaly_steps import StepMeans
from services.detector.baselines import BaselineEngine
from services.detector.held_conditions import ConditionCatalogue, Watch, due_at, object_key, on_condition, on_due
from services.detector.log_signatures import LogSignatures
from services.detector.predictions import Forecasts
from services.detector.rule_config import RuleBook
from services.detector.rules.model import WorkflowRule
from services.detector.thresholds import ThresholdEngine
from services.detector.workflow_facts import TaskWorkflow, fold, workflow_key
from services.detector.workflows import evaluate

POD_DELETED = "PodDeleted"  # the collector's word for a pod gone while in trouble (healer_common.contract.signals)


class Evaluation:
    def __init__(
        self,
        *,
        catalogue: ConditionCatalogue,
        book: RuleBook,
        watches: WatchStore,
        thresholds: ThresholdEngine,
        predictions: Forecasts,
        baselines: BaselineEngine,
        logs: LogSignatures,
        series_alerts: FiringSeriesAlerts,
        baseline_store: BaselineStore,
        workflows: WorkflowStore,
        workflow_rules: tuple[WorkflowRule, ...],
        steps: StepMeans,
    ) -> None:
        self.catalogue = catalogue
        self.book = book
        self.watches = watches
        self.thresholds = thresholds
        self.predictions = predictions
        self.baselines = baselines
        self.logs = logs
        self.wanted = dict.fromkeys((*thresholds.by_metric, *baselines.metrics), True)
        self.series_alerts = series_alerts
        self.baseline_store = baseline_store
        self.workflows = workflows
        self.workflow_rules = workflow_rules
        self.steps = steps  # the baselines' clock: one mean per series per step
        self.evaluated_at: dt.datetime | None = None  # the time the last timer run looked at

    async def start(self) -> None:
        firing = await self.series_alerts.load()
        self.thresholds.restore(firing)
        self.predictions.restore(firing)
        self.baselines.restore(await self.baseline_store.load())

    async def save_baselines(self) -> None:
        await self.baseline_store.save(self.baselines.snapshot())

    async def condition(self, event: ConditionEvent, now: dt.datetime) -> list[Alert]:
        key = object_key(event.cluster, event.data.resource)
        async with self.watches.locked(key):
            cfg = self.book.scope(event.cluster, event.data.resource.namespace)
            step = on_condition(event, await self.watches.of_object(key), self.catalogue, cfg, now)
            await self._save(key, step.watches)
        alerts = step.alerts
        resource = event.data.resource
        if event.data.reason == POD_DELETED and resource.kind == "Pod" and resource.namespace:
            ended = self.thresholds.end_pod(event.cluster, resource.namespace, resource.name, event.time or now, now)
            if ended:
                await self.series_alerts.record(ended)
            alerts = alerts + ended
        if (workflow := workflow_key(event)) is not None:
            alerts = alerts + await self._workflow(workflow, now, event.id, event)
        return alerts

    async def _workflow(
        self, key: str, now: dt.datetime, cause: str, event: ConditionEvent | None = None
    ) -> list[Alert]:
        """Fold the event into its agent workflow (or look again on its timer) and judge it."""
        async with self.workflows.locked(key):
            found = await self.workflows.get(key)
            if event is None and found is None:
                return []
            cluster = event.cluster if event is not None else key.split("/", 1)[0]
            workflow = found or TaskWorkflow(key=key, cluster=cluster)
            if event is not None:
                workflow = fold(workflow, event, now)
            pod = workflow.latest_pod()
            cfg = self.book.scope(workflow.cluster, pod.namespace if pod else None)
            step = evaluate(workflow, self.workflow_rules, cfg, now, cause)
            await self.workflows.save(key, step.workflow, step.due)
        return step.alerts

    async def metrics(self, event: MetricBatchEvent | MetricEvent, now: dt.datetime) -> list[Alert]:
        default_time = (event.time or now).timestamp()
        if isinstance(event, MetricEvent):
            data = event.data
            samples = [MetricSample(name=data.name, value=data.value, labels=data.labels, time=event.time)]
        else:
            samples = event.data.samples
        batches = self.thresholds.index.batch(event.cluster, samples, default_time, self.wanted)
        alerts = self.thresholds.observe(batches, now) + self.predictions.observe(batches, now)
        scored = {m: b for m, b in batches.items() if m in self.baselines.metrics}
        alerts += self.baselines.observe(self.steps.fold(scored), now) if scored else []
        if alerts:
            await self.series_alerts.record(alerts)
        return alerts

    def log_line(self, event: LogEvent, now: dt.datetime) -> list[Alert]:
        return self.logs.observe(event, now)

    async def tick(self, now: dt.datetime) -> list[Alert]:
        alerts = self.thresholds.tick(now)
        if alerts:
            await self.series_alerts.record(alerts)
        alerts += self.logs.tick(now)
        for key, fingerprint in await self.watches.claim_due(now):
            async with self.watches.locked(key):
                watch = await self.watches.one(key, fingerprint)
                if watch is None:  # forgotten meanwhile: drop its timer too
                    await self.watches.save(key, {fingerprint: None}, {})
                    continue
                step = on_due(watch, self.catalogue, now)
                await self._save(key, step.watches or {fingerprint: watch})
                alerts += step.alerts
        for key in await self.workflows.claim_due(now):
            alerts += await self._workflow(key, now, f"due-{now.isoformat()}")
        self.evaluated_at = now
        return alerts

    async def _save(self, key: str, changes: dict[str, Watch | None]) -> None:
        due = {fp: due_at(w, self.catalogue.flap) if w is not None else None for fp, w in changes.items()}
        await self.watches.save(key, changes, due)
