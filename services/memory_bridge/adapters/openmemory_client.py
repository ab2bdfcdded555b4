"""HTTP to an OpenMemory server (openmemory.md §2, §8): `x-api-key`, JSON, a timeout, and retries with backoff
on connection errors, 429 (as long as `retry_after` says, within reason) and 502/503/504 and 500.

Failures become Healer's errors, named by what to do about them:

    401, 403, 503 auth_not_configured   ConfigError: the key (or the server's OM_API_KEY) is wrong; retrying
                                        cannot help, someone must fix the configuration
    400                                 Permanent: this request will never be accepted
    404                                 None: the memory does not exist (or no longer)
    still failing after the retries     Retryable: OpenMemory is down or overloaded; try again later

Used by openmemory_store.py only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from healer_common.errors import ConfigError, Permanent, Retryable
from healer_common.logging import get_logger

MAX_RETRY_AFTER_S = 30.0
TRANSIENT = frozenset({429, 500, 502, 503, 504})
Sleep = Callable[[float], Awaitable[None]]
log = get_logger()


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("err") or body)[:200]
    return str(body)[:200]


def _retry_after(response: httpx.Response, default: float) -> float:
    """OpenMemory says how long in the body (`retry_after`, seconds); proxies in the Retry-After header."""
    try:
        body = response.json()
        value = body.get("retry_after") if isinstance(body, dict) else None
    except ValueError:
        value = None
    value = value if value is not None else response.headers.get("retry-after")
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value))) if value is not None else default
    except (TypeError, ValueError):
        return default


class OpenMemoryClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout_s: float = 5.0,
        retries: int = 3,
        user_id: str | None = None,
        backoff_s: float = 0.5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        headers = {"content-type": "application/json"}
        if api_key:
            headers["x-api-key"] = api_key
        self.base_url = base_url.rstrip("/")
        self.user_id = user_id
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout_s)
        self._retries = retries
        self._backoff_s = backoff_s
        self._sleep = sleep

    async def close(self) -> None:
        await self._http.aclose()

    def _refused(self, response: httpx.Response) -> ConfigError:
        return ConfigError(
            f"OpenMemory at {self.base_url} refused Healer ({response.status_code} {_error_text(response)}); "
            "set OPENMEMORY_API_KEY to a key the server accepts (and OM_API_KEY on the server)",
            field="memory.openmemory_api_key",
        )

    async def call(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        """The JSON answer of one call, None on 404; raises as the module docstring says."""
        delay = self._backoff_s
        problem = ""
        for attempt in range(self._retries + 1):
            if attempt:
                log.warning("openmemory_retry", method=method, path=path, problem=problem, retry_in_s=delay)
                await self._sleep(delay)
                delay = min(delay * 2, MAX_RETRY_AFTER_S)
            try:
                response = await self._http.request(method, path, json=body, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            status = response.status_code
            if status < 300:
                return response.json()
            if status == 404:
                return None
            if status in (401, 403) or _error_text(response) == "auth_not_configured":
                raise self._refused(response)
            if status not in TRANSIENT:
                raise Permanent(f"OpenMemory refused {method} {path}: {status} {response.text[:300]}")
            problem = f"{status} {_error_text(response)}"
            if status == 429:
                delay = _retry_after(response, delay)
        raise Retryable(f"OpenMemory at {self.base_url} failed {method} {path} {self._retries + 1} times: {problem}")
