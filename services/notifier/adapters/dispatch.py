"""Hand one notification to the channels it is routed to, skipping those it already reached, auditing each
delivery; and try each channel as hard as the delivery policy says (resilience.py): retries with backoff and
jitter, never sooner than the receiver's `Retry-After`, behind a circuit breaker per channel.

A channel that still fails raises Retryable after the others have been tried, so the message is redelivered
by JetStream and only the channels still owed get it again (the sent-log, keyed by notification and channel);
a channel that refuses for good (Permanent) is audited as failed and not tried again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from healer_common.clock import Clock
from healer_common.contract.messages import stable_id
from healer_common.contract.notifications import Notification
from healer_common.errors import Permanent, Retryable
from healer_common.runtime import metrics
from healer_common.runtime.leadership import check_acting
from healer_common.settings.notifier import DeliveryPolicy
from services.notifier.adapters.sent_log import SentLog
from services.notifier.channels.kind import Channel
from services.notifier.resilience import CircuitBreaker, breakers, jitter, retry_delay

Sleep = Callable[[float], Awaitable[None]]


class Audit(Protocol):
    """`Service.audit`: how each delivery is put on record."""

    async def __call__(
        self, action: str, decision: str, *, target: str, reason: str, incident_id: str | None,
        remediation_id: str | None, event_id: str, kind: str,
    ) -> object: ...  # fmt: skip


class Dispatcher:
    def __init__(
        self,
        channels: list[Channel],
        sent: SentLog,
        *,
        policy: DeliveryPolicy,
        clock: Clock,
        audit: Audit,
        log: Any,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = jitter,
    ) -> None:
        self._audit = audit
        self._log = log
        self._channels = {channel.name: channel for channel in channels}
        self._sent = sent
        self._policy = policy
        self._breakers: dict[str, CircuitBreaker] = breakers(policy, clock, list(self._channels))
        self._sleep = sleep
        self._rand = rand

    @property
    def names(self) -> list[str]:
        return list(self._channels)

    async def deliver(self, notification: Notification, to: Iterable[str] | None = None) -> list[str]:
        """Deliver to `to` (every channel when None); returns the channels that have it now."""
        failures, reached = [], []
        for name in self._channels if to is None else [n for n in self._channels if n in set(to)]:
            channel = self._channels[name]
            if not channel.wants(notification):
                continue
            done = await self._sent.outcome(notification.notification_id, name)
            if done is not None:
                reached += [name] if done == "delivered" else []
                continue
            try:
                check_acting()  # the incident is still this replica's to tell (a stalled one that woke up is not)
                await self._send(channel, notification)
            except Retryable as exc:
                failures.append((name, exc))
                continue
            except Permanent as exc:
                await self._record(notification, name, "failed", str(exc))
                continue
            await self._record(notification, name, "delivered", notification.title)
            reached.append(name)
        if failures:
            reasons = "; ".join(f"{name}: {exc}" for name, exc in failures)
            raise Retryable(reasons, delay=max(exc.delay for _, exc in failures))
        return reached

    async def _send(self, channel: Channel, notification: Notification) -> None:
        """Try one channel up to `attempts` times; a long wait is left to JetStream's redelivery."""
        breaker = self._breakers[channel.name]
        for attempt in range(1, self._policy.attempts + 1):
            if not breaker.allows():
                raise Retryable(f"circuit open after repeated failures of {channel.name}", delay=breaker.retry_in_s())
            try:
                await channel.send(notification)
            except Retryable as exc:
                breaker.failed()
                wait = retry_delay(self._policy, attempt, exc.delay, self._rand)
                if attempt == self._policy.attempts or wait > self._policy.max_wait_s:
                    raise Retryable(str(exc), delay=wait) from None
                self._log.info("delivery_retry", channel=channel.name, error=str(exc), retry_in_s=round(wait, 2))
                await self._sleep(wait)
            else:
                breaker.succeeded()
                return

    async def _record(self, notification: Notification, channel: str, decision: str, reason: str) -> None:
        """Mark the channel done for this notification (delivered or given up) and audit it."""
        await self._sent.mark(notification.notification_id, channel, decision)
        metrics.NOTIFICATIONS.labels(channel, decision).inc()
        await self._audit(
            "notify",
            decision,
            target=channel,
            reason=reason,
            incident_id=notification.incident_id,
            remediation_id=notification.remediation_id,
            event_id=stable_id(notification.notification_id, channel),
            kind=notification.kind,
        )
