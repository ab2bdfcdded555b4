"""The sandbox's Prometheus and Loki as their HTTP clients meet them (httpx, as the collector reads them):
the documented JSON shapes of vectors, matrices and streams, the collector's `# healer:` queries answered
with the signal's series, plain selectors with matchers, errors as each API gives them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from healer_common.contract.signals import METRICS
from tests.support.sandbox_support import advance, manual_clock, running_sandbox

pytestmark = pytest.mark.integration


async def test_healer_queries_get_the_signal_series_as_a_vector_with_its_labels(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path, "db-pool", "queue-growing") as sandbox,
        httpx.AsyncClient(base_url=sandbox.prometheus.url) as http,
    ):
        assert (await http.get("/-/ready")).status_code == 200
        assert (await http.get("/api/v1/status/buildinfo")).json()["data"]["version"]
        query = "# healer:db_connection_pool_usage_ratio\nmax by (namespace, database) (pg_stat_activity_count)"
        reply = (await http.get("/api/v1/query", params={"query": query})).json()
        assert reply["status"] == "success"
        assert reply["data"]["resultType"] == "vector"
        [sample] = reply["data"]["result"]
        assert sample["metric"] == {"namespace": "cto", "database": "agents-db"}
        stamp, value = sample["value"]
        assert isinstance(stamp, float)
        assert isinstance(value, str)
        assert 0 < float(value) <= 1
        for signal in ("container_memory_usage_ratio", "node_memory_usage_ratio", "pvc_usage_ratio", "queue_depth"):
            result = (await http.post("/api/v1/query", data={"query": f"# healer:{signal}\nvector(1)"})).json()["data"][
                "result"
            ]
            if signal != "pvc_usage_ratio":
                assert result, signal
            assert all(set(METRICS[signal].labels) <= set(r["metric"]) for r in result), signal


async def test_range_queries_return_a_matrix_of_the_scraped_history(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "queue-growing", clock=clock) as sandbox:
        start = clock.now().timestamp()
        await advance(sandbox, clock, 60, step=5)
        params = {
            "query": "# healer:queue_depth\nsum(queue)",
            "start": str(start),
            "end": str(start + 60),
            "step": "15s",
        }
        async with httpx.AsyncClient(base_url=sandbox.prometheus.url) as http:
            reply = (await http.get("/api/v1/query_range", params=params)).json()
        assert reply["data"]["resultType"] == "matrix"
        [series] = reply["data"]["result"]
        assert series["metric"] == {"namespace": "cto", "queue": "builds"}
        stamps = [t for t, _ in series["values"]]
        assert stamps == sorted(stamps)
        assert stamps[-1] - stamps[0] == 60
        depths = [float(v) for _, v in series["values"]]
        assert depths == sorted(depths)
        assert depths[-1] > depths[0] + 500, "the queue grew"


async def test_plain_selectors_match_labels_and_anything_else_is_empty(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path, "leaking-pod") as sandbox,
        httpx.AsyncClient(base_url=sandbox.prometheus.url) as http,
    ):
        reply = (
            await http.get(
                "/api/v1/query", params={"query": 'container_restarts{namespace="cto", pod=~"rex-worker-.*"}'}
            )
        ).json()
        [found] = reply["data"]["result"]
        assert found["metric"]["__name__"] == "container_restarts"
        assert found["metric"]["container"] == "rex"
        other = (await http.get("/api/v1/query", params={"query": 'rate(http_requests_total{job="api"}[5m])'})).json()
        assert other == {"status": "success", "data": {"resultType": "vector", "result": []}}
        names = (await http.get("/api/v1/label/__name__/values")).json()["data"]
        assert "container_memory_usage_ratio" in names


async def test_bad_queries_are_refused_with_bad_data(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox, httpx.AsyncClient(base_url=sandbox.prometheus.url) as http:
        for path, params in [
            ("/api/v1/query", {}),
            ("/api/v1/query_range", {"query": "up", "start": "1", "end": "2"}),
            ("/api/v1/query_range", {"query": "up", "start": "0", "end": "100000", "step": "1s"}),
            ("/api/v1/query", {"query": 'up{job=~"("}'}),
            ("/api/v1/query", {"query": "up", "time": "yesterday"}),
        ]:
            reply = await http.get(path, params=params)
            assert reply.status_code == 400, params
            assert reply.json()["errorType"] == "bad_data"
            assert reply.json()["error"]


async def test_loki_returns_the_matching_lines_as_streams_newest_first_within_the_limit(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "dns-failures", clock=clock) as sandbox:
        start = clock.now()
        await advance(sandbox, clock, 20)
        params = {
            "query": '{namespace="cto", app="gateway"} |~ "misbehaving|name resolution" != "cache miss"',
            "start": str(int(start.timestamp() * 1e9)),
            "limit": "5",
        }
        async with httpx.AsyncClient(base_url=sandbox.loki.url) as http:
            assert (await http.get("/ready")).status_code == 200
            reply = (await http.get("/loki/api/v1/query_range", params=params)).json()
            assert reply["status"] == "success"
            assert reply["data"]["resultType"] == "streams"
            entries = [(int(t), line, s["stream"]) for s in reply["data"]["result"] for t, line in s["values"]]
            assert len(entries) == 5
            assert all("server misbehaving" in line for _, line, _ in entries)
            assert all(stream["level"] == "error" and stream["pod"].startswith("gateway-") for _, _, stream in entries)
            newest = max(t for t, _, _ in entries)
            assert newest <= int(clock.now().timestamp() * 1e9)
            forward = (await http.get("/loki/api/v1/query_range", params={**params, "direction": "forward"})).json()
            first = min(int(t) for s in forward["data"]["result"] for t, _ in s["values"])
            assert first < newest


async def test_loki_counts_lines_over_time_and_refuses_what_it_cannot_parse(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "dns-failures", clock=clock) as sandbox:
        start = clock.now()
        await advance(sandbox, clock, 30)
        params = {
            "query": 'sum by (app) (count_over_time({namespace="cto"} |= "server misbehaving" [1m]))',
            "start": start.isoformat(),
            "end": clock.now().isoformat(),
            "step": "10s",
        }
        async with httpx.AsyncClient(base_url=sandbox.loki.url) as http:
            reply = (await http.get("/loki/api/v1/query_range", params=params)).json()
            assert reply["data"]["resultType"] == "matrix"
            [series] = reply["data"]["result"]
            assert series["metric"] == {"app": "gateway"}
            assert max(float(v) for _, v in series["values"]) > 10
            refused = await http.get("/loki/api/v1/query_range", params={"query": 'namespace="cto"'})
            assert refused.status_code == 400
            assert "stream selector" in refused.text
