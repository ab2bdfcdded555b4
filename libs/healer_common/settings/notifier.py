"""The notifier's routing, escalation and delivery settings, and `NotifierSettings`, the section that holds
them with the channels' own settings (`notifier.channels.<name>`, kept raw here and validated at the notifier's
start against each channel's model, services/notifier/channels/catalogue.py: the channels are its plug-ins,
which this floor cannot see). The flat names of earlier releases are aliases (`CHANNEL_ALIASES`).

The routes and escalations are a small language of their own (an Alertmanager-like route
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
        - matchers: ['alert_id=~"A[0-9]+"']
          receiver: workflow-issues
    escalations:
      page:
        levels: [{delay: 0, channels: [slack]}, {delay: 15m, channels: [pagerduty]}]
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)

from healer_common.contract.matchers import Matcher
from healer_common.durations import Duration
from healer_common.settings.section import Section

DEFAULT_RECEIVER = "default"
"""The receiver that needs no declaring: every configured channel."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _matchers(value: object) -> object:
    """Matchers are written as strings in YAML and env; parse them here so a typo fails at load."""
    if isinstance(value, list):
        return [Matcher.parse(v) if isinstance(v, str) else v for v in value]
    return value


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
    delay: Duration = Field(description="time after the incident's first notification")
    channels: list[str] = Field(min_length=1)


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


CHANNEL_ALIASES: dict[str, tuple[str, str]] = {
    "console": ("console", "enabled"),
    "webhook_url": ("webhook", "url"),
    "webhook_secret": ("webhook", "secret"),
    "slack_webhook_url": ("slack", "webhook_url"),
    "slack_token": ("slack", "token"),
    "slack_channel": ("slack", "channel"),
    "slack_api_url": ("slack", "api_url"),
    "pagerduty_routing_key": ("pagerduty", "routing_key"),
    "pagerduty_events_url": ("pagerduty", "events_url"),
    "pagerduty_webhook_secret": ("pagerduty", "webhook_secret"),
    "github_token": ("github", "token"),
    "github_repo": ("github", "repo"),
    "github_api_url": ("github", "api_url"),
    "github_family_window_s": ("github", "family_window_s"),
}
"""The flat names channel settings had before `notifier.channels`, kept working: `notifier.<old name>` (and so
`HEALER_NOTIFIER__SLACK_TOKEN`) sets `notifier.channels.<channel>.<field>`. A channel added since has none."""

_SECRET_KEY = re.compile(r"(token|secret|password|routing_key|api_key|webhook_url)", re.IGNORECASE)
MASK = "**********"


def _from_aliases(data: object) -> object:
    """Move the old flat names into `channels`; where both are given, the old name wins (it is usually an
    environment variable, which wins over the YAML file where the new name would be)."""
    if not isinstance(data, dict) or not CHANNEL_ALIASES.keys() & data.keys():
        return data
    moved = {key: value for key, value in data.items() if key not in CHANNEL_ALIASES}
    channels = {name: dict(fields or {}) for name, fields in (data.get("channels") or {}).items()}
    for old, (channel, field) in CHANNEL_ALIASES.items():
        if old in data:
            channels.setdefault(channel, {})[field] = data[old]
    moved["channels"] = channels
    return moved


class NotifierSettings(Section):
    channels: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="each channel's settings (notifier.channels.<name>.<field>, listed below); the notifier "
        "validates them against the channel's own model at start",
    )
    smtp_host: str | None = Field(None, description="SMTP server for the daily digest; no digest while unset")
    smtp_port: int = Field(587, gt=0, le=65_535, description="SMTP port")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls on a plain port, tls from the first byte (465), or none (local relays)"
    )
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    digest_from: str = Field("healer@localhost", description="From: of the daily digest")
    digest_to: list[str] = Field(default_factory=list, description="recipients of the daily digest")
    digest_at: str = Field(
        "08:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="UTC time of day the digest of the 24 hours before goes out",
    )
    timeout_s: float = Field(5.0, gt=0, description="HTTP timeout per delivery attempt")
    receivers: dict[str, list[str]] = Field(
        default_factory=dict,
        description=f"named channel sets routes send to; '{DEFAULT_RECEIVER}' (every configured channel) needs none",
    )
    route: RootRoute = RootRoute()
    escalations: dict[str, EscalationPolicy] = Field(
        default_factory=dict, description="named escalation policies (levels with delay and channels) for routes"
    )
    escalation_tick_s: float = Field(5.0, gt=0, description="how often due escalation levels are looked for")
    alertmanager_url: str | None = Field(
        None,
        description="your Alertmanager (e.g. http://alertmanager:9093): every Healer alert is also posted to its "
        "/api/v2/alerts, as Prometheus does; off while unset",
    )
    alertmanager_resend_s: float = Field(
        60.0, gt=0, description="how often firing alerts are posted again; each is valid for 4 times this long"
    )
    delivery: DeliveryPolicy = DeliveryPolicy()

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: object) -> object:
        return _from_aliases(data)

    @model_validator(mode="after")
    def _routes_refer_to_what_exists(self) -> NotifierSettings:
        """A route naming a missing receiver or policy fails at load; channel names are the notifier's to check
        (services/notifier/channels/catalogue.py), since the channels are its plug-ins."""
        if problems := route_problems(self.route, set(self.receivers), set(self.escalations)):
            raise ValueError("; ".join(problems))
        return self

    @field_serializer("channels", mode="plain", when_used="json")
    def _masked(self, channels: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Secrets are shown masked (`healer config show`), as SecretStr fields are elsewhere."""
        return {
            name: {k: MASK if v is not None and _SECRET_KEY.search(k) else v for k, v in fields.items()}
            for name, fields in channels.items()
        }
