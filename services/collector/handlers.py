"""HTTP ingest for systems that cannot speak NATS: the same event contract over HTTP.

    POST /events/{source}   a CloudEvent in structured mode (application/cloudevents+json or application/json),
                            binary mode (ce-* headers, the data as the body) or a batch (a JSON array,
                            application/cloudevents-batch+json); data_base64 too (contract/cloudevent_modes.py)
                            -> healer.events.custom.<source>.<partition> (a change: without one)
    POST /alertmanager      an Alertmanager webhook payload (application/json) -> healer.events.alertmanager.<receiver>
    POST /github/webhook    a GitHub repository webhook, signed (X-Hub-Signature-256 under github.webhook_secret):
                            the github source reads that repository now (sources/github_webhooks.py)

The first two want a credential with scope `ingest`: a bearer token, or a signed request (X-Healer-Timestamp
and X-Healer-Signature, as senders of webhooks sign them); see runtime/auth.py. GitHub's webhook is checked
by GitHub's own signature instead, as GitHub cannot send Healer's credentials. Without one the answer is 401 and
nothing is published. A bad body is refused whole with 400 and the reason per item, so the sender knows what
to fix and nothing is half-accepted. A sender's retry (same `source` and `id`) is dropped by the stream's
duplicate window (contract/headers.py owns the `Nats-Msg-Id` rule). The webhook body goes on as it came,
unknown fields kept.

Limits (settings/limits.py) are checked before anything reaches the bus, each refusal naming its setting:
415 for a structured or batch body that is not JSON by its Content-Type (binary mode's data type is judged with
the event), 400 for a source name that cannot be a subject token, 408 for a body sent too slowly, 413 for a
body, an event, a batch or an Alertmanager body over its limit (chunked bodies are cut off as soon as they pass
it). 503 with Retry-After when NATS stays unreachable.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from pydantic import ValidationError

from healer_common.contract.cloudevent_modes import is_binary, read_http
from healer_common.contract.codec import describe, encode
from healer_common.contract.events import AlertmanagerWebhook, CloudEvent, Event
from healer_common.contract.headers import event_headers
from healer_common.contract.limits import token_problem, webhook_problems
from healer_common.contract.partitions import split
from healer_common.errors import InvalidMessage, Permanent, TooLarge, Unreachable
from healer_common.runtime.bus import HEADER_ROOM, Service
from healer_common.runtime.httpserver import HttpRefusal, parse_object, request_body, require_media_type
from services.collector.sources.github import GitHubSource
from services.collector.sources.github_webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    nudge_of,
    signed,
)

EVENT_MEDIA = ("application/cloudevents+json", "application/cloudevents-batch+json", "application/json")
WEBHOOK_MEDIA = ("application/json",)


class Ingest:
    def __init__(self, svc: Service, github: Callable[[], GitHubSource | None] = lambda: None) -> None:
        self._svc = svc
        self._limits = svc.settings.limits
        self._github = github  # the github source while this replica leads the first cluster, else None

    def install(self) -> None:
        self._svc.route("POST", "/events/{source}", self.post_events, scope="ingest")
        self._svc.route("POST", "/events", self.post_events, scope="ingest")
        self._svc.route("POST", "/alertmanager", self.post_alertmanager, scope="ingest")
        # GitHub signs its deliveries with the webhook's secret (X-Hub-Signature-256); the handler checks it
        self._svc.route("POST", "/github/webhook", self.post_github, scope=None)

    async def post_events(self, request: web.Request) -> web.Response:
        source = self._source(request)
        body = await self._body(request, () if is_binary(request.headers) else EVENT_MEDIA)
        events = self._events(request, body)
        space = self._svc.space
        subject = space.custom_events(source)
        for event in events:
            # in the partitions of the objects it is about; a change as it is (the detector forwards it)
            parts: list[tuple[int | None, CloudEvent]] = [*split(event, self._svc.settings.scale.partitions)]
            for partition, part in parts or [(None, event)]:
                where = subject if partition is None else space.in_partition(subject, partition)
                await self._publish(where, encode(part), event_headers(space, where, part))
        return web.json_response({"accepted": len(events), "subject": subject}, status=202)

    async def post_alertmanager(self, request: web.Request) -> web.Response:
        body = await self._body(request, WEBHOOK_MEDIA)
        payload = self._webhook(body)
        subject = self._svc.space.alertmanager(payload.receiver)
        await self._publish(subject, body, event_headers(self._svc.space, subject, payload))
        return web.json_response({"accepted": len(payload.alerts), "subject": subject}, status=202)

    # the checks, in the order a request meets them -----------------------------------------------------------
    def _source(self, request: web.Request) -> str:
        source = request.match_info.get("source", "http")
        problem = token_problem(source, "source name", self._limits.subject_token_chars, "limits.subject_token_chars")
        if problem:
            raise HttpRefusal(400, problem)
        return source

    async def _body(self, request: web.Request, media: tuple[str, ...]) -> bytes:
        if media:
            require_media_type(request, media)
        if not (body := await request_body(request)):
            raise HttpRefusal(400, "empty body; expected a JSON document")
        return body

    def _events(self, request: web.Request, body: bytes) -> list[Event]:
        try:
            events = read_http(request.headers, body)
        except InvalidMessage as exc:
            raise HttpRefusal(400, str(exc)) from None
        if not events:
            raise HttpRefusal(400, "the batch holds no event; send a JSON array of CloudEvents")
        if len(events) > self._limits.batch_events:
            limit = self._limits.batch_events
            raise HttpRefusal(413, f"batch of {len(events)} events exceeds limits.batch_events={limit}")
        limit = self._event_limit()
        for index, event in enumerate(events):
            if (size := len(encode(event))) > limit:
                raise HttpRefusal(413, f"event {index} is {size} bytes; limits.event_bytes allows {limit}")
        return events

    def _webhook(self, body: bytes) -> AlertmanagerWebhook:
        try:
            payload = AlertmanagerWebhook.model_validate_json(body)
        except ValidationError as exc:
            raise HttpRefusal(400, describe(exc)) from None
        if problems := webhook_problems(payload, self._limits):
            raise HttpRefusal(413, "; ".join(problems))
        if len(body) > (limit := self._event_limit()):
            raise HttpRefusal(413, f"Alertmanager body of {len(body)} bytes; limits.event_bytes allows {limit}")
        return payload

    def _event_limit(self) -> int:
        """limits.event_bytes, or less when NATS' max_payload is smaller (it would refuse the publish)."""
        return min(self._limits.event_bytes, self._svc.max_payload() - HEADER_ROOM)

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            await self._svc.publish_raw(subject, body, headers)
        except TooLarge as exc:
            raise HttpRefusal(413, str(exc)) from None
        except Permanent as exc:
            raise HttpRefusal(422, str(exc)) from None
        except Unreachable as exc:
            reason = f"the bus is unreachable, try again later: {exc}"
            raise HttpRefusal(503, reason, headers={"Retry-After": "5"}) from None

    async def post_github(self, request: web.Request) -> web.Response:
        """A signed GitHub delivery nudges the github source; its body is read within limits.body_bytes."""
        secret = self._svc.settings.github.webhook_secret
        if secret is None or not self._svc.settings.github.repositories:
            raise HttpRefusal(403, "github webhooks are refused: set github.webhook_secret and github.repositories")
        body = await request_body(request)
        if not signed(secret.get_secret_value().encode(), body, request.headers.get(SIGNATURE_HEADER)):
            raise HttpRefusal(401, f"{SIGNATURE_HEADER} does not match the body under github.webhook_secret")
        event = request.headers.get(EVENT_HEADER, "")
        nudge = nudge_of(event, parse_object(body, "a GitHub webhook delivery")) if event != "ping" else None
        # a replica that does not lead the first cluster reads nothing now: the leader reads on its own schedule
        source = self._github()
        reading = nudge.repo if nudge is not None and source is not None and source.nudge(nudge.repo) else None
        delivery = request.headers.get(DELIVERY_HEADER, "")
        return web.json_response({"event": event, "delivery": delivery, "reading": reading})
