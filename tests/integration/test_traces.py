"""Traces out the standard way: services started with nothing but OTEL_EXPORTER_OTLP_ENDPOINT send their spans
over OTLP/HTTP to a local receiver (the test's, decoding the protobuf as Jaeger or Tempo would), and one OOMKilled
event's path (detector, correlator, remediator, notifier) is one trace, each service's consuming span a child of
the span that published to it from the service before."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from healer_cli.demo import condition_event
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import LOOPBACK, free_port
from healer_common.testing import ServiceRunner, eventually

pytestmark = pytest.mark.integration
PATH = ("healer-detector", "healer-correlator", "healer-remediator", "healer-notifier")
CONSUMER, PRODUCER = 5, 4  # the OTLP SpanKind numbers


@dataclass(frozen=True)
class Span:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[Span]]]:
    """An OTLP/HTTP receiver on a loopback port: POST /v1/traces, protobuf in, spans kept."""
    spans: list[Span] = []

    async def export(request: web.Request) -> web.Response:
        body = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in body.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                spans.extend(
                    Span(
                        attributes.get("service.name", "?"),
                        s.trace_id.hex(),
                        s.span_id.hex(),
                        s.parent_span_id.hex(),
                        s.name,
                        s.kind,
                    )
                    for s in scope.spans
                )
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", export)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    yield f"http://{LOOPBACK}:{port}", spans
    await runner.cleanup()


async def test_one_oom_event_is_one_trace_across_the_services_with_parent_links(
    services: ServiceRunner, bus: BusClient, receiver: tuple[str, list[Span]]
) -> None:
    endpoint, spans = receiver
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    names = [s.removeprefix("healer-") for s in PATH]
    services.start(*names, env=otel)
    await services.wait_running(*names)

    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    event = condition_event("cto/rex-1", "OOMKilled", source="trace-test")
    headers = {"Nats-Msg-Id": event.id, "traceparent": f"00-{trace_id}-{parent}-01"}
    await bus.publish_raw(bus.space.custom_events("tests"), event.model_dump_json().encode(), headers)

    def linked(service: str) -> bool:
        """A consuming span of `service` whose parent is another service's publishing span, in this trace."""
        mine = {s.span_id: s for s in spans if s.trace_id == trace_id}
        return any(
            s.service == service
            and s.kind == CONSUMER
            and (p := mine.get(s.parent_id)) is not None
            and p.kind == PRODUCER
            and p.service != service
            for s in mine.values()
        )

    await eventually(lambda: all(linked(s) for s in PATH[1:]), timeout=30, what=f"{PATH} linked in one trace")
    mine = [s for s in spans if s.trace_id == trace_id]
    assert {s.service for s in mine} >= set(PATH)
    first = [s for s in mine if s.service == "healer-detector" and s.kind == CONSUMER]
    assert any(s.parent_id == parent for s in first), "the detector's span continues the publisher's trace"
    assert all(len(s.name.split(" ")[0].split(".")) == 2 for s in mine), "named by family: no ids in span names"
