"""The optional push of Healer's alerts to the team's Alertmanager (`notifier.alertmanager_url`): every alert
as it fires or resolves, and the firing ones again every `alertmanager_resend_s` (alertmanager_push.py says why).
The firing set is kept in Redis, so replicas share it and a restart resends what still fires.

Alertmanager answers 200; 400 when it refuses an alert (given up: the dead letter says why); 5xx or no
answer is tried again (JetStream redelivers the alert; the next resend carries the firing set).
"""

from __future__ import annotations

from typing import Any

import httpx
from redis.asyncio import Redis

from healer_common.clock import Clock
from healer_common.contract.alerts import Alert
from healer_common.contract.codec import decode, encode
from healer_common.errors import Permanent, Retryable
from healer_common.runtime.state import KeySpace
from services.notifier.alertmanager_push import postable

API = "/api/v2/alerts"
BATCH = 500


class AlertmanagerPush:
    def __init__(
        self, url: str, http: httpx.AsyncClient, *, redis: Redis, keys: KeySpace, clock: Clock, resend_s: float
    ) -> None:
        self._url = url.rstrip("/") + API
        self._http = http
        self._redis = redis
        self._firing = keys("notifier", "alertmanager", "firing")
        self._clock = clock
        self._resend_s = resend_s

    async def take(self, alert: Alert) -> None:
        """Remember (or forget) the alert as firing, then post it."""
        if alert.firing:
            await self._redis.hset(self._firing, alert.fingerprint, encode(alert))
        else:
            await self._redis.hdel(self._firing, alert.fingerprint)
        await self._post([alert])

    async def resend(self) -> int:
        """Post every alert still firing again, so Alertmanager keeps it firing; returns how many."""
        stored = await self._redis.hvals(self._firing)
        firing = [decode(Alert, raw if isinstance(raw, bytes) else raw.encode()) for raw in stored]
        for start in range(0, len(firing), BATCH):
            await self._post(firing[start : start + BATCH])
        return len(firing)

    async def _post(self, alerts: list[Alert]) -> None:
        now = self._clock.now()
        body: list[dict[str, Any]] = [postable(alert, now, self._resend_s) for alert in alerts]
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise Retryable(f"alertmanager unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise Retryable(f"alertmanager answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise Permanent(f"alertmanager refused the alerts: HTTP {response.status_code} {response.text[:300]}")
