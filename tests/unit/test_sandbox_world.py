"""The scenarios as the collector will find them, played on a manual clock at the default speed: each
reaches the state that raises its alert (H1..H8) well within the five minutes `make run` promises, through
the same objects, series and logs the sandbox's APIs serve."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import pytest

from healer_common.clock import ManualClock
from healer_common.contract.signals import METRICS
from healer_sandbox import certs, kinds, scenario
from healer_sandbox.apiserver import KubeApiServer
from healer_sandbox.cluster import container_statuses
from healer_sandbox.logs import LogStore, parse_log_query
from healer_sandbox.series import SeriesStore
from healer_sandbox.store import meta
from healer_sandbox.world import World

SPEED = 10.0  # healer sandbox's default
TICK_S, SCRAPE_S = 0.5, 5.0
WITHIN_S = 120.0  # leaves the collector and the detector three of the five minutes


def make_world(*names: str, pods: int = 0, hold: bool = False) -> tuple[World, ManualClock]:
    clock = ManualClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    api = KubeApiServer(clock=clock)
    world = World(
        api.store,
        clock,
        speed=SPEED,
        logs=LogStore(100_000),
        series=SeriesStore(800),
        base=scenario.base_cluster(),
        scenarios=scenario.load(list(names)),
        filler_pods=pods,
        hold=hold,
    )
    world.settle()
    return world, clock


def play_until(world: World, clock: ManualClock, reached: Callable[[World], bool], limit_s: float) -> float:
    """Wall seconds until `reached` holds (scraping as Prometheus would); fails past `limit_s`."""
    waited = 0.0
    while waited <= limit_s:
        clock.advance(TICK_S)
        waited += TICK_S
        world.step()
        if waited % SCRAPE_S == 0:
            world.scrape()
        if reached(world):
            return waited
    pytest.fail(f"not reached within {limit_s}s of wall time")


def value(world: World, signal: str, **labels: str) -> float | None:
    now = world.clock.now().timestamp()
    found = [p.value for p in world.series.instant(signal, now) if all(p.labels.get(k) == v for k, v in labels.items())]
    return found[0] if found else None


def pods(world: World, prefix: str) -> list[dict]:  # type: ignore[type-arg]
    return [p for p in world.cluster.store.items(kinds.PODS, "cto") if meta(p)["name"].startswith(prefix)]


def oom_killed(world: World) -> bool:
    return any(
        (s.get("lastState") or {}).get("terminated", {}).get("reason") == "OOMKilled"
        for p in pods(world, "rex-worker")
        for s in container_statuses(p).values()
    )


def pull_failing(world: World) -> bool:
    return any(
        (s.get("state") or {}).get("waiting", {}).get("reason") in {"ImagePullBackOff", "ErrImagePull"}
        for p in pods(world, "cleo-api")
        for s in container_statuses(p).values()
    )


def out_of_sync(world: World) -> bool:
    app = world.cluster.store.get(kinds.APPLICATIONS, "argocd", "cto-agents")
    return bool(app and app["status"]["sync"]["status"] == "OutOfSync")


def dns_down(world: World) -> bool:
    """CoreDNS's Service has no ready endpoint (EndpointsEmpty) and the gateway logs failed lookups."""
    endpoints = world.cluster.store.get(kinds.ENDPOINTS, "kube-system", "coredns") or {}
    ready = [a for subset in endpoints.get("subsets") or [] for a in subset.get("addresses") or []]
    return not ready and dns_failures(world)


def dns_failures(world: World) -> bool:
    return bool(
        world.cluster.logs.select(parse_log_query('{namespace="cto", app="gateway"} |= "server misbehaving"'), 0, 2**63)
    )


