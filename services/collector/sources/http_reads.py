"""Reading a JSON HTTP API the way the prometheus and loki sources need: polled every interval, each read
retried with backoff and jitter, honouring Retry-After, and failing with the decision the failure asks for.

    Unreachable   no useful answer after every try: connection refused, timeout, 5xx, 401. The source
                  reports it to its sight (sight.py), which says SourceUnreachable.
    Refused       the system answered, but no to this request: a bad query (400, 422), 403, or still rate
                  limited (429) after every try. The source is Degraded for that query; the others go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from healer_common.clock import Clock
from healer_common.settings.collector import RetrySettings
from services.collector.backoff import Backoff, stop_if_cancelled
from services.collector.outbox import Outbox
from services.collector.sight import SourceSight
from services.collector.sources.ratelimit import seconds_until

Enrich = Callable[[dict[str, str]], dict[str, str]]

MAX_RETRY_AFTER_S = 30.0


class Unreachable(Exception):
    """The system gave no useful answer after every try."""


class Refused(Exception):
    """The system answered no to this request; retrying it as it is will not help."""


def _problem(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        text = f"{body.get('errorType', 'error')}: {body['error']}"
    return f"HTTP {response.status_code}: {text[:300]}"


async def get_json(
    http: httpx.AsyncClient, path: str, params: dict[str, Any], retry: RetrySettings, clock: Clock
) -> Any:
    """GET `path` and return its JSON; raises Unreachable or Refused after `retry.attempts` tries."""
    backoff = Backoff(retry)
    error = "no attempt made"
    failure: type[Exception] = Unreachable
    for attempt in range(1, retry.attempts + 1):
        delay = None
        try:
            response = await http.get(path, params=params)
        except httpx.TransportError as exc:
            stop_if_cancelled()
            error, failure = f"{type(exc).__name__}: {exc}".strip(": "), Unreachable
        else:
            stop_if_cancelled()
            if response.status_code < 400:
                try:
                    return response.json()
                except ValueError:
                    raise Refused(f"HTTP {response.status_code}: the answer is not JSON") from None
            error = _problem(response)
            failure = Refused if response.status_code == 429 else Unreachable
            if 400 <= response.status_code < 500 and response.status_code not in (401, 429):
                raise Refused(error)
            delay = seconds_until(response.headers.get("retry-after"), clock.now())
        if attempt < retry.attempts:
            await asyncio.sleep(min(MAX_RETRY_AFTER_S, delay) if delay is not None else backoff.next())
    raise failure(error)


@dataclass(frozen=True)
class Polling:
    """One polled API and what its source reports through: retries, sight, outbox, topology, clock."""

    url: str
    retry: RetrySettings
    sight: SourceSight
    outbox: Outbox
    enrich: Enrich
    clock: Clock
    gone: Callable[[dict[str, str]], bool] = lambda _labels: False
    """Whether a sample's labels name a pod known deleted (topology.py): the prometheus source drops those."""

    async def get_json(self, http: httpx.AsyncClient, path: str, params: dict[str, Any]) -> Any:
        return await get_json(http, path, params, self.retry, self.clock)

    async def every(
        self, interval_s: float, timeout_s: float, read: Callable[[httpx.AsyncClient], Awaitable[None]]
    ) -> None:
        """Run `read` every `interval_s` on one client of the API, until cancelled."""
        async with httpx.AsyncClient(base_url=self.url.rstrip("/"), timeout=timeout_s) as http:
            while True:
                started = time.monotonic()
                await read(http)
                stop_if_cancelled()
                await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))
