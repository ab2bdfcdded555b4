"""The table of notification channels: one line per channel module, in the order every notification tries
them. A channel's settings live under `notifier.channels.<name>` and are checked here, at the notifier's start,
against the channel's own model, with the field's path in the error; so are the channels that receivers and
escalation levels name. docs/notifier.md says what each channel does; docs/recipes/add-a-channel.md how to add one.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from healer_common.errors import ConfigError
from healer_common.settings import NotifierSettings
from services.notifier.channels import console, github, pagerduty, slack, teams, webhook
from services.notifier.channels.kind import Channel, ChannelContext, ChannelKind, ChannelSettings

CHANNELS: dict[str, ChannelKind[Any]] = {
    "console": console.CHANNEL,
    "webhook": webhook.CHANNEL,
    "slack": slack.CHANNEL,
    "pagerduty": pagerduty.CHANNEL,
    "github": github.CHANNEL,
    "teams": teams.CHANNEL,
}


def _reveal(value: Any) -> Any:
    """A SecretStr handed back by a settings round trip is read as its value; the model wraps it again."""
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


def channel_settings(cfg: NotifierSettings) -> dict[str, ChannelSettings]:
    """Every channel's settings, validated against its model (defaults where `notifier.channels` says nothing);
    ConfigError naming each bad field by its path, e.g. `notifier.channels.github.repo`."""
    problems = [
        f"notifier.channels.{name}: no such channel; channels are {', '.join(CHANNELS)}"
        for name in cfg.channels
        if name not in CHANNELS
    ]
    found: dict[str, ChannelSettings] = {}
    for name, kind in CHANNELS.items():
        raw = {key: _reveal(value) for key, value in (cfg.channels.get(name) or {}).items()}
        try:
            found[name] = kind.settings.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                where = ".".join(str(p) for p in err["loc"])
                problems.append(f"notifier.channels.{name}.{where}: {err['msg']}")
    if problems:
        raise ConfigError("; ".join(problems))
    return found


def ready_channels(cfg: NotifierSettings) -> dict[str, ChannelSettings]:
    """The channels whose settings are enough to deliver, in table order, once every name that receivers and
    escalation levels use is known to be one of them (ConfigError with the path and what to set otherwise)."""
    ready = {name: s for name, s in channel_settings(cfg).items() if s.ready()}
    named = [(f"receivers.{n}", c) for n, cs in cfg.receivers.items() for c in cs]
    named += [
        (f"escalations.{n}.levels.{i}.channels", c)
        for n, policy in cfg.escalations.items()
        for i, level in enumerate(policy.levels)
        for c in level.channels
    ]
    problems = [
        f"notifier.{where}: no channel named {channel!r}; channels are {', '.join(CHANNELS)}"
        if channel not in CHANNELS
        else f"notifier.{where}: channel {channel} is not configured ({CHANNELS[channel].needs})"
        for where, channel in named
        if channel not in ready
    ]
    if problems:
        raise ConfigError("; ".join(problems))
    return ready


def build_channels(ready: dict[str, ChannelSettings], context: ChannelContext) -> list[Channel]:
    return [CHANNELS[name].make(settings, context) for name, settings in ready.items()]
