"""Loki's HTTP API over the sandbox's simulated logs, in the documented shapes
(https://grafana.com/docs/loki/latest/reference/loki-http-api/): `/loki/api/v1/query_range` and
`/loki/api/v1/query` answer log queries with `streams` and metric queries with `matrix` / `vector`;
`/loki/api/v1/labels`, `/loki/api/v1/label/<name>/values` and `/ready`. A query it cannot parse gets 400 with
the reason as plain text, as Loki answers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from aiohttp import web

from healer_common.durations import parse_duration
from healer_sandbox.listener import add_query_routes, query_params
from healer_sandbox.logs import LogLine, LogQuery, LogStore, MetricQuery, parse
from healer_sandbox.promql import QueryError
from healer_sandbox.units import parse_time

NS = 1_000_000_000
DEFAULT_LIMIT = 100
LabelKey = tuple[tuple[str, str], ...]


def _ns(raw: str | None, default: int) -> int:
    """Loki's times: Unix nanoseconds, or seconds (with a fraction), or RFC 3339."""
    if raw is None or raw == "":
        return default
    if raw.isdigit() and len(raw) > 12:
        return int(raw)
    try:
        return int(parse_time(raw).timestamp() * NS)
    except ValueError as exc:
        raise QueryError(f"invalid time {raw!r}: {exc}") from None


def _streams(lines: list[LogLine], limit: int, backward: bool) -> list[dict[str, Any]]:
    chosen = lines[-limit:] if backward else lines[:limit]
    grouped: dict[LabelKey, list[LogLine]] = defaultdict(list)
    for entry in reversed(chosen) if backward else chosen:
        grouped[tuple(sorted(entry.labels.items()))].append(entry)
    return [{"stream": dict(k), "values": [[str(e.ns), e.line] for e in v]} for k, v in grouped.items()]


def _metric(query: MetricQuery, logs: LogStore, evaluations: list[int]) -> dict[LabelKey, list[float]]:
    """Each group's value at each evaluation time: lines counted in (t - range, t], or that per second."""
    range_ns = int(query.range_s * NS)
    lines = logs.select(query.logs, evaluations[0] - range_ns + 1, evaluations[-1] + 1)
    by_group: dict[LabelKey, list[int]] = defaultdict(list)
    for entry in lines:
        labels = entry.labels if query.sum_by is None else {k: entry.labels.get(k, "") for k in query.sum_by}
        by_group[tuple(sorted((k, v) for k, v in labels.items() if v))].append(entry.ns)
    at = np.array(evaluations, dtype=np.int64)
    values: dict[LabelKey, list[float]] = {}
    for key, stamps in by_group.items():
        times = np.array(stamps, dtype=np.int64)
        counts = np.searchsorted(times, at, side="right") - np.searchsorted(times, at - range_ns, side="right")
        values[key] = [float(c) / (query.range_s if query.function == "rate" else 1.0) for c in counts]
    return values


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


class LokiApi:
    """The handlers, reading `logs`; `now` is the default end of a query."""

    def __init__(self, logs: LogStore, now: Callable[[], dt.datetime]) -> None:
        self.logs, self.now = logs, now

    def _now_ns(self) -> int:
        return int(self.now().timestamp() * NS)

    def _streams_answer(self, query: LogQuery, start: int, end: int, params: dict[str, str]) -> web.Response:
        limit = int(params.get("limit") or DEFAULT_LIMIT)
        streams = _streams(
            self.logs.select(query, start, end), limit, params.get("direction", "backward") == "backward"
        )
        return _success("streams", streams, sum(len(s["values"]) for s in streams))

    async def query_range(self, request: web.Request) -> web.Response:
        try:
            params = await query_params(request)
            query = parse(params.get("query", ""))
            end = _ns(params.get("end"), self._now_ns())
            start = _ns(params.get("start"), end - 3600 * NS)
            step = parse_duration(params["step"]) if params.get("step") else max(1.0, (end - start) / NS / 250)
        except (QueryError, ValueError) as exc:
            return web.Response(status=400, text=str(exc))
        if isinstance(query, LogQuery):
            return self._streams_answer(query, start, end, params)
        evaluations = list(range(start, end + 1, int(step * NS)))
        series = _metric(query, self.logs, evaluations)
        result = [
            {"metric": dict(k), "values": [[t / NS, _number(v)] for t, v in zip(evaluations, vs, strict=True) if v]}
            for k, vs in series.items()
        ]
        return _success("matrix", [r for r in result if r["values"]], 0)

    async def instant(self, request: web.Request) -> web.Response:
        try:
            params = await query_params(request)
            query = parse(params.get("query", ""))
            at = _ns(params.get("time"), self._now_ns())
        except (QueryError, ValueError) as exc:
            return web.Response(status=400, text=str(exc))
        if isinstance(query, LogQuery):
            return self._streams_answer(query, at - 3600 * NS, at + 1, params)
        counted = _metric(query, self.logs, [at]).items()
        vector = [{"metric": dict(k), "value": [at / NS, _number(v[0])]} for k, v in counted if v[0]]
        return _success("vector", vector, 0)


def routes(logs: LogStore, now: Callable[[], dt.datetime]) -> web.Application:
    """Loki's API as an aiohttp application."""
    api = LokiApi(logs, now)
    app = web.Application()
    add_query_routes(app, {"/loki/api/v1/query_range": api.query_range, "/loki/api/v1/query": api.instant})
    app.router.add_get("/loki/api/v1/labels", label_names)
    app.router.add_get("/ready", ready)
    return app


async def label_names(_: web.Request) -> web.Response:
    labels = ["app", "container", "job", "level", "namespace", "node_name", "pod"]
    return web.json_response({"status": "success", "data": labels})


async def ready(_: web.Request) -> web.Response:
    return web.Response(text="ready\n")


def _success(kind: str, result: list[dict[str, Any]], entries: int) -> web.Response:
    stats = {"summary": {"totalEntriesReturned": entries}}
    return web.json_response({"status": "success", "data": {"resultType": kind, "result": result, "stats": stats}})
