"""The collector's github source against the sandbox's GitHub (the same stand-in `make run` plays stories on):
it reads a repository's pull requests at start, learns of a new comment from GitHub's signed webhook within
seconds rather than at its next poll, pays nothing for what has not changed (ETags), publishes the quota it
has left, and refuses a webhook whose signature does not match."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from healer_common.clock import SystemClock
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.runtime.servers import LOOPBACK, free_port
from healer_common.testing import Recorder, ServiceRunner, eventually, recording
from healer_sandbox.github import GitHub
from healer_sandbox.github_api import GitHubApi
from healer_sandbox.listener import Listener

pytestmark = pytest.mark.integration
REPO = "5dlabs/cto"
SECRET = "webhook-secret-for-tests"


@dataclass
class StandIn:
    github: GitHub
    api: GitHubApi
    url: str


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    github = GitHub(SystemClock())
    collector_port = free_port()
    api = GitHubApi(github, webhooks=[f"http://{LOOPBACK}:{collector_port}/github/webhook"], secret=SECRET)
    listener = Listener("github", api.app(), LOOPBACK, 0)
    await listener.start()
    await api.start()
    try:
        yield StandIn(github, api, listener.url)
    finally:
        await api.stop()
        await listener.stop()


def said(reason: str, **labels: str) -> Any:
    def matches(message: RawMessage) -> bool:
        body = json.loads(message.data)
        data = body.get("data", {})
        return data.get("reason") == reason and all(data.get("labels", {}).get(k) == v for k, v in labels.items())

    return matches


async def collector(services: ServiceRunner, stand_in: StandIn) -> int:
    port = int(stand_in.api.webhooks[0].split(":")[2].split("/")[0])
    services.configure("http", port=port)
    services.configure(
        "github", repositories=[REPO], api_url=stand_in.url, interval_s=600.0, webhook_secret=SECRET, token="t"
    )
    services.start("collector")
    await services.wait_running("collector")
    return port


async def test_pull_requests_are_read_at_start_and_a_signed_webhook_brings_a_new_comment_at_once(
    services: ServiceRunner, bus: BusClient, stand_in: StandIn
) -> None:
    github = stand_in.github
    github.open_pull(REPO, 7, "task-7: sign-in page", branch="feature/task-7", login="5DLabs-Rex", labels=["task-7"])
    github.commit(REPO, 7, "5DLabs-Rex", "sign-in page", ago=600)
    github.comment(REPO, 7, "5DLabs-Rex", "Implementation done")
    async with recording(bus, bus.space.all_events) as seen:
        await collector(services, stand_in)
        await seen.wait_for(said("PullRequestOpen", pr="7", **{"task-id": "7"}), timeout=30, what="the PR read")
        await seen.wait_for(said("PullRequestComment", author="5DLabs-Rex"), what="its comment")
        await seen.wait_for(lambda m: m.subject.endswith(".change"), what="its head commit as a change")
        spent = github.quota.used

        github.comment(REPO, 7, "5DLabs-Cleo", "LGTM")  # the webhook is the only way to hear of it within 10 min

        await seen.wait_for(said("PullRequestComment", author="5DLabs-Cleo"), timeout=10, what="the webhook's nudge")
        changed = github.quota.used - spent
        assert 0 < changed < 6, f"only the list and the comments that changed cost quota; {changed} did"
        quota = await eventually(lambda: _quota(seen), what="the quota left published")
        assert quota == pytest.approx(github.quota.remaining(github.clock.now()) / github.quota.limit, abs=0.01)


def _quota(seen: Recorder) -> float | None:
    for body in reversed(seen.bodies()):
        for sample in body.get("data", {}).get("samples", []):
            if sample["name"] == "ratelimit_remaining_ratio" and sample["labels"] == {"target": "github"}:
                return float(sample["value"])
    return None


async def test_a_webhook_whose_signature_does_not_match_is_refused(services: ServiceRunner, stand_in: StandIn) -> None:
    port = await collector(services, stand_in)
    body = json.dumps({"repository": {"full_name": REPO}, "action": "opened"}).encode()
    headers = {"x-github-event": "pull_request", "x-hub-signature-256": "sha256=" + "0" * 64}
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"http://{LOOPBACK}:{port}/github/webhook", content=body, headers=headers)
    assert answer.status_code == 401
    assert "X-Hub-Signature-256" in answer.json()["error"]
