"""What scenarios play on the sandbox's GitHub (github.py): pull request stories and the spending of its quota.

A story opens its PR when its play starts (its branch names its task), then plays each step once its time has
come: commits (back-dated with `ago`), comments, reviews, check runs, an agent taking up the task (a CodeRun,
which the CodeRun controller turns into an agent pod labelled `agent` and `task-id`), and the PR's merge or
closing. A replay plays the story again as a new PR (the next free number), on the same task.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from healer_sandbox import kinds
from healer_sandbox.cluster import Cluster
from healer_sandbox.kubelet import RUN_SECONDS
from healer_sandbox.scenario import AgentStep, ApiQuota, PullRequestStory, StoryStep

PRIORITY_LABEL = "healer.platform/priority"  # what Healer's agent coordination reads (remediator.agents)


def play_seconds(cluster: Cluster, since: dt.datetime | None, now: dt.datetime) -> float:
    return cluster.elapsed(now) if since is None else cluster.scenario_seconds(since, now)


def agent_coderun(story: PullRequestStory, step: AgentStep, number: int) -> dict[str, Any]:
    """The CodeRun an agent works a story's task under, as the platform's play workflow creates it."""
    agent = step.app.lower().replace("[bot]", "")
    labels = {"task-id": str(story.task), "agents.platform/type": "play", "sandbox.healer.platform/pr": str(number)}
    if step.priority:
        labels[PRIORITY_LABEL] = step.priority
    return {
        "apiVersion": "agents.platform/v1",
        "kind": "CodeRun",
        "metadata": {
            "name": f"task-{story.task}-{agent}"[:63],
            "namespace": story.namespace,
            "labels": labels,
            "annotations": {RUN_SECONDS: str(step.runs)},
        },
        "spec": {
            "taskId": story.task,
            "service": "cto",
            "repositoryUrl": f"https://github.com/{story.repository}",
            "docsRepositoryUrl": f"https://github.com/{story.repository}",
            "workingDirectory": ".",
            "model": "claude-sonnet-4-20250514",
            "githubApp": step.app,
            "implementationAgent": step.app,
            "runType": "implementation",
        },
    }


@dataclass
class PullRequestStoryRun:
    spec: PullRequestStory
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    number: int | None = None
    done: int = 0  # steps played

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        story, github = self.spec, cluster.github
        if self.number is None:
            taken = github.repo(story.repository).pulls
            self.number = story.number if story.number not in taken else max(taken) + 1
            github.open_pull(
                story.repository,
                self.number,
                f"task-{story.task}: {story.title}",
                branch=story.branch,
                login=story.opened_by,
                labels=[f"task-{story.task}"],
            )
            cluster.narrate(f"{story.repository}#{self.number}: opened by {story.opened_by} ({story.title})")
        elapsed = play_seconds(cluster, self.since, now)
        while self.done < len(story.steps) and story.steps[self.done].at <= elapsed:
            self._play(cluster, story.steps[self.done])
            self.done += 1

    def _play(self, cluster: Cluster, step: StoryStep) -> None:
        story, github, number = self.spec, cluster.github, self.number
        assert number is not None
        repo, where = story.repository, f"{story.repository}#{number}"
        if step.commit is not None:
            github.commit(repo, number, step.commit.by, step.commit.message, ago=step.commit.ago)
            cluster.narrate(f"{where}: commit by {step.commit.by}" + (" (made earlier)" if step.commit.ago else ""))
        elif step.comment is not None:
            github.comment(repo, number, step.comment.by, step.comment.body)
            cluster.narrate(f"{where}: {step.comment.by} comments {step.comment.body[:60]!r}")
        elif step.review is not None:
            github.review(repo, number, step.review.by, step.review.state, step.review.body)
            cluster.narrate(f"{where}: {step.review.by} reviews: {step.review.state}")
        elif step.check is not None:
            github.check(repo, number, step.check.name, step.check.conclusion, workflow=step.check.workflow)
            cluster.narrate(f"{where}: check {step.check.name} {step.check.conclusion}")
        elif step.agent is not None:
            self._agent(cluster, step.agent, number)
        else:
            github.close(repo, number, merge=bool(step.merge))
            cluster.narrate(f"{where}: {'merged' if step.merge else 'closed'}")

    def _agent(self, cluster: Cluster, step: AgentStep, number: int) -> None:
        body = agent_coderun(self.spec, step, number)
        name = body["metadata"]["name"]
        if cluster.store.get(kinds.CODERUNS, self.spec.namespace, name) is None:
            cluster.store.create(kinds.CODERUNS, body)
            cluster.narrate(f"task {self.spec.task}: {step.app} takes it up (CodeRun {self.spec.namespace}/{name})")


@dataclass
class ApiQuotaRun:
    spec: ApiQuota
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    owed: float = 0.0
    last: float | None = None

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        elapsed = play_seconds(cluster, self.since, now)
        quota = cluster.github.quota
        if self.last is None:
            quota.limit = self.spec.limit
        passed, self.last = elapsed - (self.last if self.last is not None else elapsed), elapsed
        if elapsed < self.spec.at:
            return
        self.owed += self.spec.per_minute * passed / 60
        spent = int(self.owed)
        if spent:
            self.owed -= spent
            quota.spend(now, min(spent, quota.remaining(now)))
