"""The guard in front of every HTTP route that can make Healer act or change its state.

`Service.route(method, path, handler, scope=...)` wraps the handler with `Gate.guard(scope, ...)`: the caller
shows a bearer token or signs the request (contract/auth.py); without valid credentials it gets 401, with a
credential that lacks the scope 403, each with a one-line reason. Refusals are counted in
`healer_http_refused_total{service,route,status,reason}` and audited on `healer.audit.<service>` (at most
`auth.audit_refusals_per_minute`, the rest counted into the next record); the handler never runs, so nothing
reaches the bus. The principal that passed is `request["principal"]`: handlers take identities from it.

Credentials come from `auth.credentials` and `auth.credentials_file` (re-read when its modification time
changes, so a rotated Secret applies without a restart). Signed requests are remembered in Redis for twice
the replay window, so the same signature is accepted once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from healer_common.clock import Clock
from healer_common.contract.auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Credential,
    CredentialFile,
    Keyring,
    Principal,
    build_keyring,
    check_signature,
)
from healer_common.contract.codec import describe
from healer_common.errors import ConfigError, HealerError
from healer_common.logging import get_logger
from healer_common.runtime.httpserver import HTTP_REFUSED, request_body, route_of
from healer_common.runtime.state import KeySpace
from healer_common.settings import AuthSettings

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Audit = Callable[..., Awaitable[Any]]
RELOAD_EVERY_S = 1.0


def read_credentials_file(path: Path) -> list[Credential]:
    """The credentials in a file (none if it does not exist); raise ConfigError naming what is wrong."""
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text()) or {}
        return CredentialFile.model_validate(data).credentials
    except (yaml.YAMLError, OSError) as exc:
        raise ConfigError(f"cannot read credentials file {path}: {exc}", field="auth.credentials_file") from None
    except ValidationError as exc:
        raise ConfigError(f"credentials file {path}: {describe(exc)}", field="auth.credentials_file") from None


def all_credentials(settings: AuthSettings) -> list[Credential]:
    """Inline credentials first, then the file's."""
    path = settings.credentials_file
    return [*settings.credentials, *(read_credentials_file(path) if path is not None else [])]


def load_credentials(settings: AuthSettings) -> Keyring:
    """The keyring of inline credentials and the credentials file; raise ConfigError naming what is wrong."""
    return build_keyring(all_credentials(settings), settings.roles)


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime if path is not None else None
    except OSError:
        return None


