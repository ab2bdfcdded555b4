"""Hand one notification to every channel, skipping those it already reached, auditing each delivery.

A channel that fails for now raises Retryable after the others have been tried, so the message is redelivered
and only the channels still owed get it again; a channel that refuses for good (Permanent) is audited as
failed and not tried again.
"""

from __future__ import annotations

from typing import Protocol

from healer_common.bus import Service
from healer_common.errors import Permanent, Retryable
from healer_common.messages import stable_id
from healer_common.notifications import Notification
from services.notifier.sent_log import SentLog


class Channel(Protocol):
    name: str

    async def send(self, notification: Notification) -> None: ...


class Dispatcher:
    def __init__(self, svc: Service, channels: list[Channel], sent: SentLog) -> None:
        self._svc = svc
        self._channels = channels
        self._sent = sent

    async def deliver(self, notification: Notification) -> None:
        failures = []
        for channel in self._channels:
            if await self._sent.was_sent(notification.notification_id, channel.name):
                continue
            try:
                await channel.send(notification)
            except Retryable as exc:
                failures.append(f"{channel.name}: {exc}")
                continue
            except Permanent as exc:
                await self._record(notification, channel.name, "failed", str(exc))
                continue
            await self._record(notification, channel.name, "delivered", notification.title)
        if failures:
            raise Retryable("; ".join(failures), delay=2.0)

    async def _record(self, notification: Notification, channel: str, decision: str, reason: str) -> None:
        """Mark the channel done for this notification (delivered or given up) and audit it."""
        await self._sent.mark_sent(notification.notification_id, channel)
        await self._svc.audit(
            "notify",
            decision,
            target=channel,
            reason=reason,
            incident_id=notification.incident_id,
            remediation_id=notification.remediation_id,
            event_id=stable_id(notification.notification_id, channel),
            kind=notification.kind,
        )
