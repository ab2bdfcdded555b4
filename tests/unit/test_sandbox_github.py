"""The sandbox's GitHub as a scenario author meets it: a pull request story opens its PR and plays each step
once, at its time, the agent steps as CodeRuns labelled for their task; other clients spend the quota at the
rate the scenario says; a paused CodeRun's agent pod stops until it is resumed. The world is stepped by a
manual clock; nothing here serves HTTP."""

from __future__ import annotations

import datetime as dt

from healer_common.clock import ManualClock
from healer_sandbox import kinds, scenario
from healer_sandbox.apiserver import KubeApiServer
from healer_sandbox.logs import LogStore
from healer_sandbox.series import SeriesStore
from healer_sandbox.world import World

STORY = """
name: one-story
summary: a PR, its agent, and other clients spending GitHub's quota
plays:
  - pull_request:
      repository: 5dlabs/cto
      number: 7
      task: 7
      title: sign-in page
      steps:
        - commit: {by: 5DLabs-Rex, message: first cut, ago: 20m}
        - {at: 1m, agent: {app: 5DLabs-Tess, runs: 1h, priority: low}}
        - {at: 2m, review: {by: 5DLabs-Tess, state: APPROVED}}
        - {at: 3m, check: {name: ci/test, conclusion: failure}}
        - {at: 4m, merge: true}
  - api_quota: {per_minute: 60, limit: 1000}
"""


def world(clock: ManualClock) -> World:
    plan = scenario.parse(STORY, "story.yaml")
    api = KubeApiServer(clock=clock)
    played = World(
        api.store,
        clock,
        speed=60.0,
        logs=LogStore(100),
        series=SeriesStore(10),
        base=scenario.base_cluster(),
        scenarios=[plan],
    )
    played.settle()
    return played


def test_a_story_opens_its_pr_and_plays_each_step_once_at_its_time() -> None:
    clock = ManualClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    played = world(clock)
    played.step()
    github = played.cluster.github
    pull = github.pull("5dlabs/cto", 7)
    assert (pull.branch, pull.labels) == ("feature/task-7", ["task-7"])
    assert pull.commits[0].at == clock.now() - dt.timedelta(minutes=20), "back-dated by the wall clock"

    clock.advance(2.5)  # 2.5 minutes of scenario time at speed 60
    played.step()
    played.step()
    [coderun] = played.cluster.store.items(kinds.CODERUNS)
    assert coderun["metadata"]["labels"]["task-id"] == "7"
    assert coderun["metadata"]["labels"]["healer.platform/priority"] == "low"
    assert [r.state for r in pull.reviews] == ["APPROVED"]
    assert pull.checks == [], "its check comes at 3m"

    clock.advance(2.0)
    played.step()
    assert [c.conclusion for c in pull.checks] == ["failure"]
    assert pull.state == "closed"
    assert pull.merged_at is not None
    assert 240 <= github.quota.used <= 270, "other clients spent 60 a minute for 4.5 minutes"


def test_a_paused_coderun_has_its_agent_pod_stopped_until_resumed() -> None:
    clock = ManualClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    played = world(clock)
    clock.advance(1.5)
    for _ in range(3):
        played.step()
    store = played.cluster.store
    [coderun] = store.items(kinds.CODERUNS)
    assert played.cluster.owned(coderun, kinds.PODS), "the agent is at work"

    coderun["metadata"]["annotations"]["agents.platform/paused"] = "true"
    store.write(kinds.CODERUNS, coderun)
    played.step()
    [coderun] = store.items(kinds.CODERUNS)
    assert not played.cluster.owned(coderun, kinds.PODS)
    assert [c["type"] for c in coderun["status"]["conditions"]] == ["Paused"]

    del coderun["metadata"]["annotations"]["agents.platform/paused"]
    store.write(kinds.CODERUNS, coderun)
    played.step()
    assert played.cluster.owned(coderun, kinds.PODS), "a fresh agent pod takes the work up again"