TRIGGERS: dict[str, tuple[str, Callable[[World], bool]]] = {
    "H1": ("argocd-drift", out_of_sync),
    "H2": ("pvc-filling", lambda w: (value(w, "pvc_usage_ratio", persistentvolumeclaim="build-cache") or 0) > 0.8),
    "H3": (
        "certificate-expiry",
        lambda w: (value(w, "certificate_expiry_seconds", certificate="gateway-tls") or 1e9) < 7 * 86400,
    ),
    "H4": ("bad-image", pull_failing),
    "H5": ("dns-failures", dns_down),
    "H6": ("db-pool", lambda w: (value(w, "db_connection_pool_usage_ratio", database="agents-db") or 0) >= 0.99),
    "H7": ("queue-growing", lambda w: (value(w, "queue_depth", queue="builds") or 0) > 1000),
    "H8": ("leaking-pod", oom_killed),
}


@pytest.mark.parametrize("alert", sorted(TRIGGERS))
def test_each_scenario_reaches_the_state_that_raises_its_alert_within_two_minutes(alert: str) -> None:
    name, reached = TRIGGERS[alert]
    world, clock = make_world(name)
    assert alert in scenario.load([name])[0].alerts
    assert play_until(world, clock, reached, WITHIN_S) <= WITHIN_S


def test_the_leaking_pod_climbs_is_killed_restarts_low_and_leaks_again() -> None:
    world, clock = make_world("leaking-pod")
    readings: list[float] = []

    def killed_twice(w: World) -> bool:
        if (reading := value(w, "container_memory_usage_ratio", container="rex")) is not None:
            readings.append(reading)
        restarts = [s.get("restartCount", 0) for p in pods(w, "rex-worker") for s in container_statuses(p).values()]
        return max(restarts, default=0) >= 2

    play_until(world, clock, killed_twice, 240)
    assert max(readings) > 0.9, "the working set climbed towards the limit"
    assert any(b < a - 0.3 for a, b in itertools.pairwise(readings)), "it restarted low"
    events = {e["reason"] for e in world.cluster.store.items(kinds.EVENTS, "cto")}
    assert "BackOff" in events


def rex_restarts(world: World) -> int:
    return sum(s.get("restartCount", 0) for p in pods(world, "rex-worker") for s in container_statuses(p).values())


def play_for(world: World, clock: ManualClock, seconds: float) -> None:
    """Step the world for `seconds` of wall time."""
    waited = 0.0
    while waited < seconds:
        clock.advance(TICK_S)
        waited += TICK_S
        world.step()


def test_the_leak_ends_with_its_backlog_and_the_memory_it_took_stays() -> None:
    world, clock = make_world("leaking-pod")
    play_for(world, clock, 19 * 60 / SPEED)  # the 19 scenario minutes the backlog lasts
    kills = rex_restarts(world)
    before = dict(world.cluster.memory)

    play_for(world, clock, 60)  # ten scenario minutes more: a pod still leaking would be killed again

    assert rex_restarts(world) == kills
    assert world.cluster.memory == before


def test_a_held_scenario_plays_only_when_replayed_and_a_replay_plays_the_same_incident_again() -> None:
    world, clock = make_world("leaking-pod", hold=True)
    play_for(world, clock, 120)
    assert not oom_killed(world), "held: nothing leaks until asked"

    world.replay("leaking-pod")
    first = play_until(world, clock, oom_killed, 60)
    play_for(world, clock, 120)  # past the backlog: quiet again
    killed, victims = rex_restarts(world), {meta(p)["name"] for p in pods(world, "rex-worker")}
    world.replay("leaking-pod")
    again = play_until(world, clock, lambda w: rex_restarts(w) > killed, 60)

    assert again == pytest.approx(first, abs=1.0), "the same incident, as long in the making"
    assert {meta(p)["name"] for p in pods(world, "rex-worker")} == victims, "on the same workload and pod"
    assert world.replays["leaking-pod"] == clock.now() - dt.timedelta(seconds=again)


def test_replaying_a_scenario_that_is_not_loaded_names_those_that_are() -> None:
    world, _ = make_world("leaking-pod")
    with pytest.raises(KeyError, match="no scenario 'bad-image' is loaded; loaded: leaking-pod"):
        world.replay("bad-image")


