"""A short-lived connection to the bus for the CLI, tests and benchmarks: publish, request, subscribe, and
read history back by time. Services use `bus.Service` instead; this client has no consumers of its own.

Its first connection is tried once per server, quietly and within the connect timeout: a command run while NATS
is down ends at once with one `Unreachable` line instead of retrying for ever. Once connected, it reconnects
through an outage like a service does (`healer watch` outlives a NATS restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats
import nats.aio.client
import nats.aio.msg
import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import BaseModel, TypeAdapter

from healer_common.contract.codec import decode, encode
from healer_common.contract.events import AlertmanagerWebhook, CloudEvent
from healer_common.contract.headers import event_headers
from healer_common.contract.messages import Message
from healer_common.contract.streams import StreamSpec
from healer_common.contract.subjects import subject_for
from healer_common.errors import Retryable
from healer_common.runtime.jetstream import NATS_DOWN, ensure_streams, nats_options, nats_server
from healer_common.runtime.reach import unreachable
from healer_common.runtime.wire import on_the_wire
from healer_common.settings import Settings


@dataclass(frozen=True)
class RawMessage:
    """A message as read back from the bus, undecoded."""

    subject: str
    data: bytes
    headers: dict[str, str]
    stored_at: dt.datetime | None
    stream_seq: int | None


class BusClient:
    """A short-lived connection for the CLI, tests and benchmarks: publish, request, subscribe, read history."""

    def __init__(self, settings: Settings, *, name: str = "healer-cli", connect_timeout: float | None = None) -> None:
        self.settings = settings
        self.space = settings.space
        self._name = name
        self._timeout = connect_timeout or settings.nats.connect_timeout_s
        self._nc: nats.aio.client.Client | None = None

    async def __aenter__(self) -> BusClient:
        cfg = self.settings.nats
        failures: list[Exception] = []

        async def quietly(exc: Exception) -> None:  # nats-py's default prints a traceback for every failed try
            failures.append(exc)

        try:
            async with asyncio.timeout(self._timeout + 1.0):
                self._nc = await nats.connect(
                    **nats_options(cfg),
                    name=self._name,
                    connect_timeout=self._timeout,
                    allow_reconnect=True,
                    max_reconnect_attempts=1,  # nats-py's first connection tries each server twice, then gives up
                    reconnect_time_wait=0.05,
                    error_cb=quietly,
                )
        except NATS_DOWN as exc:
            raise unreachable(nats_server(cfg), failures[-1] if failures else exc, timeout_s=self._timeout) from exc
        # From now on an outage is waited out, as a service does; nats-py reads these options at each reconnect.
        self._nc.options["max_reconnect_attempts"] = -1
        self._nc.options["reconnect_time_wait"] = 0.5
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._nc is not None:
            await self._nc.close()

    @property
    def nc(self) -> nats.aio.client.Client:
        if self._nc is None:
            raise RuntimeError("BusClient is not connected; use `async with BusClient(settings) as bus:`")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    async def ensure_streams(self) -> None:
        await ensure_streams(self.js, self.settings)

    async def publish(self, message: Message, *, subject: str | None = None) -> None:
        body, headers = on_the_wire(message, self.settings.alerts)
        await self.publish_raw(subject or subject_for(self.space, message), body, headers)

    async def publish_event(self, subject: str, event: CloudEvent | AlertmanagerWebhook) -> None:
        """Publish a CloudEvent (structured mode) or an Alertmanager webhook, with its `Nats-Msg-Id`."""
        await self.publish_raw(subject, encode(event), event_headers(self.space, subject, event))

    async def publish_raw(self, subject: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Bytes as they are (a test's malformed body, say); `publish` and `publish_event` set the headers."""
        await self.js.publish(subject, body, headers={"content-type": "application/json", **(headers or {})})

    async def request(
        self, subject: str, message: Message, model: type[BaseModel] | TypeAdapter[Any], wait_s: float
    ) -> Any:
        try:
            response = await self.nc.request(subject, encode(message), timeout=wait_s)
        except NATS_DOWN as exc:
            raise Retryable(
                f"no answer on {subject} within {wait_s}s ({type(exc).__name__}); is the service running?"
            ) from exc
        return decode(model, response.data)

    async def subscribe(self, *subjects: str) -> AsyncIterator[RawMessage]:
        """Core subscriptions to one or more subjects: what is published from now on, in arrival order."""
        queue: asyncio.Queue[RawMessage] = asyncio.Queue()

        async def on_message(msg: nats.aio.msg.Msg) -> None:
            await queue.put(RawMessage(msg.subject, msg.data, dict(msg.headers or {}), None, None))

        subscriptions = [await self.nc.subscribe(subject, cb=on_message) for subject in subjects]
        try:
            while True:
                yield await queue.get()
        finally:
            for sub in subscriptions:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    async def history(
        self,
        spec: StreamSpec,
        since: dt.datetime,
        filter_subject: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[RawMessage]:
        """Messages stored in a stream since a time, oldest first, until the stream's end."""
        stream = spec.name(self.space)
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=since,
            ack_policy=JsAckPolicy.NONE,
            inactive_threshold=30.0,
            filter_subject=filter_subject or None,
        )
        sub = await self.js.pull_subscribe(filter_subject or "", durable=None, stream=stream, config=config)
        seen = 0
        try:
            while limit is None or seen < limit:
                try:
                    batch = await sub.fetch(256, timeout=1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    return
                for msg in batch:
                    meta = msg.metadata
                    yield RawMessage(
                        msg.subject, msg.data, dict(msg.headers or {}), meta.timestamp, meta.sequence.stream
                    )
                    seen += 1
                if batch and batch[-1].metadata.num_pending == 0:
                    return
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def stored(self, stream: str, seq: int) -> RawMessage | None:
        """One message a stream still holds, by its sequence; None once retention has removed it."""
        try:
            msg = await self.js.get_msg(stream, seq)
        except NotFoundError:
            return None
        headers = {str(k): str(v) for k, v in (msg.headers or {}).items()}
        return RawMessage(msg.subject or "", msg.data or b"", headers, msg.time, seq)

    async def account_info(self) -> dict[str, Any]:
        info = await self.js.account_info()
        return {"streams": info.streams, "consumers": info.consumers, "messages_bytes": info.storage}
