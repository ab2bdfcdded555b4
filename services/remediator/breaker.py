"""The circuit breaker: when recent remediations mostly fail, Healer stops acting for a while, because an agent
that keeps failing is more likely making things worse than better.

It opens when, among the runs that ended within the window (and after the last time it closed), at least
`min_runs` ended and fewer than `min_success` of them succeeded. It stays open for `cooldown_s`; after that
only runs that end later count, so a few successes close it for good.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BreakerPolicy:
    window_s: float
    min_runs: int
    min_success: float
    cooldown_s: float


@dataclass(frozen=True)
class RunOutcome:
    time: dt.datetime
    succeeded: bool


@dataclass(frozen=True)
class BreakerVerdict:
    open: bool
    reason: str = ""
    opened_at: dt.datetime | None = None  # set when this verdict opens (or keeps open) the breaker


def judge(
    outcomes: Sequence[RunOutcome], opened_at: dt.datetime | None, now: dt.datetime, policy: BreakerPolicy
) -> BreakerVerdict:
    if opened_at is not None:
        reopens = opened_at + dt.timedelta(seconds=policy.cooldown_s)
        if now < reopens:
            left = (reopens - now).total_seconds()
            return BreakerVerdict(
                True, f"circuit breaker open since {opened_at:%H:%M:%S}Z; {left:.0f}s to go", opened_at
            )
    since = now - dt.timedelta(seconds=policy.window_s)
    if opened_at is not None:
        since = max(since, opened_at + dt.timedelta(seconds=policy.cooldown_s))
    counted = [o for o in outcomes if since <= o.time <= now]
    if len(counted) < policy.min_runs:
        return BreakerVerdict(False)
    rate = sum(o.succeeded for o in counted) / len(counted)
    if rate < policy.min_success:
        reason = (
            f"circuit breaker opened: {rate:.0%} of the last {len(counted)} remediations succeeded, "
            f"below {policy.min_success:.0%} (remediator.breaker_min_success)"
        )
        return BreakerVerdict(True, reason, now)
    return BreakerVerdict(False)
