"""The one service runner every Healer service uses (its broker is built in broker.py).

A service is a name, a `setup` function that registers typed handlers on a `Service`, and `run_service`:

    def setup(svc: Service) -> None:
        @svc.consume(streams.CORRELATOR_ALERTS)
        async def on_alert(alert: Alert) -> None:
            for incident in grouping.add(alert):
                await svc.publish(incident)

    def main() -> None:
        run_service("correlator", setup)

`Service` owns what would otherwise be copied into six services: the NATS connection (reconnecting forever),
the JetStream streams (created idempotently), durable pull consumers with explicit acks, decoding by subject
with dead-lettering (delivery.py), publishing with `Nats-Msg-Id` and retry, trace propagation, the audit
helper, Redis, heartbeats, `/metrics` and health endpoints, periodic tasks and a clean shutdown on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import nats.aio.client
from faststream import AckPolicy
from faststream.nats import JStream, PullSub
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, TypeAdapter

from healer_common.clock import Clock, SystemClock
from healer_common.contract.cloudevent_modes import decode_delivered
from healer_common.contract.codec import decode, encode
from healer_common.contract.events import AlertmanagerWebhook, CloudEvent
from healer_common.contract.headers import event_headers
from healer_common.contract.health import ServiceState
from healer_common.contract.messages import Message
from healer_common.contract.streams import STREAMS, ConsumerSpec
from healer_common.contract.subjects import model_for, subject_for
from healer_common.errors import ConfigError, Retryable, TooLarge, Unreachable
from healer_common.logging import configure_logging, get_logger
from healer_common.runtime import metrics
from healer_common.runtime.auditing import Auditor
from healer_common.runtime.auth import Gate
from healer_common.runtime.batches import Backlog, BatchConsumer, BatchHandler, BatchLoops
from healer_common.runtime.broker import build_broker
from healer_common.runtime.delivery import DeliveryCounters, DeliveryGuard
from healer_common.runtime.heartbeat import clear_heartbeat
from healer_common.runtime.httpserver import HttpEndpoint, RouteHandler, server_tls
from healer_common.runtime.jetstream import NATS_DOWN, ensure_streams, until_jetstream
from healer_common.runtime.ordering import KeyedSequencer
from healer_common.runtime.pause import pause
from healer_common.runtime.publishing import publish_many, with_retry
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.runtime.telemetry import configure_tracing, tracing_middleware
from healer_common.runtime.vitals import Vitals
from healer_common.runtime.watchdog import Watchdog
from healer_common.runtime.wire import on_the_wire
from healer_common.settings import Settings, load_settings

VERSION = "0.1.0"
STREAMS_BY_KEY = {spec.key: spec for spec in STREAMS}
EXIT_CONNECTION_LOST = 75  # EX_TEMPFAIL: the supervisor (or Kubernetes) starts the service again
HEADER_ROOM = 8 * 1024  # what headers may take of NATS' max_payload beside a body
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
Periodic = Callable[[], Awaitable[None]]


class Service:
    """One running Healer service: handlers register on it, `run()` serves them until told to stop."""

    def __init__(self, name: str, settings: Settings, *, clock: Clock | None = None) -> None:
        self.name = name
        self.version = VERSION
        self.settings = settings
        self.space = settings.space
        self.clock: Clock = clock or SystemClock()
        self.instance = f"{socket.gethostname()}-{os.getpid()}"
        self.log = get_logger().bind(service=name)
        self.counters = DeliveryCounters()
        self.watchdog = Watchdog(settings.bus.stall_after_s)
        self.exit_code = 0
        self.consumer_specs: dict[str, ConsumerSpec] = {}
        self.keys = KeySpace(settings.redis.key_prefix)
        self.redis = connect_redis(settings)
        self.tracer_provider = configure_tracing(name, settings.telemetry.traces)
        self.broker = build_broker(
            settings,
            name,
            (tracing_middleware(self.space, self.tracer_provider), DeliveryGuard(self)),
            closed_cb=self._connection_closed,
        )
        self.vitals = Vitals(self)
        http = settings.http
        self.http = HttpEndpoint(
            name,
            http.host,
            settings.http_port(name),
            ready=self._ready,
            alive=self.vitals.trouble,
            max_body_bytes=settings.limits.body_bytes,
            body_timeout_s=settings.limits.body_timeout_s,
            ssl_context=server_tls(http.tls_cert_file, http.tls_key_file, http.tls_client_ca_file),
        )
        self.audit = Auditor(self)
        self.audit_record = self.audit.record
        self.gate = Gate(name, settings.auth, redis=self.redis, keys=self.keys, audit=self.audit, clock=self.clock)
        self.state: ServiceState = "starting"
        self.detail: dict[str, str] = {}
        self._periodic: list[tuple[float, Periodic]] = []
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._on_stop: dict[bool, list[Callable[[], Awaitable[None]]]] = {True: [], False: []}  # first: NATS up
        self._tasks: list[asyncio.Task[None]] = []
        self._batches = BatchLoops()
        self._stop = asyncio.Event()
        self.started_at = self.clock.now()
        self.redis_ok = False
        self._consumer_configs: dict[str, tuple[str, ConsumerConfig]] = {}

    # registration -------------------------------------------------------------------------------------------
    def consume(self, spec: ConsumerSpec, *, order_by: Callable[[Any], str] | None = None) -> Callable[[F], F]:
        """Register a handler on a durable pull consumer; its body arrives decoded by the subject's model.

        With `order_by`, messages with the same key are handled one at a time in delivery order (see
        ordering.py); without it, a pulled batch is handled concurrently.
        """
        self.consumer_specs[spec.durable] = spec
        subject = spec.subject(self.space)
        config = ConsumerConfig(
            durable_name=spec.durable,
            filter_subject=subject,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=spec.ack_wait_s,
            max_deliver=self.settings.bus.max_deliveries,  # handler failures are counted by delivery.py
            max_ack_pending=max(1_000, spec.batch_size * 4),
        )
        self._consumer_configs[spec.durable] = (spec.stream.name(self.space), config)
        subscriber = self.broker.subscriber(
            subject,
            stream=JStream(spec.stream.name(self.space), declare=False),
            durable=spec.durable,
            config=config,
            pull_sub=PullSub(batch_size=spec.batch_size, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
            decoder=self._decode,
        )
        if order_by is None:
            return cast("Callable[[F], F]", subscriber)
        sequencer = KeyedSequencer()

        def register(handler: F) -> F:
            @functools.wraps(handler)
            async def in_order(*args: Any, **kwargs: Any) -> Any:
                message = args[0] if args else next(iter(kwargs.values()))  # called by its parameter's name
                async with sequencer.turn(order_by(message)):
                    return await handler(*args, **kwargs)

            subscriber(in_order)
            return handler

        return register

    def consume_batch(
        self, spec: ConsumerSpec, *, max_batch: int = 1_000, backlog: Backlog | None = None, linger_s: float = 0.0
    ) -> Callable[[BatchHandler], BatchHandler]:
        """Register a handler that takes a list: every message that has arrived, up to `max_batch`; `backlog`
        kept up to date with how many wait behind the last batch; `linger_s` between batches once caught up, for
        work that is not urgent (batches.py)."""
        self.consumer_specs[spec.durable] = spec

        def register(handler: BatchHandler) -> BatchHandler:
            consumer = BatchConsumer(spec, handler, max_batch, self.settings.bus.max_deliveries, backlog, linger_s)
            self._batches.consumers.append(consumer)
            return handler

        return register

    def reply(self, subject: str) -> Callable[[F], F]:
        """Register a request/reply handler (core NATS, a queue group per service); its return is the reply."""
        subscriber = self.broker.subscriber(subject, queue=f"healer-{self.name}", decoder=self._decode)
        return cast("Callable[[F], F]", subscriber)

    def watch(self, subject: str) -> Callable[[F], F]:
        """Register a handler on a core subscription without a queue group: every replica sees every message
        published from now on (the read API's live feed), and nothing is acked, stored or redelivered. It never
        replies: a JetStream publish carries a reply subject for its ack, and an empty reply from here would race
        the stream's ack to the publisher (whose publish then fails to parse it)."""
        subscriber = self.broker.subscriber(subject, decoder=self._decode, no_reply=True)
        return cast("Callable[[F], F]", subscriber)

    def every(self, seconds: float) -> Callable[[Periodic], Periodic]:
        """Run a coroutine periodically while the service runs; a failure is logged and the next tick comes."""

        def register(fn: Periodic) -> Periodic:
            self._periodic.append((seconds, fn))
            return fn

        return register

    def on_start(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        self._on_start.append(fn)
        return fn

    def on_stop(self, fn: Callable[[], Awaitable[None]], *, first: bool = False) -> Callable[[], Awaitable[None]]:
        self._on_stop[first].append(fn)
        return fn

    def route(self, method: str, path: str, handler: RouteHandler, *, scope: str | None) -> None:
        """Serve an HTTP route. `scope` is what the caller's credential must grant (runtime/auth.py); None only
        for a route that checks its caller itself (PagerDuty's signed webhook), saying so where it is added."""
        self.http.routes.append((method, path, handler if scope is None else self.gate.guard(scope, handler)))

    def quiet_family(self, family: str) -> bool:
        """High-volume input families log their canonical line at debug level."""
        return family.endswith(".events")

    # bus operations -----------------------------------------------------------------------------------------
    async def _decode(self, msg: Any) -> Any:
        return decode_delivered(model_for(self.space, msg.raw_message.subject), msg.headers or {}, msg.body)

    def _stream_for(self, subject: str) -> str | None:
        for spec in STREAMS:
            for pattern in spec.subjects(self.space):
                if subject.startswith(pattern.rstrip(">*")):
                    return spec.name(self.space)
        return None

    async def publish(self, message: Message, *, subject: str | None = None) -> None:
        """Publish to JetStream with `Nats-Msg-Id`; retry through a NATS outage, then ask for a redelivery."""
        subject = subject or subject_for(self.space, message)
        await self.publish_raw(subject, *on_the_wire(message, self.settings.alerts))
        metrics.published(message)

    async def publish_event(self, subject: str, event: CloudEvent | AlertmanagerWebhook) -> None:
        """Publish a CloudEvent (structured mode) or an Alertmanager webhook, with its `Nats-Msg-Id`."""
        await self.publish_raw(subject, encode(event), event_headers(self.space, subject, event))

    def max_payload(self) -> int:
        """The largest message NATS takes on this connection (its server's max_payload; 1 MiB by default)."""
        connection = getattr(self.broker, "_connection", None)
        return int(getattr(connection, "max_payload", 0) or 1_048_576)

    async def publish_raw(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        """Publish bytes already encoded, with headers from `contract.headers` (which owns `Nats-Msg-Id`), to the
        stream holding `subject`, retrying through a NATS outage for up to 30 s (and after a PubAck that cannot
        be read: the `Nats-Msg-Id` makes a second copy of a stored message a duplicate JetStream drops).

        Raises TooLarge for a body NATS will never take, Permanent for a refusal that retrying cannot change,
        and Unreachable when NATS stays away past the deadline (the caller's message then waits it out).
        """
        if len(body) > (limit := self.max_payload() - HEADER_ROOM):
            raise TooLarge(
                f"{len(body)} bytes for {subject[:120]} exceed NATS' max_payload", size=len(body), limit=limit
            )
        stream = self._stream_for(subject)
        headers = {"content-type": "application/json", **headers}
        await with_retry(
            self, subject, lambda: self.broker.publish(body, subject, headers=headers, stream=stream, timeout=5.0)
        )

    async def publish_many(self, messages: Sequence[Message]) -> None:
        """Many messages at once, in order per correlation id (publishing.py): what storms publish."""
        await publish_many(self, messages)

    async def request(
        self, subject: str, message: Message, model: type[BaseModel] | TypeAdapter[Any], wait_s: float
    ) -> Any:
        """Core request/reply; raises Unreachable (a Retryable) when nobody answers in time."""
        try:
            response = await self.broker.request(encode(message), subject, timeout=wait_s)
        except NATS_DOWN as exc:
            raise Unreachable(
                f"no answer on {subject} within {wait_s}s: {exc!r}", server=self.space.family(subject)
            ) from exc
        return decode(model, response.body)

    # lifecycle ----------------------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def _ready(self) -> bool:
        """Ready when running, connected to NATS, and the last heartbeat reached Redis."""
        connection = getattr(self.broker, "_connection", None)
        nats_up = connection is not None and connection.is_connected
        return self.state == "running" and nats_up and self.redis_ok

    def _jetstream(self) -> Any:
        """The JetStream context of the broker's connection (stream and consumer administration)."""
        return self.broker.config.connection_state.stream

    @property
    def jetstream(self) -> JetStreamContext:
        """The JetStream context of the service's connection, for reading streams back (stream_pages.py)."""
        js: JetStreamContext = self._jetstream()
        return js

    @property
    def nats(self) -> nats.aio.client.Client:
        """The service's NATS connection (the read API's stream reader subscribes on it)."""
        connection: nats.aio.client.Client | None = getattr(self.broker, "_connection", None)
        if connection is None:
            raise Retryable("NATS is not connected yet", delay=1.0)
        return connection

    @property
    def nats_connected(self) -> bool:
        connection = getattr(self.broker, "_connection", None)
        return connection is not None and bool(connection.is_connected)

    async def _connect(self) -> None:
        """Until NATS answers, or until the service is told to stop: a SIGTERM while waiting ends the wait."""
        delay = 0.5
        while not self._stop.is_set():
            connecting = asyncio.ensure_future(self.broker.connect())
            stopping = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not connecting.done():
                connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError, *NATS_DOWN):
                    await connecting
                return
            try:
                connecting.result()
            except NATS_DOWN as exc:
                self.log.warning("waiting_for_nats", url=self.settings.nats.url, error=repr(exc), retry_in_s=delay)
                await pause(delay, unless=self._stop)
                delay = min(delay * 2, 10.0)
            else:
                return

    async def ensure_streams(self) -> None:
        await ensure_streams(self._jetstream(), self.settings)

    async def heartbeat(self) -> None:
        await self.vitals.heartbeat()

    async def _connection_closed(self) -> None:
        """NATS closed the connection for good (the client reconnects through outages, not this): exit, so the
        supervisor or Kubernetes starts a fresh process, instead of failing every message from now on."""
        if self.state != "running" or self._stop.is_set():
            return
        connection = getattr(self.broker, "_connection", None)
        self.log.error(
            "nats_connection_closed",
            error=repr(getattr(connection, "last_error", None)),
            action=f"exiting with {EXIT_CONNECTION_LOST} to be restarted",
        )
        self.exit_code = EXIT_CONNECTION_LOST
        self.stop()

    async def _tick(self, seconds: float, fn: Periodic) -> None:
        # Checks the stop flag too: Python 3.11's wait_for (used by nats-py) can swallow a cancellation that
        # lands as its inner call completes, and a periodic task must not outlive its service for that.
        while not self._stop.is_set():
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("periodic_failed", task=getattr(fn, "__name__", "?"))
            await asyncio.sleep(seconds)

    async def run(self) -> None:
        """Serve until stop() or a signal; then stop consuming, finish in-flight work and close."""
        metrics.prepare(self.name, VERSION)
        if self.http.routes:
            self.gate.keyring()  # a bad credentials file stops the service at start, naming what is wrong
        await self.http.start()
        self.log.info("starting", nats=self.settings.nats.url, http=self.http.url, instance=self.instance)
        await self._connect()
        if not self._stop.is_set():
            consumers = list(self._consumer_configs.values())
            await until_jetstream(self._jetstream, self.settings, consumers, self._stop, self.log)
        if self._stop.is_set():
            with contextlib.suppress(*NATS_DOWN):
                await self.broker.stop()
            await self.http.stop()
            return
        for hook in self._on_start:
            await hook()
        await self.broker.start()
        self.state = "running"
        self._periodic.append((self.settings.bus.heartbeat_interval_s, self.heartbeat))
        self._tasks = [asyncio.create_task(self._tick(s, fn)) for s, fn in self._periodic]
        self._batches.start(self, self._stop)
        self.log.info("running", consumers=sorted(self.consumer_specs))
        await self._stop.wait()
        await self._shutdown()

    async def _hooks(self, hooks: list[Callable[[], Awaitable[None]]], failed: str) -> None:
        for hook in hooks:
            try:
                await hook()
            except Exception:
                self.log.exception(failed)

    async def _shutdown(self) -> None:
        self.state = "stopping"
        self.log.info("stopping")
        await self._hooks(self._on_stop[True], "stopping_hook_failed")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._batches.finish()
        try:
            await self.broker.stop()
        except NATS_DOWN as exc:  # NATS went away: nothing can be drained, so close what is left and go on
            self.log.warning("stopping_without_nats", error=repr(exc))
            connection = getattr(self.broker, "_connection", None)
            if connection is not None:
                with contextlib.suppress(*NATS_DOWN):
                    await connection.close()
        await self.gate.close()
        await self._hooks(self._on_stop[False], "stop_hook_failed")
        with contextlib.suppress(Exception):
            await clear_heartbeat(self.redis, self.keys, self.name, self.instance)
        await self.redis.aclose()
        await self.http.stop()
        self.tracer_provider.shutdown()
        self.log.info("stopped")


Setup = Callable[[Service], Awaitable[None] | None]


async def serve(service: Service, setup: Setup) -> None:
    """Set up and run a service; SIGTERM and SIGINT stop it from the first moment, even while it waits for NATS."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, service.stop)
    result = setup(service)
    if asyncio.iscoroutine(result):
        await result
    # What start-up built (modules, schemas, clients: most of a service's objects) lives as long as the process.
    # Frozen, the garbage collector's full passes stop walking it again and again: in a storm they had cost the
    # correlator a quarter of its CPU.
    gc.collect()
    gc.freeze()
    await service.run()


def run_service(name: str, setup: Setup, argv: list[str] | None = None) -> None:
    """The entry point of every `healer-<service>` command."""
    del argv
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"healer-{name}: {exc}", file=sys.stderr)  # noqa: T201 - logging is not configured yet
        raise SystemExit(2) from None
    configure_logging(settings.log.level, settings.log.format, service=name)
    service: Service | None = None
    try:
        service = Service(name, settings)
        asyncio.run(serve(service, setup))
    except ConfigError as exc:
        get_logger().error("bad_config", service=name, error=str(exc))
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
    if service is not None and service.exit_code:
        raise SystemExit(service.exit_code)
