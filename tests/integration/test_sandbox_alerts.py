"""The embedded default as a newcomer meets it: `healer up` (what `make run` starts) from an empty data directory
plays every sandbox story at once through the real services. Both tests read the same run, recorded from its
first second (tests/support/story_recorder.py), so the second costs only the minutes the heals take beyond the
first's five:

- a plain subscriber of `healer.alerts.*` sees each of H1 to H9 fire within five minutes;
- within ten, the OOM loop, the filling volume and the Argo CD drift are each healed and verified (the alert
  resolved after the action); the node that went down is one incident naming it, its pods' alerts muted, its
  cordon and drain waiting for an admin; the bad image's rollback waits for approval too, and the database
  failover, with no webhook configured, escalates and says why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants
from tests.support.markers import WHOLE_SYSTEM
from tests.support.story_recorder import StoryRecorder

pytestmark = [pytest.mark.integration, WHOLE_SYSTEM]
CATALOGUE_SEEN = {"H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8", "H9"}
FIVE_MINUTES, TEN_MINUTES = 300.0, 600.0
HEALED = {
    "oom-restart-then-scale": "rex-worker",
    "pvc-cleanup": "build-cache",
    "argocd-drift-resync": "cto-agents",
}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoryRecorder]:
    running: Up = start_up(tmp_path_factory.mktemp("stories"))
    recorder = StoryRecorder(running.nats_port).start()
    yield recorder
    recorder.stop()
    stop_with_descendants(running.process)


def first_firing(story: StoryRecorder) -> dict[str, float]:
    first: dict[str, float] = {}
    for seen in story.of("alerts"):
        if seen.body["status"] == "firing":
            first.setdefault(seen.body["alert_id"], seen.at_s)
    return first


def runs(story: StoryRecorder, state: str, playbook: str) -> list[dict[str, Any]]:
    return [s.body for s in story.of("remediations") if s.body["state"] == state and s.body["playbook"] == playbook]


def verified(story: StoryRecorder) -> dict[str, float]:
    """Playbook -> seconds from start to its first verified heal of the story's workload."""
    found: dict[str, float] = {}
    for seen in story.of("remediations"):
        run = seen.body
        target = (run.get("target") or {}).get("name") or ""
        wanted = HEALED.get(run["playbook"])
        if run["state"] == "succeeded" and run.get("healed_by") and wanted and target.startswith(wanted):
            found.setdefault(run["playbook"], seen.at_s)
    return found


def run_endings(story: StoryRecorder) -> dict[str, list[str]]:
    """Playbook -> each run's last state on its target, with its reason: what a failure of the heals says."""
    last: dict[str, dict[str, Any]] = {}
    for seen in story.of("remediations"):
        last[seen.body["remediation_id"]] = seen.body
    endings: dict[str, list[str]] = {}
    for run in last.values():
        target = (run.get("target") or {}).get("name") or ""
        endings.setdefault(run["playbook"], []).append(f"{target}: {run['state']} ({run.get('reason') or ''})")
    return endings


def about_the_node(story: StoryRecorder) -> list[dict[str, Any]]:
    """Each revision naming sandbox-batch-1: its title and its alerts (id, target, inhibited_by)."""
    return [
        {
            "incident": seen.body["incident_id"],
            "revision": seen.body["revision"],
            "title": seen.body["title"],
            "alerts": [[a["alert_id"], str(a.get("resource")), a["inhibited_by"]] for a in seen.body["alerts"]],
        }
        for seen in story.of("incidents")
        if "sandbox-batch-1" in json.dumps(seen.body)
    ]


def node_incident(story: StoryRecorder) -> dict[str, Any] | None:
    """The latest revision of the incident about sandbox-batch-1 once it holds the node and a muted pod."""
    for seen in reversed(story.of("incidents")):
        alerts = seen.body["alerts"]
        on_node = any(
            a["alert_id"] == "H9" and (a.get("resource") or {}).get("name") == "sandbox-batch-1" for a in alerts
        )
        muted = [a for a in alerts if a["inhibited_by"] and a["labels"].get("node") == "sandbox-batch-1"]
        if on_node and muted:
            return dict(seen.body)
    return None


@pytest.mark.timeout(420)
async def test_make_run_fires_h1_to_h9_from_the_sandbox_within_five_minutes(story: StoryRecorder) -> None:
    await eventually(
        lambda: set(first_firing(story)) >= CATALOGUE_SEEN,
        timeout=FIVE_MINUTES - story.elapsed(),
        interval=1.0,
        what="H1..H9 all fired",
    )
    print("first firing, seconds after start:", {k: round(v) for k, v in sorted(first_firing(story).items())})


@pytest.mark.timeout(720)
async def test_all_stories_at_once_heal_the_oom_loop_the_volume_and_the_drift_and_ask_for_the_rest(
    story: StoryRecorder,
) -> None:
    try:
        await eventually(
            lambda: set(verified(story)) >= set(HEALED),
            timeout=max(1.0, TEN_MINUTES - story.elapsed()),
            interval=1.0,
            what=f"verified heals of {', '.join(HEALED)}",
        )
    except BaseException:
        print("what became of each run:", json.dumps(run_endings(story), indent=1))
        raise
    print("verified, seconds after start:", {k: round(v) for k, v in sorted(verified(story).items())})
    try:
        incident = await eventually(lambda: node_incident(story), timeout=60, interval=1.0, what="the node's incident")
    except BaseException:
        print("incidents about the node:", json.dumps(about_the_node(story), indent=1))
        raise
    await eventually(
        lambda: runs(story, "awaiting_approval", "node-down-cordon-drain"), timeout=60, what="the drain asking"
    )

    assert incident["title"].startswith("node down: node sandbox-batch-1"), incident["title"]
    muted = [a for a in incident["alerts"] if a["inhibited_by"]]
    assert all(a["inhibited_by"][0].startswith("node down mutes its pods") for a in muted)
    assert runs(story, "awaiting_approval", "bad-image-rollback"), "the rollback asks before it acts"
    [*_, failover] = runs(story, "failed", "database-failover") or [{"reason": "none", "steps": []}]
    assert "not configured" in failover["steps"][0]["detail"], failover
    assert [s["action"] for s in failover["steps"]] == ["database_failover", "escalate"]