class Gate:
    def __init__(
        self, service: str, settings: AuthSettings, *, redis: Redis, keys: KeySpace, audit: Audit, clock: Clock
    ) -> None:
        self._service = service
        self._settings = settings
        self._redis = redis
        self._keys = keys
        self._audit = audit
        self._clock = clock
        self._log = get_logger().bind(service=service)
        self._keyring: Keyring | None = None
        self._file_mtime: float | None = None
        self._checked_at = 0.0
        self._allowance = float(settings.audit_refusals_per_minute)
        self._allowance_at = time.monotonic()
        self._suppressed = 0
        self._audits: set[asyncio.Task[None]] = set()

    # credentials --------------------------------------------------------------------------------------------
    def keyring(self) -> Keyring:
        """The credentials in force; the file is re-read when it changed (a bad new file keeps the old ones)."""
        now = time.monotonic()
        if self._keyring is not None and now - self._checked_at < RELOAD_EVERY_S:
            return self._keyring
        self._checked_at = now
        mtime = _mtime(self._settings.credentials_file)
        if self._keyring is None or mtime != self._file_mtime:
            try:
                self._keyring = load_credentials(self._settings)
            except ConfigError as exc:
                if self._keyring is None:
                    raise
                self._log.error("credentials_not_reloaded", error=str(exc))
            else:
                self._file_mtime = mtime
                for problem in self._keyring.problems:
                    self._log.warning("credential_problem", problem=problem)
        return self._keyring

    def _nobody(self) -> str:
        where = self._settings.credentials_file
        return (
            f"no credentials are configured on {self._service}: write {where} (healer up does) or set "
            "auth.credentials; see docs/security.md"
        )

    # checking a request -------------------------------------------------------------------------------------
    async def authenticate(self, request: web.Request) -> Principal | tuple[int, str, str]:
        """The caller's principal, or (status, reason code, one-line reason) to refuse it with."""
        keyring = self.keyring()
        if keyring.empty:
            return 401, "no_credentials_configured", self._nobody()
        authorization = request.headers.get("Authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return 401, "bad_authorization", "Authorization must be 'Bearer <token>'"
            principal = keyring.bearer(token.strip())
            return principal or (401, "invalid_token", "the bearer token matches no credential")
        signature = request.headers.get(SIGNATURE_HEADER)
        if signature is None:
            return 401, "missing", f"send Authorization: Bearer <token>, or sign with {SIGNATURE_HEADER}"
        body = await request_body(request)  # within limits.body_bytes and body_timeout_s, kept for the route
        window = self._settings.replay_window_s
        verdict = check_signature(
            keyring,
            body,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=signature,
            now=self._clock.now(),
            window_s=window,
        )
        if verdict.principal is None:
            return 401, verdict.code, verdict.reason
        return await self._first_sighting(signature, window) or verdict.principal

    async def _first_sighting(self, signature: str, window_s: float) -> tuple[int, str, str] | None:
        """None the first time a signature is seen within the window; a refusal for a replay."""
        key = self._keys("auth", "seen", hashlib.sha256(signature.encode()).hexdigest()[:32])
        try:
            fresh = await self._redis.set(key, "1", nx=True, ex=int(window_s * 2) + 1)
        except (RedisError, OSError):
            return 503, "replay_check_unavailable", "cannot check for replays right now (Redis unreachable)"
        return None if fresh else (401, "replayed", "this signed request was seen before: a replay")

    def guard(self, scope: str, handler: RouteHandler) -> RouteHandler:
        """`handler`, run only for a caller whose credential grants `scope`."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            found = await self.authenticate(request)
            if not isinstance(found, Principal):
                return await self.refuse(request, *found)
            if not found.allows(scope):
                reason = f"credential {found.name!r} lacks scope {scope!r}"
                return await self.refuse(request, 403, "forbidden", reason, credential=found.name)
            request["principal"] = found
            return await handler(request)

        return guarded

    # refusing -----------------------------------------------------------------------------------------------
    async def refuse(
        self, request: web.Request, status: int, code: str, reason: str, credential: str | None = None
    ) -> web.Response:
        """Answer `status` with a one-line reason; count it, and audit it (within the allowance)."""
        route = route_of(request)
        HTTP_REFUSED.labels(self._service, route, str(status), code).inc()
        if self._may_audit():
            details = {"status": status, "remote": request.remote or "", "credential": credential}
            details["suppressed_before"], self._suppressed = self._suppressed, 0
            task = asyncio.create_task(self._record(f"{request.method} {route}", code, reason, details))
            self._audits.add(task)
            task.add_done_callback(self._audits.discard)
        else:
            self._suppressed += 1
        headers = {"WWW-Authenticate": 'Bearer realm="healer"'} if status == 401 else None
        return web.json_response({"error": reason}, status=status, headers=headers)

    async def _record(self, target: str, code: str, reason: str, details: dict[str, Any]) -> None:
        try:
            await self._audit("http_request", "refused", target=target, reason=f"{code}: {reason}", **details)
        except (HealerError, OSError, TimeoutError) as exc:  # NATS down past the publish deadline
            self._log.warning("refusal_not_audited", target=target, code=code, error=str(exc))

    def _may_audit(self) -> bool:
        rate = self._settings.audit_refusals_per_minute
        now = time.monotonic()
        self._allowance = min(float(rate), self._allowance + (now - self._allowance_at) * rate / 60.0)
        self._allowance_at = now
        if self._allowance < 1.0:
            return False
        self._allowance -= 1.0
        return True

    async def close(self) -> None:
        """Let refusals being audited finish (briefly), so a stopping service loses none it could send."""
        if self._audits:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await asyncio.gather(*self._audits, return_exceptions=True)


def principal_of(request: web.Request) -> Principal:
    """The principal the guard let through (a handler behind `Gate.guard` always has one)."""
    principal: Principal = request["principal"]
    return principal
