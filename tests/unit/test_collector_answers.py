"""The answers of Prometheus, Loki and rate-limited APIs, read into samples, log lines and quotas; in each
API's documented shape."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.collector.sources.loki import (
    DEFAULT_QUERIES,
    DnsFailures,
    RecentKeys,
    host_looked_up,
    level_of,
    line_filters,
    records_from,
)
from services.collector.sources.prometheus import samples_from
from services.collector.sources.ratelimit import rate_limit, seconds_until

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def plain(labels: dict[str, str]) -> dict[str, str]:
    return labels


def test_a_prometheus_vector_becomes_samples_under_the_query_s_metric_name() -> None:
    answer = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {
                    "metric": {"__name__": "x", "namespace": "cto", "persistentvolumeclaim": "data"},
                    "value": [1767603600.5, "0.83"],
                },
                {"metric": {"namespace": "cto", "persistentvolumeclaim": "empty"}, "value": [1767603600.5, "NaN"]},
            ],
        },
    }

    found = samples_from(answer, "pvc_usage_ratio", plain)

    assert [(s.name, s.value, s.labels) for s in found] == [
        ("pvc_usage_ratio", 0.83, {"namespace": "cto", "persistentvolumeclaim": "data"})
    ]
    assert found[0].time == dt.datetime(2026, 1, 5, 9, 0, 0, 500000, tzinfo=dt.UTC)


def test_a_prometheus_matrix_keeps_every_point_with_its_time() -> None:
    answer = {
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"node": "n1"},
                    "values": [[NOW.timestamp(), "0.5"], [NOW.timestamp() + 10, "0.6"], [NOW.timestamp() + 20, "+Inf"]],
                }
            ],
        }
    }

    found = samples_from(answer, "node_memory_usage_ratio", plain)

    assert [s.value for s in found] == [0.5, 0.6]
    assert [s.time for s in found] == [NOW, NOW + dt.timedelta(seconds=10)]


def test_a_prometheus_scalar_is_one_unlabelled_sample() -> None:
    found = samples_from({"data": {"resultType": "scalar", "result": [1767603600, "3"]}}, "queue_depth", plain)

    assert [(s.value, s.labels) for s in found] == [(3.0, {})]


def test_loki_streams_become_lines_with_their_labels_the_query_and_a_level() -> None:
    answer = {
        "status": "success",
        "data": {
            "resultType": "streams",
            "result": [
                {
                    "stream": {"namespace": "cto", "app": "gateway"},
                    "values": [
                        ["1767603601000000001", "dial tcp: lookup redis.cto.svc: no such host"],
                        ["1767603600000000000", "level=warn msg=retrying"],
                    ],
                }
            ],
        },
    }

    found, newest, _ = records_from(answer, "dns", plain)

    assert [(r.data.line, r.data.level) for r in found] == [
        ("level=warn msg=retrying", "warning"),
        ("dial tcp: lookup redis.cto.svc: no such host", "info"),
    ]
    assert found[0].data.labels == {"namespace": "cto", "app": "gateway", "query": "dns"}
    assert newest == 1767603601000000001


def test_a_line_a_lax_server_returns_that_the_query_does_not_match_is_not_attributed_to_it() -> None:
    answer = {
        "data": {
            "result": [
                {
                    "stream": {"app": "x"},
                    "values": [["1767603600000000000", "GET /healthz 200"], ["1767603601000000000", "no such host"]],
                }
            ]
        }
    }

    page = records_from(answer, "dns", plain, line_filters(DEFAULT_QUERIES["dns"]))

    assert [r.data.line for r in page.records] == ["no such host"]
    assert page.received == 2, "the cursor and the limit count every line the server sent"


def test_logql_regex_filters_are_read_in_both_quotings() -> None:
    filters = line_filters('{app="api"} |~ `timeout \\d+s` |= "x" |~ "(?i)refused"')

    assert [f.pattern for f in filters] == ["timeout \\d+s", "(?i)refused"]


@pytest.mark.parametrize(
    ("line", "host"),
    [
        ("dial tcp: lookup redis.cto.svc on 10.96.0.10:53: no such host", "redis.cto.svc"),
        ("curl: (6) Could not resolve host: api.github.com", "api.github.com"),
        ("Error: getaddrinfo ENOTFOUND db.internal", "db.internal"),
        ("Failed to resolve 'api.openai.com' ([Errno -2] Name or service not known)", "api.openai.com"),
        ("dns: NXDOMAIN for queue.cto.svc.cluster.local", "queue.cto.svc.cluster.local"),
        ("[Errno -3] Temporary failure in name resolution: redis.cto.svc", "redis.cto.svc"),
        ("temporary failure in name resolution", "an unknown host"),
    ],
)
def test_a_failed_lookup_names_the_host_as_each_resolver_prints_it(line: str, host: str) -> None:
    assert host_looked_up(line) == host


def test_failed_lookups_in_a_pod_s_stream_are_dns_failures_about_that_pod_a_few_a_minute() -> None:
    lines = [[str(1767603600_000000000 + i * 1_000_000_000), "lookup db.cto: no such host"] for i in range(25)]
    answer = {
        "data": {
            "result": [
                {"stream": {"namespace": "cto", "pod": "api-1"}, "values": lines},
                {"stream": {"namespace": "cto", "app": "batch"}, "values": lines[:1]},
            ]
        }
    }

    failures = DnsFailures(every_s=10).of(records_from(answer, "dns", plain).records)

    assert [(f.condition.resource.name, f.condition.labels["host"]) for f in failures] == [("api-1", "db.cto")] * 3
    assert failures[0].condition.message == "lookup of db.cto failed: lookup db.cto: no such host"


def test_a_stream_level_label_wins_over_guessing_from_the_line() -> None:
    assert level_of({"detected_level": "ERROR"}, "all fine") == "error"
    assert level_of({}, "FATAL: out of memory") == "critical"
    assert level_of({}, "request served") == "info"


def test_a_line_read_twice_is_published_once() -> None:
    answer = {"data": {"result": [{"stream": {"app": "x"}, "values": [["1767603600000000000", "error: boom"]]}]}}
    recent = RecentKeys(10)

    first = records_from(answer, "errors", plain).records
    second = records_from(answer, "errors", plain).records

    assert len(recent.fresh(first)) == 1
    assert recent.fresh(second) == []


@pytest.mark.parametrize(
    ("headers", "limit", "remaining", "reset_s"),
    [
        (
            {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "4990",
                "x-ratelimit-reset": str(int(NOW.timestamp()) + 60),
            },
            5000,
            4990,
            60,
        ),
        (
            {
                "x-ratelimit-limit-requests": "500",
                "x-ratelimit-remaining-requests": "499",
                "x-ratelimit-reset-requests": "6m0s",
            },
            500,
            499,
            360,
        ),
        (
            {
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": "2026-01-05T09:00:30Z",
            },
            50,
            0,
            30,
        ),
        ({"ratelimit-limit": "100", "ratelimit-remaining": "10", "ratelimit-reset": "15"}, 100, 10, 15),
        ({"retry-after": "Mon, 05 Jan 2026 09:01:00 GMT"}, None, 0, 60),
    ],
)
def test_each_rate_limit_convention_reads_as_quota_left_and_seconds_to_reset(
    headers: dict[str, str], limit: float | None, remaining: float, reset_s: float
) -> None:
    found = rate_limit(headers, NOW)

    assert found is not None
    assert (found.limit, found.remaining, found.reset_s) == (limit, remaining, reset_s)


def test_no_rate_limit_headers_mean_no_quota() -> None:
    assert rate_limit({"content-type": "application/json"}, NOW) is None


@given(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(["nan", "-5", "inf", "1e400", "3m-2s", "Mon, 99 Foo", "Mon, 05 Jan 2026 09:01:00 -0000"]),
    )
)
def test_any_reset_header_reads_as_seconds_ahead_or_nothing_never_an_error(value: str) -> None:
    found = seconds_until(value, NOW)

    assert found is None or found >= 0
