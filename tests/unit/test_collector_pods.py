"""Pods read the way an SRE reads `kubectl describe pod`: what the collector reports for each state, with the
topology labels the correlator ranks root causes by, and nothing twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.collector.observations import Observation
from services.collector.sources import samples
from services.collector.sources.pods import PodRules, PodTracker, pod_observations
from services.collector.topology import Topology

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
RULES = PodRules()


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def reasons(found: list[Observation]) -> list[str]:
    return [o.condition.reason for o in found]


def observed(pod: dict[str, Any], place: dict[str, str] | None = None) -> list[Observation]:
    return pod_observations(pod, place or {}, RULES, NOW)


def about(found: list[Observation], reason: str) -> Observation:
    return next(o for o in found if o.condition.reason == reason)


def test_a_running_pod_with_ready_containers_is_running_since_its_start_and_ready() -> None:
    found = observed(samples.pod("rex-1", startTime="2026-01-05T08:40:00Z"))

    assert reasons(found) == ["PodRunning", "Ready"]
    assert about(found, "Ready").condition.labels == {"namespace": "cto", "pod": "rex-1"}
    assert about(found, "PodRunning").condition.labels["since"] == "2026-01-05T08:40:00Z"


def test_a_pod_whose_node_stopped_posting_is_not_ready_though_its_containers_last_said_ready() -> None:
    pod = samples.pod("batch-runner-1")
    marked = {
        "type": "Ready",
        "status": "False",
        "reason": "NodeNotReady",
        "lastTransitionTime": "2026-01-05T08:59:00Z",
    }
    pod["status"]["conditions"] = [c for c in pod["status"].get("conditions") or [] if c["type"] != "Ready"] + [marked]

    found = observed(pod, {"node": "sandbox-batch-1"})

    assert reasons(found) == ["PodRunning", "ContainerNotReady"]
    assert about(found, "ContainerNotReady").condition.labels["method"] == "conditions_false"
    assert about(found, "ContainerNotReady").condition.labels["node"] == "sandbox-batch-1"


def test_an_oom_kill_names_the_container_its_limit_and_the_restarts() -> None:
    container = samples.running("rex", restarts=2) | {"lastState": samples.terminated("OOMKilled", 137, ago(20))}

    found = observed(samples.pod("rex-1", containers=[container], memory_limit="512Mi"))

    oom = about(found, "OOMKilled")
    assert oom.condition.resource.container == "rex"
    assert oom.condition.message == "container rex was OOMKilled (limit 512Mi)"
    assert oom.condition.labels["restarts"] == "2"
    assert reasons(found) == ["PodRunning", "OOMKilled"], "a pod just OOM-killed is not Ready in the same breath"


def test_an_oom_kill_long_ago_is_history_not_news() -> None:
    container = samples.running("rex", restarts=1) | {"lastState": samples.terminated("OOMKilled", 137, ago(3600))}

    assert reasons(observed(samples.pod("rex-1", containers=[container]))) == ["PodRunning", "Ready"]


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull"])
def test_an_image_that_does_not_come_is_reported_with_the_image(reason: str) -> None:
    container = samples.waiting("rex", reason, image="example/rex:typo")

    found = observed(samples.pod("rex-1", phase="Pending", containers=[container]))

    assert reasons(found) == [reason]
    assert found[0].condition.labels["image"] == "example/rex:typo"


def test_a_crash_loop_carries_the_restarts_summed_over_containers() -> None:
    containers = [samples.waiting("rex", "CrashLoopBackOff", restarts=3), samples.running("sidecar", restarts=2)]

    found = observed(samples.pod("rex-1", containers=containers))

    assert reasons(found) == ["PodRunning", "CrashLoopBackOff"]
    assert about(found, "CrashLoopBackOff").condition.labels["restarts"] == "5"


@pytest.mark.parametrize(
    ("container", "method"),
    [
        (samples.running("rex", ready=False, started=ago(5)), "not_ready"),
        (samples.running("rex", ready=False, restarts=3), "restart_count"),
        (
            samples.running("rex", ready=False, restarts=1) | {"lastState": samples.terminated("Error", 2, ago(9))},
            "non_zero_exit",
        ),
        (
            {"name": "rex", "ready": False, "restartCount": 0, "state": samples.terminated("Error", 1, ago(10))},
            "terminated_non_zero",
        ),
    ],
)
def test_a_running_pod_with_a_dead_container_reports_how_it_was_seen(container: dict[str, Any], method: str) -> None:
    found = observed(samples.pod("rex-1", containers=[container]))

    dead = about(found, "ContainerNotReady")
    assert dead.condition.labels["method"] == method
    assert dead.condition.resource.container == "rex"


def test_a_not_ready_container_is_reported_at_once_for_the_detector_to_hold() -> None:
    """A2's "not ready after 30 s" is the detector's hold; the collector says what it sees when it sees it."""
    starting = samples.pod("rex-1", containers=[samples.running("rex", ready=False, started=NOW)])

    assert reasons(observed(starting)) == ["PodRunning", "ContainerNotReady"]


def test_a_pod_whose_ready_condition_stays_false_with_ready_containers_is_reported_by_conditions() -> None:
    conditions = [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-05T08:58:00Z"}]
    pod = samples.pod("rex-1", containers=[samples.running("rex")], conditions=conditions)
    pod["status"]["containerStatuses"] = []  # readiness gates: no container status to blame

    found = observed(pod)

    assert about(found, "ContainerNotReady").condition.labels["method"] == "conditions_false"


def test_failed_and_evicted_pods_say_so() -> None:
    assert reasons(observed(samples.pod("rex-1", phase="Failed", message="exit 1"))) == ["Failed"]
    evicted = observed(samples.pod("rex-2", phase="Failed", reason="Evicted", message="node low on memory"))
    assert reasons(evicted) == ["Evicted"]
    assert evicted[0].condition.message == "node low on memory"


def test_every_pod_signal_carries_its_topology() -> None:
    topology = Topology()
    topology.observe_replicaset(("cto", "api-7d9"), samples.replicaset("api-7d9", "api"))
    pod = samples.pod(
        "api-7d9-x2",
        owner=("ReplicaSet", "api-7d9"),
        labels={"argocd.argoproj.io/instance": "platform", "agent": "5DLabs-Rex", "task-id": "42"},
        containers=[samples.waiting("api", "CrashLoopBackOff", restarts=4)],
    )
    tracker = PodTracker(topology, RULES)

    found = tracker.observe(pod, NOW).conditions

    assert about(found, "CrashLoopBackOff").condition.labels == {
        "namespace": "cto",
        "pod": "api-7d9-x2",
        "container": "api",
        "restarts": "4",
        "node": "node-1",
        "owner_kind": "ReplicaSet",
        "owner_name": "api-7d9",
        "deployment": "api",
        "application": "platform",
        "agent": "5DLabs-Rex",
        "task-id": "42",
    }


def test_an_oom_kill_is_reported_before_the_crash_loop_it_causes() -> None:
    """The first alert names the incident and picks its playbook: memory pressure (H8), not pod failure (A7)."""
    killed = samples.waiting("rex", "CrashLoopBackOff", restarts=1) | {
        "lastState": samples.terminated("OOMKilled", 137, ago(1))
    }

    found = observed(samples.pod("rex-1", containers=[killed]))

    assert reasons(found) == ["PodRunning", "OOMKilled", "CrashLoopBackOff"]


def test_a_pod_seen_again_unchanged_is_not_reported_again() -> None:
    tracker = PodTracker(Topology(), RULES)
    crashing = samples.pod("rex-1", containers=[samples.waiting("rex", "CrashLoopBackOff", restarts=3)])

    first = tracker.observe(crashing, NOW)
    again = tracker.observe(crashing, NOW)
    after_resync = tracker.resync(NOW)

    assert reasons(first.conditions) == ["PodRunning", "CrashLoopBackOff"]
    assert not again
    assert not after_resync


def test_a_new_crash_of_the_same_loop_is_news_and_so_is_the_recovery() -> None:
    tracker = PodTracker(Topology(), RULES)
    tracker.observe(samples.pod("rex-1", containers=[samples.waiting("rex", "CrashLoopBackOff", restarts=3)]), NOW)

    crashed_again = tracker.observe(
        samples.pod("rex-1", containers=[samples.waiting("rex", "CrashLoopBackOff", restarts=4)]), NOW
    )
    recovered = tracker.observe(samples.pod("rex-1", containers=[samples.running("rex", restarts=4)]), NOW)

    assert reasons(crashed_again.conditions) == ["CrashLoopBackOff"]
    assert reasons(recovered.conditions) == ["Ready"]


def test_a_pod_becomes_ready_at_resync_once_its_oom_kill_is_history() -> None:
    tracker = PodTracker(Topology(), RULES)
    killed = samples.running("rex", restarts=1) | {"lastState": samples.terminated("OOMKilled", 137, ago(10))}

    assert reasons(tracker.observe(samples.pod("rex-1", containers=[killed]), NOW).conditions) == [
        "PodRunning",
        "OOMKilled",
    ]
    later = tracker.resync(NOW + dt.timedelta(seconds=RULES.history_after_s))

    assert reasons(later.conditions) == ["Ready"]


def test_a_removed_pod_is_forgotten_so_a_new_one_of_that_name_is_reported() -> None:
    tracker = PodTracker(Topology(), RULES)
    tracker.observe(samples.pod("rex-1"), NOW)

    tracker.remove(("cto", "rex-1"), NOW)

    assert tracker.keys() == []
    assert reasons(tracker.observe(samples.pod("rex-1"), NOW).conditions) == ["PodRunning", "Ready"]


def test_a_pod_gone_while_in_trouble_says_so_once_and_a_healthy_one_leaves_quietly() -> None:
    tracker = PodTracker(Topology(), RULES)
    killed = samples.running("rex", restarts=1) | {"lastState": samples.terminated("OOMKilled", 137, ago(10))}
    tracker.observe(samples.pod("rex-1", containers=[killed]), NOW)
    tracker.observe(samples.pod("tess-1"), NOW)

    gone = tracker.remove(("cto", "rex-1"), NOW).conditions
    quiet = tracker.remove(("cto", "tess-1"), NOW).conditions

    assert reasons(gone) == ["PodDeleted"]
    assert gone[0].condition.resource.name == "rex-1"
    assert quiet == []
    assert tracker.remove(("cto", "rex-1"), NOW).conditions == [], "said once"
