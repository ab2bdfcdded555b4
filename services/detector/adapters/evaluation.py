"""Where the events of one partition meet the rules: loads the state an event needs, runs the pure engines,
publishes the alerts and saves what changed. partition_work.py holds one per partition the replica serves.

    condition events  -> held_conditions.py over the object's watches (watch_store.py, Redis); a PodDeleted
                         also ends the pod's series in thresholds.py, so nothing fires about a pod gone
    metric samples    -> thresholds.py over in-memory lanes (series.py, lanes.py), and predictions.py over
                         the trends of the series worth predicting, baselines.py over anomaly baselines;
                         their firing alerts in Redis
    log lines         -> log_signatures.py: templates mined per stream, bursts of failure signatures
    PR and agent pod  -> workflows.py over the task's workflow (workflow_facts.py, workflow_store.py, Redis):
    conditions           A1, A3, A4, A5
    the timer         -> all of them: the partition's due watches and any due workflows claimed from Redis, every
                         lane checked

What is learned in memory (`Engines`) is checkpointed whole with the partition's stream position, so a replay
after a takeover rebuilds it exactly. Watches live in Redis, outside the checkpoint, so each object's hash
remembers the stream sequence of the last event applied to it: a replayed condition event is applied to the
watches once. Alerts are published before watches are saved: a crash in between replays the event, which
raises the same alerts with the same ids (dropped as duplicates) and saves the watches then.

Workflows are not a partition's: a task's pull request and its agent pods are different objects, so their
events may be in different partitions, served by different replicas. They live in Redis shared by all (as
they did before partitions), folded under a per-process lock, and their timers are claimed by whichever
partition's tick comes first; a replayed event folds the same facts again, and its alerts carry the same ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ConditionEvent, LogEvent, MetricBatchEvent, MetricEvent, MetricSample
from healer_common.settings import DetectorSettings
from services.detector.adapters.series_alert_store import FiringSeriesAlerts
from services.detector.adapters.watch_store import Saved, WatchStore
from services.detector.adapters.workflow_store import WorkflowStore
from services.detector.anomaly_steps import StepMeans
from services.detector.baselines import BaselineEngine
from services.detector.held_conditions import ConditionCatalogue, Watch, due_at, object_key, on_condition, on_due
from services.detector.log_signatures import LogSignatures
from services.detector.predictions import Forecasts
from services.detector.rule_config import RuleBook
from services.detector.rules import METRIC_RULES
from services.detector.rules.model import WorkflowRule
from services.detector.series import SeriesIndex
from services.detector.thresholds import ThresholdEngine
from services.detector.workflow_facts import TaskWorkflow, fold, workflow_key
from services.detector.workflows import evaluate

POD_DELETED = "PodDeleted"  # the collector's word for a pod gone while in trouble (healer_common.contract.signals)
Publish = Callable[[list[Alert]], Awaitable[None]]


@dataclass
class Engines:
    """What one partition learns in memory, one set per partition: checkpointed whole (checkpoint.py)."""

    index: SeriesIndex
    thresholds: ThresholdEngine
    predictions: Forecasts
    baselines: BaselineEngine
    steps: StepMeans  # the baselines' clock: one mean per series per step
    logs: LogSignatures

    @classmethod
    def fresh(cls, cfg: DetectorSettings, book: RuleBook) -> Engines:
        index = SeriesIndex()
        return cls(
            index=index,
            thresholds=ThresholdEngine(METRIC_RULES, book, index, cfg.stale_after_s),
            predictions=Forecasts.build(METRIC_RULES, book, index, cfg),
            baselines=BaselineEngine(METRIC_RULES, index, cfg.anomaly),
            steps=StepMeans(cfg.anomaly.step_s),
            logs=LogSignatures(cfg.logs),
        )


class Evaluation:
    def __init__(
        self,
        *,
        catalogue: ConditionCatalogue,
        book: RuleBook,
        engines: Engines,
        watches: WatchStore,
        series_alerts: FiringSeriesAlerts,
        publish: Publish,
        workflows: WorkflowStore,
        workflow_rules: tuple[WorkflowRule, ...],
    ) -> None:
        self.catalogue = catalogue
        self.book = book
        self.engines = engines
        self.watches = watches
        self.series_alerts = series_alerts
        self.publish = publish
        self.wanted = dict.fromkeys((*engines.thresholds.by_metric, *engines.baselines.metrics), True)
        self.workflows = workflows
        self.workflow_rules = workflow_rules
        self.evaluated_at: dt.datetime | None = None  # the time the last timer run looked at

    async def conditions(self, events: list[tuple[ConditionEvent, int]], now: dt.datetime) -> bool:
        """Apply condition events in their order (each with its stream sequence): their objects' watches read
        in one round trip, each event applied to what the ones before it left, every alert published at once,
        then every object's watches saved at once. A storm's ten thousand conditions cost their judging, not
        two Redis round trips and a publish each. True when they raised alerts."""
        keys = list(dict.fromkeys(object_key(event.cluster, event.data.resource) for event, _ in events))
        held = {
            key: ({w.fingerprint: w for w in found}, applied)
            for key, (found, applied) in (await self.watches.of_objects(keys)).items()
        }
        raised: list[Alert] = []
        ended: list[Alert] = []
        changed: dict[str, dict[str, Watch | None]] = {}
        for event, seq in events:
            key = object_key(event.cluster, event.data.resource)
            watches, applied = held[key]
            if seq > applied:  # else a replay of an event these watches have already taken
                cfg = self.book.scope(event.cluster, event.data.resource.namespace)
                step = on_condition(event, list(watches.values()), self.catalogue, cfg, now)
                raised += step.alerts
                for fingerprint, watch in step.watches.items():
                    changed.setdefault(key, {})[fingerprint] = watch
                    if watch is None:
                        watches.pop(fingerprint, None)
                    else:
                        watches[fingerprint] = watch
                held[key] = (watches, seq)
            resource = event.data.resource
            if event.data.reason == POD_DELETED and resource.kind == "Pod" and resource.namespace:
                gone = self.engines.thresholds.end_pod(
                    event.cluster, resource.namespace, resource.name, event.time or now, now
                )
                raised += gone
                ended += gone
            if (workflow := workflow_key(event)) is not None:
                raised += await self._workflow(workflow, now, event.id, event)
        await self.publish(raised)
        await self.watches.save_many([self._saved(key, changes, held[key][1]) for key, changes in changed.items()])
        if ended:
            await self.series_alerts.record(ended)
        return bool(raised)

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

    async def metrics(self, event: MetricBatchEvent | MetricEvent, now: dt.datetime) -> bool:
        default_time = (event.time or now).timestamp()
        if isinstance(event, MetricEvent):
            data = event.data
            samples = [MetricSample(name=data.name, value=data.value, labels=data.labels, time=event.time)]
        else:
            samples = event.data.samples
        engines = self.engines
        batches = engines.index.batch(event.cluster, samples, default_time, self.wanted)
        alerts = engines.thresholds.observe(batches, now) + engines.predictions.observe(batches, now)
        scored = {m: b for m, b in batches.items() if m in engines.baselines.metrics}
        alerts += engines.baselines.observe(engines.steps.fold(scored), now) if scored else []
        if alerts:
            await self.publish(alerts)
            await self.series_alerts.record(alerts)
        return bool(alerts)

    async def log_line(self, event: LogEvent, now: dt.datetime) -> bool:
        alerts = self.engines.logs.observe(event, now)
        if alerts:
            await self.publish(alerts)
        return bool(alerts)

    async def tick(self, now: dt.datetime) -> bool:
        alerts = self.engines.thresholds.tick(now)
        if alerts:
            await self.publish(alerts)
            await self.series_alerts.record(alerts)
        logged = self.engines.logs.tick(now)
        await self.publish(logged)
        raised = bool(alerts or logged)
        for key, fingerprint in await self.watches.claim_due(now):
            watch = await self.watches.one(key, fingerprint)
            if watch is None:  # forgotten meanwhile: drop its timer too
                await self._save(key, {fingerprint: None})
                continue
            step = on_due(watch, self.catalogue, now)
            await self.publish(step.alerts)
            await self._save(key, step.watches or {fingerprint: watch})
            raised |= bool(step.alerts)
        for workflow in await self.workflows.claim_due(now):
            due = await self._workflow(workflow, now, f"due-{now.isoformat()}")
            await self.publish(due)
            raised |= bool(due)
        self.evaluated_at = now
        return raised

    async def _save(self, key: str, changes: dict[str, Watch | None], seq: int = 0) -> None:
        await self.watches.save_many([self._saved(key, changes, seq)])

    def _saved(self, key: str, changes: dict[str, Watch | None], seq: int) -> Saved:
        due = {fp: due_at(w, self.catalogue.flap) if w is not None else None for fp, w in changes.items()}
        return key, changes, due, seq
