"""memory-bridge's subscribers: outcomes, alerts, changes, incidents and metric samples in; answers,
predictions, H10 and the 5-minute rollups out; the sleep-time jobs on their cadence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ChangeEvent, Event, MetricBatchEvent
from healer_common.contract.incidents import Incident
from healer_common.contract.memory import (
    MEMORY_TYPES,
    MemoryAdd,
    MemoryAdded,
    MemoryAnswer,
    MemoryListing,
    MemoryListRequest,
    MemoryQuery,
    MemoryStats,
    MemoryStatsRequest,
    PredictionAnswer,
    PredictionRequest,
)
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import Remediation
from healer_common.contract.streams import (
    MEMORY_ALERTS,
    MEMORY_CHANGES,
    MEMORY_INCIDENTS,
    MEMORY_METRICS,
    MEMORY_REMEDIATIONS,
)
from healer_common.errors import HealerError
from healer_common.runtime import metrics
from healer_common.runtime.bus import Service
from healer_common.runtime.leadership import Leadership, elect
from services.memory_bridge.adapters.idle import IdleAnalysis
from services.memory_bridge.bridge import MemoryBridge
from services.memory_bridge.foresight import Foresight
from services.memory_bridge.occurrences import from_alert, from_change
from services.memory_bridge.outcomes import not_held_memory, outcome_memory
from services.memory_bridge.prediction import GENERATOR
from services.memory_bridge.rollups import RollupBook

T = TypeVar("T")


async def answering(work: Awaitable[T], failed: Callable[[str], T]) -> T:
    """A reply even when memory cannot answer: the error goes back to the asker instead of a timeout."""
    try:
        return await work
    except HealerError as exc:
        return failed(f"{type(exc).__name__}: {exc}")


async def learn_from(svc: Service, bridge: MemoryBridge, run: Remediation) -> None:
    """Remember a finished run (and the earlier fix it shows did not hold); if it worked, reinforce the
    memories it rested on (once, not on redelivery)."""
    lesson = not_held_memory(run)
    not_held = await bridge.remember(lesson) if lesson is not None else None
    added = await bridge.remember(outcome_memory(run))
    if added.deduplicated:
        return
    helped = run.state == "succeeded" and not run.dry_run
    reinforced = await bridge.reinforce(run.memory_ids) if helped else []
    await svc.audit(
        "remember_outcome",
        "recorded",
        target=str(run.target or ""),
        reason=f"{run.playbook} {run.state}",
        remediation_id=run.remediation_id,
        incident_id=run.incident_id,
        memory_id=added.memory_id,
        reinforced=",".join(r.memory_id for r in reinforced),
        did_not_hold=not_held.memory_id if not_held else "",
    )


async def announce(svc: Service, alerts: list[Alert]) -> None:
    """Publish H10s raised or resolved, and audit each raised one (a decision that others may act on)."""
    for alert in alerts:
        await svc.publish(alert)
        if alert.firing:
            await svc.audit(
                "predict",
                "raised",
                target=alert.labels.get("predicts", ""),
                reason=alert.annotations.get("summary", ""),
                event_id=stable_id(alert.event_id, "audit"),
                memory_id=alert.labels.get("pattern", ""),
                confidence=alert.annotations.get("confidence", ""),
            )


def register(svc: Service, bridge: MemoryBridge, foresight: Foresight, idle: IdleAnalysis) -> None:
    schedule = elect(svc, "memory/schedule")  # the sleep-time analysis and the look-ahead run in one place
    register_learning(svc, bridge, foresight, idle, schedule)
    # every replica folds the samples it is handed: the reader adds partial rollups of a bucket by their counts
    register_rollups(svc, RollupBook(svc.instance, grace_s=svc.settings.memory.rollup_grace_s))
    register_foresight(svc, foresight, schedule)
    register_answers(svc, bridge, foresight)


def register_learning(
    svc: Service, bridge: MemoryBridge, foresight: Foresight, idle: IdleAnalysis, schedule: Leadership
) -> None:
    """Outcomes in; incidents for knowing when the system is quiet; the idle-time analysis."""

    @svc.consume(MEMORY_REMEDIATIONS)
    async def on_remediation(run: Remediation) -> None:
        if run.final:
            await learn_from(svc, bridge, run)

    @svc.consume_batch(MEMORY_INCIDENTS, linger_s=svc.settings.memory.linger_s)
    async def on_incidents(incidents: list[Incident]) -> None:
        for incident in incidents:
            is_open = incident.state != "resolved"
            foresight.recent.incident(incident.incident_id, is_open=is_open, now=svc.clock.now())

    @svc.every(min(60.0, svc.settings.memory.analysis_idle_s))
    async def sleep_time() -> None:
        if schedule.leading and (job := idle.next_job(svc.clock.now())) is not None:
            report = await idle.run(job, svc.clock.now())
            await svc.audit(
                "analyze",
                "learned",
                target=job,
                reason=f"{job}: {report.insights_stored} insights ({report.insights_new} new) from "
                f"{report.counts.alerts} alerts and {report.counts.series} series since "
                f"{report.window_start:%Y-%m-%d %H:%M}",
                insights=report.insights_stored,
                new=report.insights_new,
            )


def register_rollups(svc: Service, book: RollupBook) -> None:
    """Metric samples in, folded into 5-minute rollups; each closed bucket out on the ROLLUPS stream."""

    @svc.consume(MEMORY_METRICS)
    async def on_metrics(event: Event) -> None:
        if isinstance(event, MetricBatchEvent):
            book.add(event.cluster, event.data.samples, event.time or svc.clock.now())

    @svc.every(30.0)
    async def publish_rollups() -> None:
        for batch in book.closed(svc.clock.now()):
            await svc.publish(batch)


def register_foresight(svc: Service, foresight: Foresight, schedule: Leadership) -> None:
    """Alerts and changes in as current conditions; H10s out; `healer.memory.predict` answered."""
    backend = foresight.bridge.backend.name

    @svc.consume_batch(MEMORY_ALERTS, linger_s=svc.settings.memory.linger_s)
    async def on_alerts(alerts: list[Alert]) -> None:
        seen = [from_alert(alert) for alert in alerts if alert.generator != GENERATOR]
        await announce(svc, await foresight.observe_many(seen))

    @svc.consume(MEMORY_CHANGES)
    async def on_change(change: ChangeEvent) -> None:
        await announce(svc, await foresight.observe(from_change(change, svc.clock.now())))

    @svc.every(30.0)
    async def look_ahead() -> None:
        if schedule.leading:
            await announce(svc, await foresight.tick())

    @svc.reply(svc.space.memory_predict)
    async def on_predict(request: PredictionRequest) -> PredictionAnswer:
        return await answering(_predictions(foresight, request), lambda e: PredictionAnswer(backend=backend, error=e))


def register_answers(svc: Service, bridge: MemoryBridge, foresight: Foresight) -> None:
    """`healer.memory.query`, `.add`, `.list` and `.stats`: always answered, with the error if need be."""
    backend = bridge.backend.name

    @svc.reply(svc.space.memory_query)
    async def on_query(question: MemoryQuery) -> MemoryAnswer:
        now = svc.clock.now()
        conditions = foresight.recent.current(now, namespace=question.namespace, cluster=question.cluster)
        with metrics.MEMORY_QUERY_SECONDS.time():
            return await answering(
                bridge.answer(question, conditions), lambda e: MemoryAnswer(backend=backend, error=e)
            )

    @svc.reply(svc.space.memory_add)
    async def on_add(item: MemoryAdd) -> MemoryAdded:
        added = await answering(bridge.remember(item), lambda e: MemoryAdded(memory_id="", error=e))
        if item.metadata.pattern is not None:
            foresight.forget_patterns()  # a new insight (the CronJob's analysis) predicts from now on
        return added

    @svc.reply(svc.space.memory_list)
    async def on_list(request: MemoryListRequest) -> MemoryListing:
        return await answering(bridge.listing(request), lambda e: MemoryListing(backend=backend, error=e))

    @svc.reply(svc.space.memory_stats)
    async def on_stats(request: MemoryStatsRequest) -> MemoryStats:
        del request
        return await answering(bridge.stats(), lambda e: MemoryStats(backend=backend, error=e))

    @svc.every(svc.settings.bus.heartbeat_interval_s)
    async def size() -> None:
        held = await bridge.stats()
        for kind in MEMORY_TYPES:
            metrics.MEMORY_RECORDS.labels(kind).set(held.by_type.get(kind, 0))


async def _predictions(foresight: Foresight, request: PredictionRequest) -> PredictionAnswer:
    found = await foresight.predictions(request)
    return PredictionAnswer(
        predictions=found, backend=foresight.bridge.backend.name, correlation_id=request.correlation_id
    )
