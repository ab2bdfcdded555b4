"""The console channel of the embedded default: one readable line per notification on standard output."""

from __future__ import annotations

import sys
from typing import TextIO

from pydantic import Field

from healer_common.contract.notifications import Notification
from services.notifier.channels.kind import ChannelContext, ChannelKind, ChannelSettings

_MARK = {"critical": "!!", "warning": "! ", "info": "  "}


class ConsoleChannel:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout

    def wants(self, notification: Notification) -> bool:  # noqa: ARG002 - the console shows everything
        return True

    async def send(self, notification: Notification) -> None:
        when = notification.time.strftime("%H:%M:%S")
        self._stream.write(f"{when} {_MARK[notification.severity]} {notification.title} — {notification.text}\n")
        self._stream.flush()


class ConsoleSettings(ChannelSettings):
    enabled: bool = Field(True, description="print notifications on the notifier's standard output")

    def ready(self) -> bool:
        return self.enabled


def _build(settings: ConsoleSettings, context: ChannelContext) -> ConsoleChannel:  # noqa: ARG001 - needs neither
    return ConsoleChannel()


CHANNEL = ChannelKind(ConsoleSettings, needs="set HEALER_NOTIFIER__CHANNELS__CONSOLE__ENABLED=true", build=_build)