def test_the_certificate_expiry_is_read_from_the_pem_in_its_secret() -> None:
    world, _ = make_world("certificate-expiry")
    secret = world.cluster.store.get(kinds.SECRETS, "cto", "gateway-tls")
    assert secret is not None
    assert secret["type"] == "kubernetes.io/tls"
    expires = certs.not_after(certs.from_secret_data(secret["data"]))
    assert dt.timedelta(days=4, hours=23) < expires - world.clock.now() <= dt.timedelta(days=5)
    certificate = world.cluster.store.get(kinds.CERTIFICATES, "cto", "gateway-tls")
    assert certificate is not None
    assert certificate["status"]["notAfter"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_quiet_start_records_no_events_and_every_pod_runs_on_a_node() -> None:
    world, _ = make_world(pods=300)
    all_pods = list(world.cluster.store.items(kinds.PODS))
    assert len(all_pods) >= 300
    assert all(p["status"]["phase"] == "Running" and p["spec"]["nodeName"] for p in all_pods)
    assert world.cluster.store.count(kinds.EVENTS) == 0
    per_node: dict[str, int] = {}
    for pod in all_pods:
        per_node[pod["spec"]["nodeName"]] = per_node.get(pod["spec"]["nodeName"], 0) + 1
    nodes = {meta(n)["name"]: n for n in world.cluster.store.items(kinds.NODES)}
    assert all(count <= int(nodes[name]["status"]["allocatable"]["pods"]) for name, count in per_node.items())


def test_pod_signals_carry_the_topology_the_correlator_ranks_by() -> None:
    world, clock = make_world("leaking-pod")
    play_until(world, clock, lambda w: value(w, "container_memory_usage_ratio", container="rex") is not None, 30)
    pod = pods(world, "rex-worker")[0]
    labels = pod["metadata"]["labels"]
    assert labels["agent"] == "5DLabs-Rex"
    assert labels["task-id"] == "1042"
    assert labels["app.kubernetes.io/instance"] == "cto-agents"
    owner = pod["metadata"]["ownerReferences"][0]
    rs = world.cluster.store.get(kinds.REPLICASETS, "cto", owner["name"])
    assert owner["kind"] == "ReplicaSet"
    assert rs is not None
    assert rs["metadata"]["ownerReferences"][0]["name"] == "rex-worker"
    series = next(
        p
        for p in world.series.instant("container_memory_usage_ratio", clock.now().timestamp())
        if p.labels["container"] == "rex"
    )
    assert series.labels == {"namespace": "cto", "pod": meta(pod)["name"], "container": "rex"}, "signals.py's labels"
    assert set(series.labels) == set(METRICS["container_memory_usage_ratio"].labels)


def batch_pods(world: World) -> list[dict]:  # type: ignore[type-arg]
    return [p for p in pods(world, "batch-runner") if p.get("status", {}).get("phase") == "Running"]


def node_ready(world: World, name: str) -> str:
    node = world.cluster.store.get(kinds.NODES, None, name) or {}
    return str(next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"))


def test_a_node_whose_kubelet_stops_is_unknown_and_marks_only_its_own_pods_not_ready_until_it_returns() -> None:
    world, clock = make_world("node-not-ready", "leaking-pod")
    placed = {meta(p)["name"]: p["spec"]["nodeName"] for p in batch_pods(world)}
    others = {p["spec"].get("nodeName") for p in pods(world, "rex-worker")}

    play_until(world, clock, lambda w: node_ready(w, "sandbox-batch-1") == "Unknown", WITHIN_S)
    ready = {
        meta(p)["name"]: next(c["status"] for c in p["status"]["conditions"] if c["type"] == "Ready")
        for p in batch_pods(world)
    }
    play_until(world, clock, lambda w: node_ready(w, "sandbox-batch-1") == "True", 300.0)

    assert sorted(placed.values()) == ["sandbox-batch-1", "sandbox-batch-1", "sandbox-batch-2"]
    assert not others & {"sandbox-batch-1", "sandbox-batch-2"}, "the batch nodes are dedicated: no one else's pods"
    assert ready == {name: "False" if node == "sandbox-batch-1" else "True" for name, node in placed.items()}
    assert all(
        c["status"] == "True" for p in batch_pods(world) for c in p["status"]["conditions"] if c["type"] == "Ready"
    ), "back up, its pods report ready again"
