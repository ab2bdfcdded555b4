"""The API's entry points: the bus subjects it watches (for live updates) and one function per route of
routes.py, each a few lines: read the request, ask reads.py or writes.py, answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from healer_common.contract.views import AckRequest, ApprovalAnswer, SilenceRequest
from healer_common.runtime.auth import principal_of
from healer_common.runtime.bus import VERSION, Service
from services.api import openapi, queries
from services.api.adapters.http import Handler, answers, body, error, model, page, params
from services.api.adapters.live import LiveFeed
from services.api.adapters.reads import BusReads
from services.api.adapters.writes import Writes
from services.api.dashboard import compose, waiting_approvals
from services.api.routes import ROUTES
from services.api.sse import kind_of

STATIC = resources.files("services.api") / "static"
STATIC_TYPES = {"index.html": "text/html", "dashboard.js": "text/javascript", "dashboard.css": "text/css"}


def _forward(feed: LiveFeed, kind: str) -> Callable[[Any], Awaitable[None]]:
    async def on_published(message: Any) -> None:
        feed.published(kind, message.model_dump_json().encode())

    return on_published


def watch_bus(svc: Service, feed: LiveFeed) -> None:
    """Every alert, incident, remediation, acknowledgement and answer published from now on, as it comes."""
    space = svc.space
    for subject in (space.all_alerts, space.all_incidents, space.all_remediations, space.all_acks, space.all_approvals):
        svc.watch(subject)(_forward(feed, kind_of(space.family(subject))))


class Routes:
    """One method per route of routes.py (named as the route), each a few lines."""

    def __init__(self, svc: Service, reads: BusReads, writes: Writes) -> None:
        self.svc, self.reads, self.writes = svc, reads, writes
        self.cfg = svc.settings.api

    def _query(self, request: web.Request, route: str, narrows: str | None = None) -> queries.ListQuery:
        spec = next(r for r in ROUTES if r.name == route)
        now = self.svc.clock.now()
        return queries.read_query(spec.params, params(request), now, self.cfg.max_page, narrows=narrows)

    async def status(self, _: web.Request) -> web.StreamResponse:
        return model(await self.reads.status())

    async def dashboard(self, _: web.Request) -> web.StreamResponse:
        return model(compose(await self.reads.observed(), self.cfg.recent_alerts))

    async def alerts(self, request: web.Request) -> web.StreamResponse:
        return page(*await self.reads.alerts(self._query(request, "alerts", narrows="alert_id")))

    async def incidents(self, request: web.Request) -> web.StreamResponse:
        return page(*await self.reads.incidents(self._query(request, "incidents")))

    async def incident(self, request: web.Request) -> web.StreamResponse:
        found = await self.reads.incident(request.match_info["incident_id"])
        return model(found) if found else error(404, f"no incident {request.match_info['incident_id']}")

    async def ack(self, request: web.Request) -> web.StreamResponse:
        taken = await body(request, AckRequest)
        return model(await self.writes.ack(request.match_info["incident_id"], taken, principal_of(request)), status=202)

    async def remediations(self, request: web.Request) -> web.StreamResponse:
        return page(*await self.reads.remediations(self._query(request, "remediations")))

    async def remediation(self, request: web.Request) -> web.StreamResponse:
        found = await self.reads.remediation(request.match_info["remediation_id"])
        return model(found) if found else error(404, f"no remediation {request.match_info['remediation_id']}")

    async def approvals(self, _: web.Request) -> web.StreamResponse:
        return model(waiting_approvals(await self.reads.recent_remediations(), self.svc.clock.now()))

    async def answer(self, request: web.Request) -> web.StreamResponse:
        given = await body(request, ApprovalAnswer)
        run_id = request.match_info["remediation_id"]
        return model(await self.writes.answer(run_id, given, principal_of(request)), status=202)

    async def silences(self, _: web.Request) -> web.StreamResponse:
        return model(await self.reads.silences())

    async def silence(self, request: web.Request) -> web.StreamResponse:
        asked = await body(request, SilenceRequest)
        return model(await self.writes.silence(asked, principal_of(request)), status=201)

    async def expire(self, request: web.Request) -> web.StreamResponse:
        return model(await self.writes.expire(request.match_info["silence_id"], principal_of(request).name))

    async def coderuns(self, _: web.Request) -> web.StreamResponse:
        return model(await self.reads.coderuns())

    async def memory_stats(self, _: web.Request) -> web.StreamResponse:
        return model(await self.reads.memory_stats())

    async def predictions(self, _: web.Request) -> web.StreamResponse:
        return model(await self.reads.predictions())


def handler_of(routes: Routes, feed: LiveFeed, name: str) -> Handler:
    streams: dict[str, Handler] = {"dashboard_stream": feed.dashboard, "events": feed.events}
    found: Handler = streams.get(name) or getattr(routes, name)
    return found


def register(svc: Service, reads: BusReads, writes: Writes, feed: LiveFeed) -> None:
    routes = Routes(svc, reads, writes)
    for route in ROUTES:
        svc.route(route.method, route.path, answers(handler_of(routes, feed, route.name)), scope=route.scope)
    document = openapi.document(VERSION)

    async def openapi_json(_: web.Request) -> web.StreamResponse:
        return web.json_response(document)

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name", "index.html")
        if name not in STATIC_TYPES:
            return error(404, f"no file {name}")
        return web.Response(body=(STATIC / name).read_bytes(), content_type=STATIC_TYPES[name])

    # reads: open by design (the dashboard); every route that acts carries its scope in ROUTES
    svc.route("GET", "/api/v1/openapi.json", openapi_json, scope=None)
    svc.route("GET", "/", static, scope=None)
    svc.route("GET", "/static/{name}", static, scope=None)
    watch_bus(svc, feed)
