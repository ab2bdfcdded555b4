"""Silences: "do not tell anyone about alerts matching these labels until then, because ...", and, for a
maintenance window, "and do not heal them either".

A silence is created by a person (`healer silence --duration 2h --reason "scheduled maintenance" node=n1`;
without matchers it covers the whole installation) and read by the correlator, which still records the
alerts it matches in their incidents but marks them silenced and never asks for a notification about them.
Unless it mutes notifications only (`hold_remediation: false`, `--notify-only`), the remediator holds every
action on what it matches, and audits "held by silence <id>". It ends on its own at `ends_at`, or earlier
when someone expires it. Kept in Redis (silence_store.py), where the CLI, every correlator and every
remediator replica see it.
"""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, Field, model_validator

from healer_common.contract.matchers import MatcherField, match_all
from healer_common.contract.messages import Frozen, Labels


class Silence(Frozen):
    silence_id: str = Field(min_length=1, max_length=64)
    matchers: list[MatcherField] = Field(
        default_factory=list, description="every matcher must match an alert's labels; none: every alert"
    )
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=1_024, description="why, for whoever wonders later")
    author: str = Field(min_length=1, max_length=128)
    created_at: AwareDatetime
    expired_by: str | None = Field(None, description="who ended it before its time, if anyone")
    hold_remediation: bool = Field(
        True, description="also hold remediation of what it matches (a maintenance window); false: mute only"
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Silence:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"ends_at {self.ends_at.isoformat()} must be after starts_at {self.starts_at.isoformat()}")
        return self

    def active(self, now: dt.datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Labels) -> bool:
        return match_all(self.matchers, labels)

    @property
    def scope(self) -> str:
        return " ".join(str(m) for m in self.matchers) or "everything"

    def describe(self) -> str:
        held = "" if self.hold_remediation else " (notifications only; healing goes on)"
        return f"{self.scope}{held} by {self.author}: {self.reason}"
