"""The bounded context memory hands to the remediator, and through it to an agent's CodeRun: the top memories
summarised and the last alerts, never the whole history (the seed's "last 10 alerts, top memories").

A model or a person reading it gets the same few lines whether memory holds ten memories or a hundred
thousand; a memory of another agent says whose it is. Pure.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.memory import MemoryMatch, Recommendation
from healer_common.durations import format_duration
from services.memory_bridge.occurrences import Occurrence

MAX_MEMORIES = 5
MAX_ALERTS = 10
MAX_CHARS = 4_000
MAX_LINE = 300


def age(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago `since` was: `42s`, `5m`, `3h`, `2d` (its largest unit)."""
    return format_duration(max(0.0, (now - since).total_seconds()), parts=1)


def _verdict(match: MemoryMatch) -> str:
    success = match.record.metadata.success
    if match.record.metadata.pattern is not None:
        return "pattern"
    return {True: "worked", False: "failed", None: match.record.type}[success]


def _whose(match: MemoryMatch) -> str:
    """Another agent's memory says whose it is."""
    return f", from {match.shared_from}'s memory" if match.shared_from else ""


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def summarise(
    matches: list[MemoryMatch],
    recommendation: Recommendation | None,
    recent: list[Occurrence],
    now: dt.datetime,
) -> str:
    """A few lines: the recommendation, the top memories, the last alerts (newest first)."""
    lines: list[str] = []
    if recommendation is not None:
        lines.append(
            f"Recommended: {recommendation.method} (confidence {recommendation.confidence:.2f}, "
            f"{recommendation.successes} success(es), {recommendation.failures} failure(s))."
        )
    if matches:
        lines.append(f"Top memories ({min(len(matches), MAX_MEMORIES)} of {len(matches)}):")
        lines.extend(
            _clip(f"- [{_verdict(m)}, {age(m.record.created_at, now)} ago{_whose(m)}] {m.record.content}")
            for m in matches[:MAX_MEMORIES]
        )
    alerts = sorted((o for o in recent if not o.is_change), key=lambda o: o.time, reverse=True)
    if alerts:
        lines.append(f"Last alerts ({min(len(alerts), MAX_ALERTS)} of {len(alerts)}):")
        lines.extend(
            _clip(f"- {age(o.time, now)} ago {o.key} {'firing' if o.firing else 'resolved'}: {o.summary}")
            for o in alerts[:MAX_ALERTS]
        )
    text = "\n".join(lines)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
