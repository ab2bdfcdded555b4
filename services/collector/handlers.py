"""HTTP ingest for systems that cannot speak NATS: the same event contract over HTTP.

    POST /events/{source}   a CloudEvent in structured mode (application/cloudevents+json or application/json),
                            binary mode (ce-* headers, the data as the body) or a batch (a JSON array,
                            application/cloudevents-batch+json); data_base64 too (contract/cloudevent_modes.py)
                            -> healer.events.custom.<source>.<partition> (a change: without one)
    POST /alertmanager      an Alertmanager webhook payload -> healer.events.alertmanager.<receiver>
    POST /github/webhook    a GitHub repository webhook, signed (X-Hub-Signature-256 under github.webhook_secret):
                            the github source reads that repository now (sources/github_webhooks.py)

The first two want a credential with scope `ingest`: a bearer token, or a signed request (X-Healer-Timestamp
and X-Healer-Signature, as senders of webhooks sign them); see runtime/auth.py. GitHub's webhook is checked
by GitHub's own signature instead, as GitHub cannot send Healer's credentials. Without one the answer is 401 and
nothing is published. A bad body is refused whole with 400 and the reason per item, so the sender knows what
to fix and nothing is half-accepted. A sender's retry (same `source` and `id`) is dropped by the stream's
duplicate window (contract/headers.py owns the `Nats-Msg-Id` rule). The webhook body goes on as it came,
unknown fields kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from healer_common.contract.cloudevent_modes import read_http
from healer_common.contract.codec import describe
from healer_common.contract.events import AlertmanagerWebhook, CloudEvent
from healer_common.contract.headers import event_headers
from healer_common.contract.partitions import split
from healer_common.errors import InvalidMessage
from healer_common.runtime.bus import Service
from services.collector.sources.github import GitHubSource
from services.collector.sources.github_webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    nudge_of,
    signed,
)


def _problem(status: int, reason: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, **extra}, status=status)


class Ingest:
    def __init__(self, svc: Service, github: Callable[[], GitHubSource | None] = lambda: None) -> None:
        self._svc = svc
        self._github = github  # the github source while this replica leads the first cluster, else None

    def install(self) -> None:
        self._svc.route("POST", "/events/{source}", self.post_events, scope="ingest")
        self._svc.route("POST", "/events", self.post_events, scope="ingest")
        self._svc.route("POST", "/alertmanager", self.post_alertmanager, scope="ingest")
        # GitHub signs its deliveries with the webhook's secret (X-Hub-Signature-256); the handler checks it
        self._svc.route("POST", "/github/webhook", self.post_github, scope=None)

    async def _body(self, request: web.Request) -> bytes | web.Response:
        limit = self._svc.settings.collector.max_event_bytes
        if request.content_length is not None and request.content_length > limit:
            return _problem(413, f"body of {request.content_length} bytes exceeds collector.max_event_bytes={limit}")
        body = await request.read()
        return body if body else _problem(400, "empty body; expected a CloudEvent JSON object or an array of them")

    async def post_events(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        try:
            events = read_http(request.headers, body)
        except InvalidMessage as exc:
            return _problem(400, str(exc))
        source = request.match_info.get("source", "http")
        subject = self._svc.space.custom_events(source)
        for event in events:
            await self._publish(subject, event)
        return web.json_response({"accepted": len(events), "subject": subject}, status=202)

    async def _publish(self, subject: str, event: CloudEvent) -> None:
        """In the partitions of the objects it is about; a change as it is (the detector forwards it)."""
        svc = self._svc
        parts = list(split(event, svc.settings.scale.partitions))
        if not parts:
            await svc.publish_event(subject, event)
        for partition, part in parts:
            await svc.publish_event(svc.space.in_partition(subject, partition), part)

    async def post_alertmanager(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        try:
            payload = AlertmanagerWebhook.model_validate_json(body)
        except ValidationError as exc:
            return _problem(400, describe(exc))
        subject = self._svc.space.alertmanager(payload.receiver)
        await self._svc.publish_raw(subject, body, event_headers(self._svc.space, subject, payload))
        return web.json_response({"accepted": len(payload.alerts), "subject": subject}, status=202)

    async def post_github(self, request: web.Request) -> web.Response:
        secret = self._svc.settings.github.webhook_secret
        if secret is None or not self._svc.settings.github.repositories:
            return _problem(403, "github webhooks are refused: set github.webhook_secret and github.repositories")
        body = await request.read()
        if not signed(secret.get_secret_value().encode(), body, request.headers.get(SIGNATURE_HEADER)):
            return _problem(401, f"{SIGNATURE_HEADER} does not match the body under github.webhook_secret")
        event = request.headers.get(EVENT_HEADER, "")
        try:
            nudge = nudge_of(event, json.loads(body)) if event != "ping" else None
        except ValueError:
            return _problem(400, "the body is not JSON")
        # a replica that does not lead the first cluster reads nothing now: the leader reads on its own schedule
        source = self._github()
        reading = nudge.repo if nudge is not None and source is not None and source.nudge(nudge.repo) else None
        delivery = request.headers.get(DELIVERY_HEADER, "")
        return web.json_response({"event": event, "delivery": delivery, "reading": reading})
