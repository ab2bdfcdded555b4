"""Tracing and metrics: one trace per alert's whole path, and Prometheus counters every service shares.

Spans go where the OpenTelemetry standard variables say: OTEL_EXPORTER_OTLP_ENDPOINT (Jaeger, Tempo, any
collector; OTLP over HTTP, or gRPC with OTEL_EXPORTER_OTLP_PROTOCOL=grpc), OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_* for batching; `telemetry.traces` can force console or none.

Trace context travels as W3C `traceparent` in NATS headers: faststream's telemetry middleware injects it
on publish and extracts it on consume. Its spans are renamed here by subject family (`healer.alerts
process`), never by a raw subject with ids in it, so traces aggregate.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.opentelemetry.provider import NatsTelemetrySettingsProvider
from faststream.opentelemetry.middleware import TelemetryMiddleware
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import Counter, Histogram

from healer_common.contract.subjects import SubjectSpace
from healer_common.errors import ConfigError

if TYPE_CHECKING:
    from faststream.message import StreamMessage
    from faststream.response import PublishCommand

MESSAGES = Counter(
    "healer_messages_total",
    "Messages handled, by subject family and outcome",
    ["service", "family", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "healer_message_handle_seconds",
    "Time to handle one message",
    ["service", "family"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEAD_LETTERS = Counter("healer_dead_letters_total", "Messages sent to the dead-letter subject", ["service", "family"])
PUBLISHED = Counter("healer_published_total", "Messages published, by subject family", ["service", "family"])
OUTAGE_RETRIES = Counter(
    "healer_outage_retries_total",
    "Messages put back to wait because a dependency was down (retried until it returns, never dead-lettered)",
    ["service", "family", "dependency"],
)


class _FamilyNamedProvider(NatsTelemetrySettingsProvider):
    """faststream's NATS attributes, with span destinations named by subject family."""

    def __init__(self, space: SubjectSpace) -> None:
        super().__init__()
        self._space = space

    def get_consume_destination_name(self, msg: StreamMessage[Any]) -> str:
        return self._space.family(msg.raw_message.subject)

    def get_publish_destination_name(self, cmd: PublishCommand) -> str:
        return self._space.family(cmd.destination)


def tracing_middleware(space: SubjectSpace, tracer_provider: TracerProvider) -> TelemetryMiddleware[Any]:
    provider = _FamilyNamedProvider(space)
    middleware = NatsTelemetryMiddleware(tracer_provider=tracer_provider)
    # Same middleware, our naming: the factory is the documented extension point of TelemetryMiddleware.
    middleware._settings_provider_factory = lambda _msg: provider
    return middleware


OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
OTLP_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


def _first(names: tuple[str, ...]) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def otlp_exporter() -> SpanExporter:
    """The OTLP exporter the standard variables ask for: OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL `grpc`, or
    `http/protobuf` (the default); each exporter reads its endpoint, headers, timeout and certificate from
    OTEL_EXPORTER_OTLP_* itself."""
    protocol = _first(OTLP_PROTOCOLS) or "http/protobuf"
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter  # noqa: PLC0415 - grpc loads only when asked for

        return GrpcExporter()
    if protocol != "http/protobuf":
        raise ConfigError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: use http/protobuf or grpc",
            source="environment",
        )
    return HttpExporter()


def configure_tracing(service: str, exporter: str) -> TracerProvider:
    """The service's tracer provider. Its `service.name` is healer-<service> unless OTEL_SERVICE_NAME says
    otherwise; OTEL_RESOURCE_ATTRIBUTES adds to it (the SDK reads both)."""
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": f"healer-{service}"}
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter == "otlp" or (exporter == "auto" and _first(OTLP_ENDPOINTS)):
        provider.add_span_processor(BatchSpanProcessor(otlp_exporter()))
    elif exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


@contextmanager
def consuming(family: str, headers: Mapping[str, str]) -> Iterator[None]:
    """A consuming span for one message handled outside faststream's subscribers (a partition's cursor reads
    NATS directly), the child of the `traceparent` the message carries and current while it is handled, so that
    what the handler publishes joins the message's trace as faststream's own consumers make it do."""
    parent = TraceContextTextMapPropagator().extract(dict(headers))
    tracer = trace.get_tracer("healer")
    with tracer.start_as_current_span(f"{family} process", context=parent, kind=trace.SpanKind.CONSUMER):
        yield


BATCH_LINKS = 128


@contextmanager
def consuming_batch(family: str, headers: Sequence[Mapping[str, str]]) -> Iterator[None]:
    """`consuming` for a batch handled as one: the child of its first message's trace, linked to every other
    message's (OpenTelemetry's convention for batches), so a batch of one continues its message's trace.
    At most BATCH_LINKS links, one per span linked to: the SDK keeps 128 a span and drops the rest, and building
    ten thousand for a storm's batch (most from the few webhooks it came in) took 6 % of the correlator."""
    propagator = TraceContextTextMapPropagator()
    parent = propagator.extract(dict(headers[0])) if headers else None
    links: dict[tuple[int, int], trace.Link] = {}
    for carrier in headers[1:]:
        if len(links) >= BATCH_LINKS:
            break
        if "traceparent" not in carrier:
            continue
        linked = trace.get_current_span(propagator.extract(dict(carrier))).get_span_context()
        if linked.is_valid:
            links.setdefault((linked.trace_id, linked.span_id), trace.Link(linked))
    tracer = trace.get_tracer("healer")
    with tracer.start_as_current_span(
        f"{family} process", context=parent, kind=trace.SpanKind.CONSUMER, links=list(links.values())
    ):
        yield


def carrying_trace(family: str, headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` with the W3C trace context of a producing span opened now under the current one, as
    faststream's publisher adds to each message: for messages sent straight on nats-py, so that what consumes
    them continues the trace."""
    carrier = dict(headers)
    with trace.get_tracer("healer").start_as_current_span(f"{family} publish", kind=trace.SpanKind.PRODUCER):
        TraceContextTextMapPropagator().inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
