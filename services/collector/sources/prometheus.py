"""The prometheus source: PromQL queries every `interval_s`, their samples batched as `healer.metrics.v1`.

It runs the default pack (prometheus_pack.py) and the queries in config, each published under its metric
name, with the topology of the pod or PVC a series names (topology.py); a sample naming a pod the watch saw
deleted is dropped (Prometheus answers its last reading a while longer). At start it reads `backfill_s` of
history with `query_range`, so the detector's trends and predictions have data at once; after that, instant
`query`. Through the HTTP API with httpx: retries with backoff (http_reads.py); a query Prometheus refuses
(a PromQL error) makes the source Degraded and the others go on; no answer at all makes it Unreachable.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import httpx

from healer_common.contract.events import MetricSample
from healer_common.settings.collector import PrometheusQuery, PrometheusSourceSettings
from services.collector.observations import Emission, Observation
from services.collector.sources.http_reads import Enrich, Polling, Refused, Unreachable
from services.collector.sources.prometheus_pack import default_pack

SOURCE = "prometheus"


def samples_from(answer: Any, metric: str, enrich: Enrich) -> list[MetricSample]:
    """The samples of a `query` or `query_range` answer (vector, matrix or scalar); NaN and Inf dropped."""
    data = (answer or {}).get("data") or {}
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "scalar":
        result = [{"metric": {}, "value": result}]
    found = []
    for series in result if isinstance(result, list) else []:
        labels = enrich({k: str(v) for k, v in (series.get("metric") or {}).items() if k != "__name__"})
        points = series.get("values") or ([series["value"]] if series.get("value") else [])
        for stamp, text in points:
            try:
                value, when = float(text), dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC)
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                found.append(MetricSample(name=metric, value=value, labels=labels, time=when))
    return found


class PrometheusSource:
    def __init__(self, polling: Polling, settings: PrometheusSourceSettings) -> None:
        self._polling = polling
        self._settings = settings
        self._queries = (default_pack() if settings.default_queries else []) + list(settings.queries)
        self._backfilled = settings.backfill_s <= 0

    async def run(self) -> None:
        await self._polling.every(self._settings.interval_s, self._settings.timeout_s, self.read)

    async def read(self, http: httpx.AsyncClient) -> None:
        """One run of every query: samples published, the sight told how it went."""
        polling, clock, sight = self._polling, self._polling.clock, self._polling.sight
        samples: list[MetricSample] = []
        seen: list[Observation] = []
        for query in self._queries:
            try:
                answer = await polling.get_json(http, *self._request(query, clock.now()))
            except Unreachable as exc:
                seen += sight.unreachable(query.metric, str(exc), clock.now())
                break
            except Refused as exc:
                seen += sight.degraded(query.metric, f"{query.metric}: {exc}", clock.now())
                continue
            samples += [s for s in samples_from(answer, query.metric, polling.enrich) if not polling.gone(s.labels)]
            seen += sight.reached(query.metric, clock.now())
        else:
            self._backfilled = True
        await polling.outbox.emit(SOURCE, Emission(conditions=seen, samples=samples))

    def _request(self, query: PrometheusQuery, now: dt.datetime) -> tuple[str, dict[str, Any]]:
        if self._backfilled:
            return "/api/v1/query", {"query": query.query, "time": now.timestamp()}
        start = now.timestamp() - self._settings.backfill_s
        step = max(1.0, self._settings.interval_s)
        return "/api/v1/query_range", {"query": query.query, "start": start, "end": now.timestamp(), "step": step}
