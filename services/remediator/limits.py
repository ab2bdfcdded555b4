"""Blast-radius limits as decisions over numbers and times (limit_store.py keeps those in Redis, shared by
every replica): a cluster-wide rate limit on actions, a cooldown per target, and a ceiling on remediations in
progress at once. Each answers None (go ahead) or the reason it refuses, which is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def rate_refusal(recent: Sequence[dt.datetime], now: dt.datetime, budget: int, window_s: float) -> str | None:
    """`recent` are the actions taken so far, this one included (it was reserved before asking)."""
    start = now - dt.timedelta(seconds=window_s)
    taken = sum(1 for t in recent if start < t <= now)
    if taken > budget:
        return (
            f"rate limit: {taken - 1} actions in the last {window_s:.0f}s already use the budget of {budget} "
            "(remediator.rate_limit)"
        )
    return None


def cooldown_refusal(target: str, last_acted: dt.datetime | None, now: dt.datetime, cooldown_s: float) -> str | None:
    if last_acted is None:
        return None
    left = (last_acted + dt.timedelta(seconds=cooldown_s) - now).total_seconds()
    if left > 0:
        ago = (now - last_acted).total_seconds()
        return f"cooldown: Healer acted on {target} {ago:.0f}s ago; it waits {left:.0f}s more (remediator.cooldown_s)"
    return None


class AtCeiling(str):
    """A refusal that passes once a run in progress ends: the problem waits its turn instead of being dropped."""

    __slots__ = ()


def concurrency_refusal(active: int, ceiling: int) -> AtCeiling | None:
    """`active` counts this run too (it was reserved before asking)."""
    if active > ceiling:
        return AtCeiling(
            f"{active - 1} remediations are in progress, the most allowed at once (remediator.max_concurrent)"
        )
    return None
