"""When an incident revision is worth telling people: `Incident.notify`, the correlator's call.

Alertmanager's timing, per incident:

- `group_wait`: a new incident is told only after this long, so the alerts that arrive together are told
  together (0 tells at once);
- `group_interval`: once told, a change (a new loud alert, one resolved or muted) is told at most this often;
- `repeat_interval`: an open incident nobody has heard about for this long, and that did not change, is
  told again.

Muted alerts (silenced or inhibited, muting.py) do not count: an incident whose firing alerts are all muted
is never told, and a muted alert joining changes nothing worth telling. A resolution is told at once to
those who were told of the incident, and never to those who were not. A revision that is not told now
leaves a `due` time, when the correlator's timer publishes a revision that is. Pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import AwareDatetime, BaseModel, ConfigDict

from healer_common.contract.incidents import Incident
from healer_common.contract.messages import stable_id


@dataclass(frozen=True)
class NotifyTiming:
    group_wait: dt.timedelta
    group_interval: dt.timedelta
    repeat_interval: dt.timedelta


class NotifyState(BaseModel):
    """What people have been told about one incident (kept beside it in Redis)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opened_at: AwareDatetime
    told_at: AwareDatetime | None = None
    told_digest: str | None = None


@dataclass(frozen=True)
class NotifyDecision:
    notify: bool
    state: NotifyState
    due: dt.datetime | None
    why: str


def loud_digest(incident: Incident) -> str:
    """What a notification would say: the firing alerts that are not muted."""
    return stable_id(*sorted(a.fingerprint for a in incident.firing_alerts if not a.muted))[:16]


def _quiet(incident: Incident) -> bool:
    return not any(not a.muted for a in incident.firing_alerts)


def decide(incident: Incident, state: NotifyState, timing: NotifyTiming, now: dt.datetime) -> NotifyDecision:
    if incident.state == "resolved":
        was_told = state.told_at is not None
        return NotifyDecision(was_told, state, None, "resolved" if was_told else "resolved before anyone was told")
    if _quiet(incident):
        return NotifyDecision(False, state, None, "every firing alert is muted")
    digest = loud_digest(incident)
    if state.told_at is None:
        due, why = state.opened_at + timing.group_wait, "group_wait"
    elif digest != state.told_digest:
        due, why = state.told_at + timing.group_interval, "group_interval"
    else:
        due, why = state.told_at + timing.repeat_interval, "repeat_interval"
    if now < due:
        return NotifyDecision(False, state, due, f"waiting for {why}")
    told = state.model_copy(update={"told_at": now, "told_digest": digest})
    return NotifyDecision(True, told, now + timing.repeat_interval, f"{why} over")
