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

from healer_sandbox.logs import LogLine, LogQuery, LogStore, MetricQuery, parse
from healer_sandbox.promql import QueryError
from healer_sandbox.units import parse_duration, parse_time

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


def routes(logs: LogStore, now: Callable[[], dt.datetime]) -> web.Application:
    def now_ns() -> int:
        return int(now().timestamp() * NS)

    async def params_of(request: web.Request) -> dict[str, str]:
        form = await request.post() if request.method == "POST" else {}
        return {**{k: str(v) for k, v in form.items()}, **request.query}

    async def query_range(request: web.Request) -> web.Response:
        try:
            params = await params_of(request)
            query = parse(params.get("query", ""))
            end = _ns(params.get("end"), now_ns())
            start = _ns(params.get("start"), end - 3600 * NS)
            limit = int(params.get("limit") or DEFAULT_LIMIT)
            step = parse_duration(params["step"]) if params.get("step") else max(1.0, (end - start) / NS / 250)
        except (QueryError, ValueError) as exc:
            return web.Response(status=400, text=str(exc))
        if isinstance(query, LogQuery):
            lines = logs.select(query, start, end)
            streams = _streams(lines, limit, params.get("direction", "backward") == "backward")
            return _success("streams", streams, sum(len(s["values"]) for s in streams))
        evaluations = list(range(start, end + 1, int(step * NS)))
        series = _metric(query, logs, evaluations)
        result = [
            {"metric": dict(k), "values": [[t / NS, _number(v)] for t, v in zip(evaluations, vs, strict=True) if v]}
            for k, vs in series.items()
        ]
        return _success("matrix", [r for r in result if r["values"]], 0)

    async def instant(request: web.Request) -> web.Response:
        try:
            params = await params_of(request)
            query = parse(params.get("query", ""))
            at = _ns(params.get("time"), now_ns())
            limit = int(params.get("limit") or DEFAULT_LIMIT)
        except (QueryError, ValueError) as exc:
            return web.Response(status=400, text=str(exc))
        if isinstance(query, LogQuery):
            lines = logs.select(query, at - 3600 * NS, at + 1)
            streams = _streams(lines, limit, params.get("direction", "backward") == "backward")
            return _success("streams", streams, sum(len(s["values"]) for s in streams))
        counted = _metric(query, logs, [at]).items()
        vector = [{"metric": dict(k), "value": [at / NS, _number(v[0])]} for k, v in counted if v[0]]
        return _success("vector", vector, 0)

    async def label_names(_: web.Request) -> web.Response:
        return web.json_response(
            {"status": "success", "data": ["app", "container", "job", "level", "namespace", "node_name", "pod"]}
        )

    async def ready(_: web.Request) -> web.Response:
        return web.Response(text="ready\n")

    app = web.Application()
    for path, handler in (("/loki/api/v1/query_range", query_range), ("/loki/api/v1/query", instant)):
        app.router.add_get(path, handler)
        app.router.add_post(path, handler)
    app.router.add_get("/loki/api/v1/labels", label_names)
    app.router.add_get("/ready", ready)
    return app


def _success(kind: str, result: list[dict[str, Any]], entries: int) -> web.Response:
    stats = {"summary": {"totalEntriesReturned": entries}}
    return web.json_response({"status": "success", "data": {"resultType": kind, "result": result, "stats": stats}})
