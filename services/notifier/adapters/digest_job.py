"""Sends the daily digest once a day, whichever replica gets there first: a claim in Redis per day makes
the others stand back, and is released when sending fails so the next tick tries again. Called by the
notifier's periodic task; composition is digest.py, delivery channels/smtp.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from redis.asyncio import Redis

from healer_common.errors import Permanent, Retryable
from healer_common.runtime.state import KeySpace
from services.notifier import digest
from services.notifier.adapters.journal import Journal
from services.notifier.channels.smtp import SmtpServer, send_mail

CLAIM_S = 2 * 86_400


class DigestJob:
    def __init__(
        self,
        journal: Journal,
        *,
        redis: Redis,
        keys: KeySpace,
        server: SmtpServer,
        sender: str,
        recipients: list[str],
        at: str,
    ) -> None:
        self._journal = journal
        self._redis = redis
        self._keys = keys
        self._server = server
        self._sender = sender
        self._recipients = recipients
        self._at = at

    async def tick(self, now: dt.datetime, guard: Callable[[], object] = lambda: None) -> digest.Mail | None:
        """Send the digest if one is due and nobody sent it yet; returns what was sent. `guard` is asked last
        before sending (the leader's term: raises when this replica no longer runs the timers)."""
        window = digest.due_window(now, self._at)
        if window is None:
            return None
        day, start, end = window
        claim = self._keys("notifier", "digest", day.isoformat())
        if not await self._redis.set(claim, "sending", nx=True, ex=CLAIM_S):
            return None
        try:
            mail = digest.compose(await self._journal.between(start, end), start, end)
            guard()
            await send_mail(self._server, mail, self._sender, self._recipients)
        except Retryable:
            await self._redis.delete(claim)  # the server was down: the next tick tries again
            raise
        except Permanent:
            await self._redis.set(claim, "refused", ex=CLAIM_S)  # retrying cannot help until the config changes
            raise
        await self._redis.set(claim, "sent", ex=CLAIM_S)
        return mail
