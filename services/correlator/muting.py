"""Silences and inhibition: which alerts of an incident are muted, and by what.

A muted alert stays in its incident and its history; it only stops counting towards notifications
(notify_timing.py). An alert is silenced by every active silence whose matchers all match its labels, and
inhibited by every firing source alert of an inhibition rule that matches it as a target with the rule's
`equal` labels the same on both (Alertmanager's inhibit_rules). An alert never inhibits itself. Pure: the
correlator hands in the silences, the rules and the cluster's firing source alerts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from healer_common.contract.incidents import AlertSummary
from healer_common.contract.matchers import InhibitionRule
from healer_common.contract.messages import Labels
from healer_common.contract.silences import Silence


def silenced_by(labels: Labels, silences: Sequence[Silence], now: dt.datetime) -> list[str]:
    return sorted(s.silence_id for s in silences if s.active(now) and s.matches(labels))


def inhibited_by(
    fingerprint: str, labels: Labels, rules: Sequence[InhibitionRule], sources: Mapping[str, Labels]
) -> list[str]:
    return sorted(
        f"{rule.name}: {source_fp}"
        for rule in rules
        for source_fp, source in sources.items()
        if source_fp != fingerprint and rule.inhibits(source, labels)
    )


def is_source(labels: Labels, rules: Sequence[InhibitionRule]) -> bool:
    """Whether a firing alert with these labels can mute others (the correlator keeps such alerts at hand)."""
    return any(rule.is_source(labels) for rule in rules)


def mute(
    alerts: Sequence[AlertSummary],
    silences: Sequence[Silence],
    rules: Sequence[InhibitionRule],
    sources: Mapping[str, Labels],
    now: dt.datetime,
) -> list[AlertSummary]:
    """The alerts with their `silenced_by` and `inhibited_by` as of now (only firing alerts are inhibited)."""
    return [_muted(alert, silences, rules, sources, now) for alert in alerts]


def _muted(
    alert: AlertSummary,
    silences: Sequence[Silence],
    rules: Sequence[InhibitionRule],
    sources: Mapping[str, Labels],
    now: dt.datetime,
) -> AlertSummary:
    silences_now = silenced_by(alert.labels, silences, now)
    inhibitors = inhibited_by(alert.fingerprint, alert.labels, rules, sources) if alert.status == "firing" else []
    if silences_now == alert.silenced_by and inhibitors == alert.inhibited_by:
        return alert
    return alert.model_copy(update={"silenced_by": silences_now, "inhibited_by": inhibitors})


def all_silenced(alerts: Sequence[AlertSummary]) -> bool:
    """An incident is silenced when it has firing alerts and a silence mutes every one of them."""
    firing = [a for a in alerts if a.status == "firing"]
    return bool(firing) and all(a.silenced_by for a in firing)
