"""The notifier's routing, escalation and delivery settings: and `NotifierSettings`, the
section that holds them with the channels' credentials.

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
        - matchers: ['alertname=~"A[0-9]+"']
          receiver: workflow-issues
    escalations:
      page:
        levels: [{delay: 0, channels: [slack]}, {delay: 15m, channels: [pagerduty]}]
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator, model_validator

from healer_common.contract.matchers import Matcher
from healer_common.durations import Duration
from healer_common.settings.section import Section

ChannelName = Literal["console", "webhook", "slack", "pagerduty", "github"]
CHANNEL_NAMES: tuple[ChannelName, ...] = ("console", "webhook", "slack", "pagerduty", "github")
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


class NotifierSettings(Section):
    console: bool = Field(True, description="print notifications on the notifier's standard output")
    webhook_url: str | None = Field(None, description="POST every notification as signed JSON to this URL")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for X-Healer-Signature")
    slack_webhook_url: SecretStr | None = Field(
        None, description="Slack incoming-webhook URL; posts without threads when no slack_token is set"
    )
    slack_token: SecretStr | None = Field(
        None, description="Slack bot token (xoxb-...): one thread per incident, its root message kept up to date"
    )
    slack_channel: str = Field("#healer", description="Slack channel (name or id) that incident threads go to")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")
    pagerduty_routing_key: SecretStr | None = Field(None, description="PagerDuty Events API v2 routing key")
    pagerduty_events_url: str = Field(
        "https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events API v2 endpoint"
    )
    pagerduty_webhook_secret: SecretStr | None = Field(
        None,
        description="secret of the PagerDuty v3 webhook subscription whose acknowledgements arrive on the "
        "notifier's POST /pagerduty/webhook; the endpoint refuses everything while unset",
    )
    github_token: SecretStr | None = Field(None, description="GitHub token for issues about workflow failures")
    github_repo: str | None = Field(
        None, pattern=r"^[\w.-]+/[\w.-]+$", description="owner/repo where agent-workflow failures become issues"
    )
    github_api_url: str = Field("https://api.github.com", description="GitHub REST API base URL")
    github_family_window_s: float = Field(
        1800.0, ge=0, description="an open issue of the same alert id younger than this gets a comment, not a twin"
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
    receivers: dict[str, list[ChannelName]] = Field(
        default_factory=dict,
        description=f"named channel sets routes send to; '{DEFAULT_RECEIVER}' (every configured channel) needs none",
    )
    route: RootRoute = RootRoute()
    escalations: dict[str, EscalationPolicy] = Field(
        default_factory=dict, description="named escalation policies (levels with delay and channels) for routes"
    )
    escalation_tick_s: float = Field(5.0, gt=0, description="how often due escalation levels are looked for")
    delivery: DeliveryPolicy = DeliveryPolicy()

    def configured_channels(self) -> list[ChannelName]:
        """The channels that have what they need to deliver, in CHANNEL_NAMES order."""
        ready: dict[ChannelName, bool] = {
            "console": self.console,
            "webhook": self.webhook_url is not None,
            "slack": self.slack_token is not None or self.slack_webhook_url is not None,
            "pagerduty": self.pagerduty_routing_key is not None,
            "github": self.github_token is not None and self.github_repo is not None,
        }
        return [name for name in CHANNEL_NAMES if ready[name]]

    @model_validator(mode="after")
    def _routes_refer_to_what_exists(self) -> NotifierSettings:
        """A route naming a missing receiver or policy, or a channel with no credentials, fails at load."""
        problems = [*route_problems(self.route, set(self.receivers), set(self.escalations))]
        usable = set(self.configured_channels())
        named = [(f"receivers.{n}", c) for n, cs in self.receivers.items() for c in cs]
        named += [
            (f"escalations.{n}.levels.{i}", c)
            for n, p in self.escalations.items()
            for i, level in enumerate(p.levels)
            for c in level.channels
        ]
        problems += [
            f"notifier.{where}: channel {channel} is not configured ({NEEDS[channel]})"
            for where, channel in named
            if channel not in usable
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self
