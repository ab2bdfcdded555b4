"""The only place a broker is built: a faststream NATS broker with Healer's connection options (jetstream.py
turns the settings into servers, credentials, nkeys and TLS, shared with the CLI's bus client)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.security import NatsCredentials, NatsSecurity, NatsToken

from healer_common.runtime.jetstream import nats_options
from healer_common.settings import NatsSettings, Settings


def _security(cfg: NatsSettings) -> NatsSecurity | None:
    """The same, in faststream's words (it takes credentials and TLS as one `security` object)."""
    options = nats_options(cfg)
    context = options["tls"]
    if options["token"]:
        return NatsToken(options["token"], ssl_context=context)
    if options["user_credentials"]:
        return NatsCredentials(options["user_credentials"], ssl_context=context)
    return NatsSecurity(ssl_context=context) if context else None


def build_broker(
    settings: Settings,
    name: str,
    middlewares: tuple[Any, ...] = (),
    closed_cb: Callable[[], Awaitable[None]] | None = None,
) -> NatsBroker:
    """A faststream NATS broker that reconnects forever; the one way Healer connects to NATS.

    It reconnects through any outage; only a server's refusal (a protocol error such as an over-long line,
    or revoked credentials) closes the connection for good, and then `closed_cb` is called.
    """
    nats_cfg = settings.nats
    return NatsBroker(
        servers=nats_options(nats_cfg)["servers"],
        name=f"healer-{name}",
        connect_timeout=int(max(1, nats_cfg.connect_timeout_s)),
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        security=_security(nats_cfg),
        nkeys_seed=nats_options(nats_cfg)["nkeys_seed"],
        middlewares=middlewares,
        logger=None,
        closed_cb=closed_cb,
        js_options={"timeout": nats_cfg.jetstream_timeout_s},
    )
