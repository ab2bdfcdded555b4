"""Hand one notification to the channels it is routed to, skipping those it already reached, auditing each
delivery; and try each channel as hard as the delivery policy says (resilience.py): retries with backoff and
jitter, never sooner than the receiver's `Retry-After`, behind a circuit breaker per channel.

A channel that still fails raises Retryable after the others have been tried, so the message is redelivered
by JetStream and only the channels still owed get it again (the sent-log, keyed by notification and channel);
a channel that refuses for good (Permanent) is audited as failed and not tried again.

`deliver_many` does the same for a batch: the sent-log read and written in one round trip each, the audit
records published at once, the notifications sent side by side (SEND_CONCURRENCY at a time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from healer_common.clock import Clock
from healer_common.contract.messages import stable_id
from healer_common.contract.notifications import Notification
from healer_common.errors import Permanent, Retryable
from healer_common.runtime import metrics
from healer_common.runtime.leadership import ACTING_UNDER, Term, check_acting
from healer_common.settings.notifier import DeliveryPolicy
from services.notifier.adapters.sent_log import SentLog
from services.notifier.channels.kind import Channel
from services.notifier.resilience import CircuitBreaker, breakers, jitter, retry_delay

Sleep = Callable[[float], Awaitable[None]]
AuditMany = Callable[[list[dict[str, Any]]], Awaitable[object]]
SEND_CONCURRENCY = 8
"""Sends in flight at once: enough to hide a receiver's latency; more only makes httpx's pool slower."""


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
        audit_many: AuditMany | None = None,
    ) -> None:
        self._audit = audit
        self._audit_many = audit_many
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
        (result,) = await self.deliver_many([(notification, to)])
        if isinstance(result, Retryable):
            raise result
        return result

    async def deliver_many(
        self, items: list[tuple[Notification, Iterable[str] | None]], under: Mapping[str, Term] | None = None
    ) -> list[list[str] | Retryable]:
        """`deliver` each, side by side: per notification the channels that have it now, or why to retry.

        Each send is checked against the lease its incident is told under: `under[incident id]` for a batch
        (incident_book.lock_many), else the one the caller holds (incident_book.lock)."""
        plans = [(note, self._wanted(note, to)) for note, to in items]
        pairs = [(note.notification_id, name) for note, names in plans for name in names]
        done = dict(zip(pairs, await self._sent.outcomes(pairs), strict=True))
        finished: list[tuple[Notification, str, str, str]] = []
        limit = asyncio.Semaphore(SEND_CONCURRENCY)

        async def one(note: Notification, names: list[str]) -> list[str] | Retryable:
            if under is not None and (term := under.get(note.incident_id or "")) is not None:
                ACTING_UNDER.set(term)  # this task's own context: gather runs each in a copy
            failures, reached = [], []
            for name in names:
                if (outcome := done[note.notification_id, name]) is not None:
                    reached += [name] if outcome == "delivered" else []
                    continue
                try:
                    async with limit:
                        check_acting()  # still this replica's to tell (a stalled one that woke up is not)
                        await self._send(self._channels[name], note)
                except Retryable as exc:
                    failures.append((name, exc))
                except Permanent as exc:
                    finished.append((note, name, "failed", str(exc)))
                else:
                    finished.append((note, name, "delivered", note.title))
                    reached.append(name)
            if failures:
                reasons = "; ".join(f"{name}: {exc}" for name, exc in failures)
                return Retryable(reasons, delay=max(exc.delay for _, exc in failures))
            return reached

        results = await asyncio.gather(*(one(note, names) for note, names in plans))
        await self._record(finished)
        return list(results)

    def _wanted(self, notification: Notification, to: Iterable[str] | None) -> list[str]:
        names = list(self._channels) if to is None else [n for n in self._channels if n in set(to)]
        return [n for n in names if self._channels[n].wants(notification)]

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

    async def _record(self, finished: list[tuple[Notification, str, str, str]]) -> None:
        """Mark each channel done for its notification (delivered or given up), count and audit it."""
        if not finished:
            return
        await self._sent.mark_many(
            [(note.notification_id, channel, decision) for note, channel, decision, _ in finished]
        )
        entries: list[dict[str, Any]] = [
            {
                "action": "notify",
                "decision": decision,
                "target": channel,
                "reason": reason,
                "incident_id": note.incident_id,
                "remediation_id": note.remediation_id,
                "event_id": stable_id(note.notification_id, channel),
                "kind": note.kind,
            }
            for note, channel, decision, reason in finished
        ]
        for _, channel, decision, _ in finished:
            metrics.NOTIFICATIONS.labels(channel, decision).inc()
        if self._audit_many is not None:
            await self._audit_many(entries)
            return
        for entry in entries:
            await self._audit(**entry)
