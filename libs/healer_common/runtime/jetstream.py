"""How every Healer process reaches NATS and finds its streams, shared by the service runner (bus.py, through
faststream) and the short-lived client of the CLI and tests (busclient.py, through nats-py): the connection
options (servers, credentials, TLS), what counts as "NATS is down", the streams created idempotently, and a
service's wait at start until JetStream has and answers for everything it reads.

It imports no faststream, so a `healer` command that only needs a connection starts without loading it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from healer_common.contract.streams import STREAMS, StreamSpec
from healer_common.runtime.failures import classify
from healer_common.runtime.pause import pause
from healer_common.runtime.reach import Server, tls_context
from healer_common.settings import NatsSettings, Settings

NATS_DOWN = (asyncio.TimeoutError, nats.errors.Error, OSError)


def nats_server(cfg: NatsSettings) -> Server:
    how = "HEALER_NATS__TOKEN, HEALER_NATS__CREDS_FILE or HEALER_NATS__NKEY_SEED_FILE"
    return Server("NATS", cfg.url, "HEALER_NATS__", how, tls=cfg.wants_tls)


def nats_options(cfg: NatsSettings) -> dict[str, Any]:
    """What every NATS connection of Healer is given, in nats-py's words: the servers, the credentials, TLS."""
    return {
        "servers": [s.strip() for s in cfg.url.split(",")],
        "token": cfg.token.get_secret_value() if cfg.token else None,
        "user_credentials": str(cfg.creds_file) if cfg.creds_file else None,
        "nkeys_seed": str(cfg.nkey_seed_file) if cfg.nkey_seed_file else None,
        "tls": tls_context(*cfg.tls_files) if cfg.wants_tls else None,
    }


def stream_config(spec: StreamSpec, settings: Settings) -> StreamConfig:
    days = settings.bus.retention_days.get(spec.key)
    mib = settings.bus.max_mib.get(spec.key)
    return StreamConfig(
        name=spec.name(settings.space),
        description=f"Healer: {spec.description}",
        subjects=spec.subjects(settings.space),
        max_age=days * 86_400 if days else spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
        max_bytes=spec.max_bytes if mib is None else int(mib * 1024 * 1024) if mib > 0 else -1,  # 0: no limit
        discard=DiscardPolicy.OLD,
        storage=StorageType.FILE,
        num_replicas=settings.nats.stream_replicas,
    )


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    """Create or update every stream; safe to run from every replica at every start."""
    for spec in STREAMS:
        config = stream_config(spec, settings)
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


async def ensure_consumers(js: JetStreamContext, consumers: Iterable[tuple[str, ConsumerConfig]], log: Any) -> None:
    """Create each durable consumer (stream, config), or bring an existing one to this version's settings
    (ack_wait, max_deliver ...), which faststream alone would leave as first created."""
    for stream, config in consumers:
        try:
            await js.add_consumer(stream, config=config)
        except BadRequestError as exc:  # a change NATS does not allow on a live consumer: keep the old one
            log.warning("consumer_kept_as_is", consumer=config.durable_name, reason=exc.description)


async def until_jetstream(
    js: Callable[[], JetStreamContext],
    settings: Settings,
    consumers: list[tuple[str, ConsumerConfig]],
    stop: asyncio.Event,
    log: Any,
) -> None:
    """Until JetStream has the streams and these consumers, each answering, or until `stop` is set. A NATS cluster
    still electing its leaders (nodes starting or restarting, a loaded machine) refuses or times out for a while,
    and a service that began consuming then exited half-started: faststream's subscribers cannot be started
    again. A refusal waiting cannot change (a permission, a stream NATS will not alter) is raised."""
    delay = 0.5
    while not stop.is_set():
        try:
            await ensure_streams(js(), settings)
            await ensure_consumers(js(), consumers, log)
            for stream, config in consumers:
                await js().consumer_info(stream, str(config.durable_name))
        except NATS_DOWN as exc:
            if classify(exc).kind == "permanent":
                raise
            log.warning("waiting_for_jetstream", error=repr(exc), retry_in_s=delay)
            await pause(delay, unless=stop)
            delay = min(delay * 2, 10.0)
        else:
            return
