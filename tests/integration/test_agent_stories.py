"""`make run` as the agent platform's SRE meets it: the sandbox's GitHub plays four pull request stories, and
within five minutes of `healer up` each of A1, A3, A4 and A5 fires, reaches the notifier and becomes a GitHub
issue on the sandbox's GitHub titled `[HEAL-<ID>] <name>: <pod>`, as today's Healer titles them.

Only the agent-stories scenario plays (HEALER_SANDBOX_SCENARIOS), so the figures printed are the stories'
own; on this shared machine they are noisy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest

from healer_common.runtime.servers import port_in_use
from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants
from tests.support.markers import WHOLE_SYSTEM

pytestmark = [pytest.mark.integration, WHOLE_SYSTEM]
FIVE_MINUTES = 300.0
TITLES = {
    "A1": "[HEAL-A1] agent comment order mismatch: task-7101-5dlabs-tess-agent",
    "A3": "[HEAL-A3] stale progress: task-7103-5dlabs-rex-agent",
    "A4": "[HEAL-A4] repeated approval loop: task-7104-5dlabs-cleo-agent",
    "A5": "[HEAL-A5] post-Tess CI failure: task-7105-5dlabs-tess-agent",
}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = start_up(tmp_path, env={"HEALER_SANDBOX_SCENARIOS": "agent-stories"})
    yield running
    stop_with_descendants(running.process)


def issues(endpoints: dict[str, str]) -> dict[str, list[str]]:
    """The sandbox GitHub's `heal` issues by catalogue id: what a person finds in the repository."""
    url = f"{endpoints['github']}/repos/{endpoints['github_platform']}/issues"
    found = httpx.get(url, params={"state": "all", "labels": "heal", "per_page": 100}, timeout=10).json()
    by_id: dict[str, list[str]] = {}
    for issue in found:
        for label in issue["labels"]:
            by_id.setdefault(label["name"].upper(), []).append(issue["title"])
    return by_id


async def first_firings(port: int, since: float) -> dict[str, float]:
    """Each alert id's first firing, seconds after `since`, read back from the alert stream when the issues are
    open (what JetStream stored and when; a core subscription misses what is published while it reconnects)."""
    nc = await nats.connect(f"nats://127.0.0.1:{port}")
    found: dict[str, float] = {}
    try:
        sub = await nc.jetstream().subscribe("healer.alerts.*", ordered_consumer=True)
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=2.0)
                except nats.errors.TimeoutError:
                    return found
                alert = json.loads(msg.data)
                if alert["status"] == "firing":
                    found.setdefault(alert["alert_id"], msg.metadata.timestamp.timestamp() - since)
        finally:
            await sub.unsubscribe()  # an ordered consumer's heartbeat check runs until then
    finally:
        await nc.close()


@pytest.mark.timeout(420)
async def test_make_run_plays_the_agent_stories_into_a1_a3_a4_a5_issues_within_five_minutes(
    up: Up, tmp_path: Path
) -> None:
    started, started_at = time.monotonic(), time.time()
    await eventually(lambda: port_in_use(up.nats_port), timeout=60, what="nats-server listening")
    endpoints_file = tmp_path / "data" / "sandbox" / "sandbox.json"
    await eventually(endpoints_file.is_file, timeout=120, interval=0.5, what="the sandbox serving")
    endpoints = json.loads(endpoints_file.read_text())

    def titled() -> bool:
        found = issues(endpoints)
        return all(title in found.get(alert_id, []) for alert_id, title in TITLES.items())

    remaining = FIVE_MINUTES - (time.monotonic() - started)
    await eventually(titled, timeout=remaining, interval=2.0, what=f"issues {sorted(TITLES.values())}")
    first_seen = await first_firings(up.nats_port, started_at)
    assert set(first_seen) >= set(TITLES), first_seen
    print("first firing, seconds after healer up:", {k: round(v) for k, v in sorted(first_seen.items())})
    print(f"all four issues open {time.monotonic() - started:.0f}s after healer up")
