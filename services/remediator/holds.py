"""Maintenance windows: whether a silence or an inhibition holds the remediator's hand right now.

A silence that holds remediation (the default; `--notify-only` makes one that does not) holds every action
on an incident whose primary alert it matches; an inhibited primary alert (a pod's alert while its node is
NotReady, a queue backlog while its database fails) is held too: healing the symptom while the cause is
being handled is how a maintenance window goes wrong. The reason names what holds it, for the audit ("held by
silence 3f2a...: scheduled maintenance (until 11:00 UTC)"). Pure: the caller reads silences from Redis and
the inhibitions from the incident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from healer_common.contract.messages import Labels
from healer_common.contract.silences import Silence


def hold_reason(
    silences: Sequence[Silence], labels: Labels, inhibited_by: Sequence[str], now: dt.datetime
) -> str | None:
    """Why acting on an alert with these labels must wait, or None when nothing holds it."""
    holding = sorted(
        (s for s in silences if s.hold_remediation and s.active(now) and s.matches(labels)), key=lambda s: s.ends_at
    )
    if holding:
        last = holding[-1]
        return f"held by silence {last.silence_id}: {last.reason} (until {last.ends_at:%Y-%m-%d %H:%M:%S} UTC)"
    if inhibited_by:
        return f"held by inhibition {inhibited_by[0]}: its source alert is firing"
    return None
