"""The notifier's routing, escalation and delivery settings: the nested parts of `settings.NotifierSettings`.

They live apart from settings.py because they are a small language of their own (an Alertmanager-like route
tree, escalation levels) whose mistakes must be caught at load, naming the field and the reason, not when the
first incident arrives. The notifier's logic (services/notifier/routing.py, escalation.py) walks these models.

    receivers:   {oncall: [pagerduty, slack], chat: [slack, console]}
    route:
      receiver: chat                      # the root matches everything
      routes:
        - matchers: ['severity="critical"']
          receiver: oncall
          escalation: page
          continue: true                  # also try the next sibling
        - matchers: ['alertname=~"A[0-9]+"']
          receiver: workflow-issues
    escalations:
      page:
        levels: [{delay: 0, channels: [slack]}, {delay: 15m, channels: [pagerduty]}]
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from healer_common.matchers import Matcher

ChannelName = Literal["console", "webhook", "slack", "pagerduty", "github"]
CHANNEL_NAMES: tuple[ChannelName, ...] = ("console", "webhook", "slack", "pagerduty", "github")
DEFAULT_RECEIVER = "default"
"""The receiver that needs no declaring: every configured channel."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _matchers(value: object) -> object:
    """Matchers are written as strings in YAML and env; parse them here so a typo fails at load."""
    if isinstance(value, list):
        return [Matcher.parse(v) if isinstance(v, str) else v for v in value]
    return value


def duration_s(value: object) -> object:
    """`15m`, `30s`, `1h`, `2d` or plain seconds: the way people write delays in YAML."""
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found is None:
            raise ValueError(f"{value!r} is not a duration such as 90, 30s, 15m, 1h or 1d")
        number, unit = found.groups()
        return float(number) * _UNIT_S[unit or "s"]
    return value


Seconds = Annotated[float, BeforeValidator(duration_s), Field(ge=0)]


class Route(_Strict):
    """A node of the route tree below the root: matchers select, children refine, `continue` goes on."""

    matchers: Annotated[list[Matcher], BeforeValidator(_matchers)] = Field(default_factory=list)
    receiver: str | None = Field(None, description="receiver for what this node matches; the parent's when unset")
    escalation: str | None = Field(None, description="escalation policy; the parent's when unset")
    continue_: bool = Field(False, alias="continue", description="after a match, also try the next sibling")
    routes: list[Route] = Field(default_factory=list)


class RootRoute(_Strict):
    """The top of the route tree: matches every incident, and names what applies when no child does."""

    receiver: str = Field(DEFAULT_RECEIVER, description="receiver when no child route matches")
    escalation: str | None = Field(None, description="escalation policy when no child route names one")
    routes: list[Route] = Field(
        default_factory=list,
        description="child routes (matchers, receiver, escalation, continue, routes), tried in order",
    )


class EscalationLevel(_Strict):
    delay: Seconds = Field(description="time after the incident's first notification")
    channels: list[ChannelName] = Field(min_length=1)


class EscalationPolicy(_Strict):
    """Levels in order; each fires at its delay unless the incident was acknowledged or resolved first."""

    levels: list[EscalationLevel] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _in_order(cls, levels: list[EscalationLevel]) -> list[EscalationLevel]:
        for number, (before, after) in enumerate(itertools.pairwise(levels), start=2):
            if after.delay < before.delay:
                raise ValueError(
                    f"level {number} (delay {after.delay:g}s) comes before level {number - 1} "
                    f"(delay {before.delay:g}s); list levels by increasing delay"
                )
        return levels


class DeliveryPolicy(_Strict):
    """How hard a channel is tried before the message goes back to JetStream for a later redelivery."""

    attempts: int = Field(3, ge=1, le=20, description="tries per channel within one delivery of a message")
    backoff_s: float = Field(0.5, gt=0, description="first retry delay; doubles per try, with full jitter")
    backoff_max_s: float = Field(30.0, gt=0, description="longest wait between two tries")
    max_wait_s: float = Field(
        20.0, gt=0, description="longer waits (e.g. a long Retry-After) are left to a JetStream redelivery"
    )
    breaker_failures: int = Field(5, ge=1, description="consecutive failures that open a channel's circuit")
    breaker_open_s: float = Field(30.0, gt=0, description="how long an open circuit refuses before one trial")


NEEDS: dict[str, str] = {
    "console": "set HEALER_NOTIFIER__CONSOLE=true",
    "webhook": "set HEALER_NOTIFIER__WEBHOOK_URL",
    "slack": "set HEALER_NOTIFIER__SLACK_TOKEN or SLACK_WEBHOOK_URL",
    "pagerduty": "set PAGERDUTY_ROUTING_KEY",
    "github": "set GITHUB_TOKEN and HEALER_NOTIFIER__GITHUB_REPO",
}
"""What each channel needs before routes may name it: the 'what to do' of a load error."""


def route_problems(root: RootRoute, receivers: set[str], policies: set[str]) -> list[str]:
    """Every route that names a receiver or escalation policy that is not declared, with its path."""
    known = receivers | {DEFAULT_RECEIVER}
    problems: list[str] = []

    def check(where: str, receiver: str | None, escalation: str | None) -> None:
        if receiver is not None and receiver not in known:
            problems.append(f"{where}.receiver: no receiver named {receiver!r}; declared: {', '.join(sorted(known))}")
        if escalation is not None and escalation not in policies:
            choices = ", ".join(sorted(policies)) or "none (add them under notifier.escalations)"
            problems.append(f"{where}.escalation: no escalation policy named {escalation!r}; declared: {choices}")

    def walk(where: str, routes: list[Route]) -> None:
        for index, route in enumerate(routes):
            path = f"{where}.routes.{index}"
            check(path, route.receiver, route.escalation)
            walk(path, route.routes)

    check("notifier.route", root.receiver, root.escalation)
    walk("notifier.route", root.routes)
    return problems
