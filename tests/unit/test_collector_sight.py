"""What the collector can see: a source that cannot reach its system says so once, says so again when it
recovers, and the cluster's health follows its sources."""

from __future__ import annotations

import datetime as dt

from services.collector.observations import Observation
from services.collector.sight import SourceSight, cluster_health

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def reasons(found: list[Observation]) -> list[str]:
    return [o.condition.reason for o in found]


def test_a_source_is_unreachable_only_when_a_part_s_tries_run_out_and_says_so_once() -> None:
    sight = SourceSight("kubernetes", T0, unreachable_after=3)
    sight.reached("pods", T0)

    blip = [sight.unreachable(part, "connection refused", at(1)) for part in ("pods", "nodes", "events")]
    sight.unreachable("pods", "connection refused", at(2))
    third = sight.unreachable("pods", "connection refused", at(3))
    fourth = sight.unreachable("nodes", "connection refused", at(4))

    assert blip == [[], [], []], "every watch cut at once by one restart is not yet an outage"
    assert reasons(third) == ["SourceUnreachable"]
    assert fourth == []
    condition = third[0].condition
    assert condition.resource.kind == "Source"
    assert condition.resource.name == "kubernetes"
    assert condition.message == "kubernetes cannot be read: connection refused"
    assert sight.state == "Unreachable"
    assert sight.since == at(3)


def test_a_success_between_failures_starts_the_count_again() -> None:
    sight = SourceSight("kubernetes", T0, unreachable_after=2)
    sight.unreachable("pods", "timeout", at(1))
    sight.reached("nodes", at(2))

    assert sight.unreachable("pods", "timeout", at(3)) == []
    assert sight.health().state == "Healthy"


def test_a_source_that_reads_again_says_it_is_healthy() -> None:
    sight = SourceSight("prometheus", T0, unreachable_after=1)
    sight.reached("q", T0)
    sight.unreachable("q", "timeout", at(1))

    recovered = sight.reached("q", at(2))

    assert reasons(recovered) == ["SourceHealthy"]
    assert sight.health().state == "Healthy"
    assert sight.reached("q", at(3)) == [], "healthy is said once, not at every read"


def test_the_first_successful_read_announces_the_source_healthy() -> None:
    sight = SourceSight("loki", T0)

    assert sight.state == "Connecting"
    assert reasons(sight.reached("errors", at(1))) == ["SourceHealthy"]


def test_a_refused_part_degrades_the_source_until_that_part_reads_again() -> None:
    sight = SourceSight("kubernetes", T0)
    sight.reached("pods", T0)

    assert sight.degraded("secrets", "secrets: HTTP 403 Forbidden", at(1)) == []
    assert sight.health().state == "Degraded"
    assert sight.health().error == "secrets: HTTP 403 Forbidden"
    sight.reached("pods", at(2))
    assert sight.health().state == "Degraded"
    sight.reached("secrets", at(3))
    assert sight.health().state == "Healthy"


def test_the_cluster_is_unreachable_when_its_api_is_since_then_and_degraded_for_any_other_source() -> None:
    kube, prom = SourceSight("kubernetes", T0), SourceSight("prometheus", T0, unreachable_after=1)
    kube.reached("pods", T0)
    prom.reached("q", T0)
    healthy = cluster_health("prod", [kube, prom], None, at(1))
    prom.unreachable("q", "HTTP 503: down", at(2))
    degraded = cluster_health("prod", [kube, prom], healthy, at(3))
    for second in (4, 5, 6):
        kube.unreachable("pods", "connection refused", at(second))  # one watch, its three tries
    unreachable = cluster_health("prod", [kube, prom], degraded, at(7))

    assert str(healthy) == "Healthy"
    assert str(degraded) == "Degraded(prometheus unreachable: HTTP 503: down)"
    assert degraded.since == at(3)
    assert unreachable.state == "Unreachable"
    assert unreachable.since == at(6)
    assert str(unreachable) == "Unreachable(since 2026-01-05T09:00:06+00:00)"


def test_a_cluster_whose_sources_have_not_answered_yet_is_degraded_not_healthy() -> None:
    health = cluster_health("prod", [SourceSight("kubernetes", T0)], None, at(1))

    assert str(health) == "Degraded(kubernetes connecting)"
