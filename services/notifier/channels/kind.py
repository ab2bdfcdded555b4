"""What a channel module provides, so that catalogue.py can register it in one line.

A channel module (console.py, slack.py, teams.py ...) holds, for one outside system:

    <Name>Settings   its settings, `notifier.channels.<name>.*` (HEALER_NOTIFIER__CHANNELS__<NAME>__<FIELD>),
                     validated at the notifier's start; `ready()` says whether they are enough to deliver
    the channel      a class with `name`, `wants(notification)` and `send(notification)` (the `Channel` protocol)
    CHANNEL          a `ChannelKind`: the settings model, what to set to make it ready, and how to build it
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from healer_common.contract.notifications import Notification
from healer_common.runtime.bus import Service


class Channel(Protocol):
    """One delivery channel: Retryable from `send` means "try again later", Permanent "never accepted"."""

    name: str

    def wants(self, notification: Notification) -> bool: ...

    async def send(self, notification: Notification) -> None: ...


class ChannelSettings(BaseModel):
    """The base of a channel's settings: unknown keys are errors, so a typo fails at start with its path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def ready(self) -> bool:
        """Whether these settings are enough to deliver; a channel that is not ready is left out."""
        return True


@dataclass(frozen=True)
class ChannelContext:
    """What building a channel may use: the service (Redis, keys, clock, log, on_stop) and one shared HTTP
    client with the notifier's timeout."""

    service: Service
    http: httpx.AsyncClient
    timeout_s: float


S = TypeVar("S", bound=ChannelSettings)


@dataclass(frozen=True)
class ChannelKind(Generic[S]):
    settings: type[S]
    needs: str  # what to set before a route may name the channel: the "what to do" of a start-up error
    build: Callable[[S, ChannelContext], Channel]

    def make(self, settings: ChannelSettings, context: ChannelContext) -> Channel:
        """Build from settings validated against `self.settings` (catalogue.py did that)."""
        assert isinstance(settings, self.settings)
        return self.build(settings, context)
