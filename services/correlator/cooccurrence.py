"""Which alerts travel together, learned from history: how often B fires within a window after A in the same
cluster, and how much more often than chance.

An alert's type is its catalogue id with its reason (`H8/MemoryPressure`, `H8/OOMKilled`, `H6`); an external
alert (`EXT`) goes by its own `alertname` (`KubePodCrashLooping`). For every
firing alert of type B at time t, each other type A last seen in [t - window, t] counts one "A then B".
With `count[T]` alerts of each type over an observed span, the link A -> B has

    support     pairs(A, B)                       how many B alerts had an A just before
    confidence  pairs(A, B) / count[B]            the share of B alerts preceded by an A
    chance      min(1, count[A] * window / span)  how likely any window holds an A at all
    lift        confidence / chance               how much more than chance

A strong link ranks A as a cause of B (causes.py) and lets a B join an open incident of A in the same
namespace (grouping.py). The counts live in Redis (link_store.py); this module is the arithmetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from healer_common.contract.messages import Labels


def alert_type(labels: Labels) -> str:
    alert_id = labels.get("alert_id")
    name = labels.get("alertname", "?") if alert_id in (None, "EXT") else alert_id  # alertname: a version 1 label set
    reason = labels.get("reason")
    return f"{name}/{reason}" if reason else name


def followed(last_seen: Mapping[str, dt.datetime], kind: str, at: dt.datetime, window: dt.timedelta) -> list[str]:
    """The types that fired within `window` before an alert of `kind` at `at`: one pair count each."""
    return sorted(other for other, seen in last_seen.items() if other != kind and at - window <= seen <= at)


@dataclass(frozen=True)
class Link:
    cause: str
    effect: str
    support: int
    confidence: float
    lift: float

    @property
    def strength(self) -> float:
        """0 for a link no better than chance, towards 1 for one that always holds and is rare otherwise."""
        return max(0.0, min(1.0, self.confidence * (1.0 - 1.0 / self.lift))) if self.lift > 0 else 0.0

    def describe(self, window: dt.timedelta) -> str:
        minutes = round(window.total_seconds() / 60)
        return (
            f"{self.cause} usually precedes {self.effect}: {self.support} of the {self.effect} alerts had "
            f"{self.cause} within {minutes} min before ({self.confidence:.0%}), {self.lift:.1f}x chance"
        )


@dataclass(frozen=True)
class LinkThresholds:
    min_support: int = 5
    min_confidence: float = 0.5
    min_lift: float = 3.0

    def trusted(self, link: Link | None) -> bool:
        """Enough history to rank causes by it."""
        return link is not None and link.support >= self.min_support and link.lift > 1.0

    def joins(self, link: Link | None) -> bool:
        """Strong enough to put B into A's incident."""
        return (
            self.trusted(link)
            and link is not None
            and link.confidence >= self.min_confidence
            and link.lift >= self.min_lift
        )


@dataclass(frozen=True)
class LinkStats:
    """The learned counts for some types, as read from the store."""

    window: dt.timedelta
    span: dt.timedelta
    counts: Mapping[str, int] = field(default_factory=dict)
    pairs: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def link(self, cause: str, effect: str) -> Link | None:
        support = self.pairs.get((cause, effect), 0)
        effects, causes = self.counts.get(effect, 0), self.counts.get(cause, 0)
        if support == 0 or effects == 0 or causes == 0:
            return None
        span_s = max(self.span.total_seconds(), self.window.total_seconds())
        chance = min(1.0, causes * self.window.total_seconds() / span_s)
        confidence = min(1.0, support / effects)
        return Link(cause, effect, support, confidence, confidence / chance)


NO_LINKS = LinkStats(window=dt.timedelta(minutes=10), span=dt.timedelta(0))
