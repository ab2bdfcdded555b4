"""The Prometheus HTTP API over the sandbox's simulated series, in the documented JSON shapes
(https://prometheus.io/docs/prometheus/latest/querying/api/): `/api/v1/query` (vector),
`/api/v1/query_range` (matrix), `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/status/buildinfo`,
`/-/ready` and `/-/healthy`; GET or form POST; errors as `{"status": "error", "errorType": "bad_data", ...}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from aiohttp import web

from healer_common.durations import parse_duration
from healer_sandbox.listener import add_query_routes, query_params
from healer_sandbox.promql import QueryError, Wanted, parse
from healer_sandbox.series import MAX_POINTS, SeriesStore
from healer_sandbox.units import parse_time

VERSION = "2.53.1"


def _number(value: float) -> str:
    """Sample values are strings in the API, with Prometheus' spelling of the special values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _success(data: Any) -> web.Response:
    return web.json_response({"status": "success", "data": data})


def _bad(message: str) -> web.Response:
    return web.json_response({"status": "error", "errorType": "bad_data", "error": message}, status=400)


def _labels(wanted: Wanted, labels: dict[str, str]) -> dict[str, str]:
    return {"__name__": wanted.name, **labels} if wanted.bare else labels


def _time(params: dict[str, str], key: str, default: float | None = None) -> float:
    raw = params.get(key)
    if raw is None:
        if default is None:
            raise QueryError(f'missing parameter "{key}"')
        return default
    try:
        return parse_time(raw).timestamp()
    except ValueError as exc:
        raise QueryError(f'invalid parameter "{key}": {exc}') from None


class PrometheusApi:
    """The handlers, reading `series`; `now` is the default evaluation time."""

    def __init__(self, series: SeriesStore, now: Callable[[], float]) -> None:
        self.series, self.now = series, now

    async def query(self, request: web.Request) -> web.Response:
        try:
            params = await query_params(request)
            at = _time(params, "time", self.now())
            wanted = parse(params.get("query", ""))
        except QueryError as exc:
            return _bad(str(exc))
        result = []
        if wanted is not None:
            points = [p for p in self.series.instant(wanted.name, at) if wanted.matches(p.labels)]
            result = [{"metric": _labels(wanted, p.labels), "value": [at, _number(p.value)]} for p in points]
        return _success({"resultType": "vector", "result": result})

    async def query_range(self, request: web.Request) -> web.Response:
        try:
            params = await query_params(request)
            start, end = _time(params, "start"), _time(params, "end")
            step = parse_duration(params.get("step") or "")
            wanted = parse(params.get("query", ""))
        except (QueryError, ValueError) as exc:
            return _bad(str(exc))
        if step <= 0:
            return _bad("zero or negative query resolution step widths are not accepted")
        if end < start:
            return _bad("end timestamp must not be before start time")
        if (end - start) / step > MAX_POINTS:
            return _bad("exceeded maximum resolution of 11,000 points per timeseries")
        result = []
        if wanted is not None:
            curves = [c for c in self.series.range(wanted.name, start, end, step) if wanted.matches(c.labels)]
            result = [
                {"metric": _labels(wanted, c.labels), "values": [[t, _number(v)] for t, v in c.points]} for c in curves
            ]
        return _success({"resultType": "matrix", "result": result})

    async def label_values(self, request: web.Request) -> web.Response:
        return _success(self.series.names if request.match_info["name"] == "__name__" else [])


def routes(series: SeriesStore, now: Callable[[], float]) -> web.Application:
    """The Prometheus API as an aiohttp application."""
    api = PrometheusApi(series, now)
    app = web.Application()
    add_query_routes(app, {"/api/v1/query": api.query, "/api/v1/query_range": api.query_range})
    app.router.add_get("/api/v1/labels", label_names)
    app.router.add_get("/api/v1/label/{name}/values", api.label_values)
    app.router.add_get("/api/v1/status/buildinfo", buildinfo)
    app.router.add_get("/-/ready", ready)
    app.router.add_get("/-/healthy", healthy)
    return app


async def label_names(_: web.Request) -> web.Response:
    return _success(["__name__", "container", "namespace", "node", "pod"])


async def buildinfo(_: web.Request) -> web.Response:
    return _success({"version": VERSION, "revision": "healer-sandbox", "branch": "HEAD", "goVersion": "go1.22.5"})


async def ready(_: web.Request) -> web.Response:
    return web.Response(text="Prometheus Server is Ready.\n")


async def healthy(_: web.Request) -> web.Response:
    return web.Response(text="Prometheus Server is Healthy.\n")
