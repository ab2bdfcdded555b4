"""Running an analysis against the bus: read the window's history back from JetStream (alerts, changes,
remediations and metric samples), analyse it off the event loop, and teach memory what was found through
the caller's `remember` (memory-bridge's own bridge, or `healer.memory.add` for the CLI and the CronJob).

Series come from the ROLLUPS stream (5-minute summaries kept 8 weeks, so three weeks of history hold the
daily and weekly patterns); where it has none for the window (memory-bridge was not running), from the raw
metric events, read only up to `max_events` messages (the firehose, kept a day), the cap said in the log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

from healer_common.contract.alerts import Alert
from healer_common.contract.cloudevent_modes import decode_delivered
from healer_common.contract.codec import decode
from healer_common.contract.events import CHANGE_ADAPTER, EVENT_ADAPTER, MetricBatchEvent, MetricEvent
from healer_common.contract.memory import MemoryAdd, MemoryAdded
from healer_common.contract.remediations import Remediation
from healer_common.contract.rollups import RollupBatch
from healer_common.contract.streams import ALERTS, EVENTS, REMEDIATIONS, ROLLUPS
from healer_common.errors import InvalidMessage
from healer_common.logging import get_logger
from healer_common.runtime.busclient import BusClient
from healer_common.settings import MemorySettings
from services.memory_bridge.analysis.history import History
from services.memory_bridge.analysis.insights import insight_memories
from services.memory_bridge.analysis.report import AnalysisReport
from services.memory_bridge.analysis.sleep_time import ALL_SECTIONS, analyze

MAX_EVENTS = 500_000
Remember = Callable[[MemoryAdd], Awaitable[MemoryAdded]]
log = get_logger()


async def read_history(
    bus: BusClient, start: dt.datetime, end: dt.datetime, max_events: int = MAX_EVENTS, *, series: bool = True
) -> History:
    history = History(start, end)
    space = bus.space
    async for msg in bus.history(ALERTS, start, filter_subject=space.all_alerts):
        try:
            history.add_alert(decode(Alert, msg.data))
        except InvalidMessage:
            continue
    async for msg in bus.history(REMEDIATIONS, start, filter_subject=space.all_remediations):
        try:
            history.add_remediation(decode(Remediation, msg.data))
        except InvalidMessage:
            continue
    async for msg in bus.history(EVENTS, start, filter_subject=space.all_changes):
        try:
            history.add_change(decode(CHANGE_ADAPTER, msg.data), msg.stored_at or end)
        except InvalidMessage:
            continue
    if series and not await _read_rollups(bus, history, start):
        await _read_raw_metrics(bus, history, start, end, max_events)
    return history


async def _read_rollups(bus: BusClient, history: History, start: dt.datetime) -> bool:
    """The rollups of the window (stored since a bucket before it); whether there were any."""
    found = False
    async for msg in bus.history(ROLLUPS, start - dt.timedelta(minutes=10), filter_subject=bus.space.all_rollups):
        try:
            history.add_rollup(decode(RollupBatch, msg.data))
        except InvalidMessage:
            continue
        found = True
    return found


async def _read_raw_metrics(
    bus: BusClient, history: History, start: dt.datetime, end: dt.datetime, max_events: int
) -> None:
    space = bus.space
    seen = 0
    # an event sent without a partition is also in the stream as the detector's intake republished it, in its
    # partitions: once any partitioned copy is seen, only those count, so no sample is counted twice
    unpartitioned: list[tuple[MetricEvent | MetricBatchEvent, dt.datetime]] = []
    partitioned = False
    async for msg in bus.history(EVENTS, start, filter_subject=space.all_events, limit=max_events):
        seen += 1
        sent_as = next((value for name, value in msg.headers.items() if name.lower() == "ce-type"), "")
        if b"healer.metric" not in msg.data and not sent_as.startswith("healer.metric"):  # binary mode: a header
            continue
        try:
            event = decode_delivered(EVENT_ADAPTER, msg.headers, msg.data)
        except InvalidMessage:
            continue
        if not isinstance(event, MetricEvent | MetricBatchEvent):
            continue
        if space.partition_of(msg.subject) is None:
            unpartitioned.append((event, msg.stored_at or end))
        else:
            partitioned = True
            history.add_metrics(event, msg.stored_at or end)
    for event, at in [] if partitioned else unpartitioned:
        history.add_metrics(event, at)
    if seen >= max_events:
        log.warning("analysis_events_capped", read=seen, note="later metric samples in the window were not read")


async def learn(report: AnalysisReport, now: dt.datetime, remember: Remember) -> AnalysisReport:
    """Store the report's insights; the report then says how many there were and how many were new."""
    stored = new = 0
    for item in insight_memories(report, now):
        added = await remember(item)
        if added.error is None:
            stored += 1
            new += not added.deduplicated
    return report.model_copy(update={"insights_stored": stored, "insights_new": new})


async def run_analysis(
    bus: BusClient,
    settings: MemorySettings,
    start: dt.datetime,
    now: dt.datetime,
    remember: Remember | None,
    *,
    sections: frozenset[str] = ALL_SECTIONS,
) -> AnalysisReport:
    """Read, analyse (in a worker thread: it is CPU work) and, when `remember` is given, teach memory."""
    history = await read_history(bus, start, now, series=bool(sections & {"temporal", "exhaustion"}))
    report = await asyncio.to_thread(analyze, history, settings, now, sections)
    return report if remember is None else await learn(report, now, remember)
