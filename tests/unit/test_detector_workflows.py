"""A1, A3, A4 and A5 as an SRE of the agent platform meets them: a task's PR and its agent pods, reported by
the github and kubernetes sources, fold into one workflow; each rule fires while its story holds and
resolves when it ends, and a redelivered event changes nothing. Beside them the agent platform's other
alerts: A10 from contention, and H2 from an external API's quota running out or answering 429."""

from __future__ import annotations

import datetime as dt
import itertools

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ConditionData, ConditionEvent, ResourceRef
from healer_common.settings.detector import RuleSettings
from services.detector.rules import WORKFLOW_RULES
from services.detector.workflow_facts import TaskWorkflow, fold, workflow_key
from services.detector.workflows import evaluate
from tests.support.detector_harness import Detector

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PR = "5dlabs/cto#7"
_ids = itertools.count()


def iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def event(
    kind: str, name: str, reason: str, labels: dict[str, str], namespace: str | None = None, message: str = ""
) -> ConditionEvent:
    resource = ResourceRef(kind=kind, namespace=namespace, name=name)
    data = ConditionData(resource=resource, reason=reason, message=message or None, labels=labels)
    return ConditionEvent(type="healer.condition.v1", specversion="1.0", id=f"e{next(_ids)}", source="test", data=data)


def on_pr(reason: str, message: str = "", **labels: str) -> ConditionEvent:
    base = {"repo": "5dlabs/cto", "pr": "7", "url": "https://gh/pr/7", "task-id": "7"}
    return event("PullRequest", PR, reason, {**base, **labels}, message=message)


def pr_open(last_commit: dt.datetime, sha: str = "aaa111") -> ConditionEvent:
    return on_pr("PullRequestOpen", head_sha=sha, last_commit_at=iso(last_commit))


def said(
    author: str, at: dt.datetime, text: str = "", review: str | None = None, cid: str | None = None
) -> ConditionEvent:
    labels = {"author": author, "kind": "review" if review else "comment", "comment_id": cid or str(next(_ids))}
    labels["time"] = iso(at)
    if review:
        labels["review_state"] = review
    return on_pr("PullRequestComment", message=text, **labels)


def check(name: str, failed: bool, at: dt.datetime, sha: str = "aaa111") -> ConditionEvent:
    reason, conclusion = ("CheckFailed", "failure") if failed else ("CheckPassed", "success")
    return on_pr(reason, check=name, kind="check_run", conclusion=conclusion, head_sha=sha, time=iso(at))


def pod(agent: str, started: dt.datetime, reason: str = "PodRunning") -> ConditionEvent:
    labels = {"agent": f"5DLabs-{agent}", "since": iso(started), "task-id": "7"}
    return event("Pod", f"{agent.lower()}-task7", reason, labels, namespace="cto")


class Flow:
    """One task's workflow fed event by event, as the detector keeps it."""

    def __init__(self) -> None:
        self.workflow: TaskWorkflow | None = None
        self.cfg = RuleSettings()

    def feed(self, item: ConditionEvent, now: dt.datetime) -> list[Alert]:
        key = workflow_key(item)
        assert key is not None
        current = self.workflow or TaskWorkflow(key=key, cluster="default")
        return self._judge(fold(current, item, now), now, item.id)

    def at(self, now: dt.datetime) -> list[Alert]:
        assert self.workflow is not None
        return self._judge(self.workflow, now, f"due-{now}")

    def _judge(self, workflow: TaskWorkflow, now: dt.datetime, cause: str) -> list[Alert]:
        step = evaluate(workflow, WORKFLOW_RULES, self.cfg, now, cause)
        self.workflow, self.due = step.workflow, step.due
        return step.alerts


def states(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(a.alert_id, a.status) for a in alerts]


def test_tess_starting_without_cleos_comment_fires_a1_after_the_grace_and_resolves_when_it_ends() -> None:
    flow = Flow()
    flow.feed(pr_open(T0), T0)
    flow.feed(said("5dlabs-rex[bot]", T0, "implementation done"), T0)
    assert flow.feed(pod("Tess", T0), T0) == [], "a comment may still be on its way"
    assert flow.due == T0 + dt.timedelta(seconds=60)

    fired = flow.at(T0 + dt.timedelta(seconds=61))

    assert states(fired) == [("A1", "firing")]
    assert fired[0].labels["pod"] == "tess-task7"
    assert fired[0].labels["expected"] == "Cleo"
    assert fired[0].resource is not None
    assert fired[0].resource.kind == "Pod"
    assert "node" not in fired[0].labels, "a workflow gone wrong is not grouped with a node's trouble"
    ended = flow.feed(pod("Tess", T0, reason="Succeeded"), T0 + dt.timedelta(minutes=5))
    assert states(ended) == [("A1", "resolved")]


def test_the_predecessors_comment_within_the_grace_keeps_a1_quiet() -> None:
    flow = Flow()
    flow.feed(pr_open(T0), T0)
    flow.feed(pod("Cleo", T0), T0)
    flow.feed(
        said("5DLabs-Blaze", T0 + dt.timedelta(seconds=20), "handing over to Cleo"), T0 + dt.timedelta(seconds=20)
    )

    assert flow.at(T0 + dt.timedelta(minutes=2)) == []


def test_the_first_agent_and_a_task_without_a_known_pr_raise_no_a1() -> None:
    rex = Flow()
    rex.feed(pr_open(T0), T0)
    rex.feed(pod("Rex", T0), T0)
    assert rex.at(T0 + dt.timedelta(minutes=2)) == [], "Rex has no predecessor"
    unknown = Flow()
    unknown.feed(pod("Atlas", T0), T0)
    assert unknown.at(T0 + dt.timedelta(minutes=2)) == [], "no PR read: no evidence either way"


def test_a3_fires_when_the_last_commit_ages_past_15_minutes_while_the_agent_runs() -> None:
    flow = Flow()
    flow.feed(pr_open(T0), T0)
    assert flow.feed(pod("Rex", T0), T0) == []
    assert flow.due == T0 + dt.timedelta(minutes=15)

    fired = flow.at(T0 + dt.timedelta(minutes=15, seconds=1))

    assert states(fired) == [("A3", "firing")]
    assert fired[0].labels["pod"] == "rex-task7"
    assert fired[0].labels["pr"] == "7"
    later = T0 + dt.timedelta(minutes=16)
    assert states(flow.feed(pr_open(later, sha="bbb222"), later)) == [("A3", "resolved")], "a new commit is progress"


def test_a3_needs_a_running_agent() -> None:
    flow = Flow()
    flow.feed(pr_open(T0 - dt.timedelta(hours=2)), T0)
    assert flow.due is None
    assert flow.at(T0 + dt.timedelta(hours=1)) == []


def test_a4_fires_on_the_third_approval_by_one_author_and_resolves_when_the_pr_closes() -> None:
    flow = Flow()
    flow.feed(pr_open(T0), T0)
    flow.feed(said("5DLabs-Rex", T0, "ready for review"), T0)
    flow.feed(pod("Cleo", T0), T0)
    for minute in (1, 2):
        assert flow.feed(said("5DLabs-Cleo", T0 + dt.timedelta(minutes=minute), "LGTM ✅"), T0) == []
    flow.feed(said("octocat", T0, "approved"), T0)

    fired = flow.feed(
        said("5DLabs-Cleo", T0 + dt.timedelta(minutes=3), review="APPROVED"), T0 + dt.timedelta(minutes=3)
    )

    assert states(fired) == [("A4", "firing")]
    assert fired[0].labels["author"] == "5DLabs-Cleo"
    assert fired[0].labels["approvals"] == "3"
    assert fired[0].labels["pod"] == "cleo-task7", "titled after the agent working on the task"
    closed = on_pr("PullRequestClosed", merged="true")
    assert states(flow.feed(closed, T0 + dt.timedelta(minutes=4))) == [("A4", "resolved")]


def test_a_redelivered_comment_is_counted_once() -> None:
    flow = Flow()
    flow.feed(pr_open(T0), T0)
    approval = said("5DLabs-Cleo", T0, "approved", cid="42")
    for _ in range(3):
        assert flow.feed(approval, T0) == []


def test_a5_fires_critical_when_a_check_fails_after_tess_approved_and_resolves_on_a_passing_rerun() -> None:
    flow = Flow()
    flow.feed(pr_open(T0), T0)
    flow.feed(said("5DLabs-Tess[bot]", T0, review="APPROVED"), T0)
    assert flow.feed(check("ci/test", failed=False, at=T0), T0) == []

    fired = flow.feed(check("ci/lint", failed=True, at=T0 + dt.timedelta(minutes=1)), T0 + dt.timedelta(minutes=1))

    assert states(fired) == [("A5", "firing")]
    assert fired[0].severity == "critical"
    assert fired[0].labels["check"] == "ci/lint"
    assert fired[0].resource is not None
    assert fired[0].resource.kind == "PullRequest", "no agent pod: the PR"
    rerun = T0 + dt.timedelta(minutes=3)
    assert states(flow.feed(check("ci/lint", failed=False, at=rerun), rerun)) == [("A5", "resolved")]


def test_a5_ignores_failures_on_an_older_head_and_failures_nobody_approved() -> None:
    old = Flow()
    old.feed(pr_open(T0, sha="new222"), T0)
    old.feed(said("tess", T0, "Approved"), T0)
    assert old.feed(check("ci", failed=True, at=T0, sha="old111"), T0) == []
    unapproved = Flow()
    unapproved.feed(pr_open(T0), T0)
    assert unapproved.feed(check("ci", failed=True, at=T0), T0) == []


def test_a_finished_workflow_is_forgotten() -> None:
    flow = Flow()
    flow.feed(pod("Rex", T0), T0)
    flow.feed(pod("Rex", T0, reason="PodDeleted"), T0)
    assert flow.workflow is None


def test_agents_contending_for_a_node_fire_a10_once_it_has_held_and_resolve_when_they_fit() -> None:
    detector = Detector()
    node = ResourceRef(kind="Node", name="sandbox-node-1")
    assert detector.condition("AgentContention", node, {"node": "sandbox-node-1", "resource": "cpu"}) == []

    fired = detector.advance(31)

    assert states(fired) == [("A10", "firing")]
    assert states(detector.condition("AgentContentionCleared", node, {"node": "sandbox-node-1"})) == [
        ("A10", "resolved")
    ]


def test_an_apis_quota_running_out_or_answering_429_is_h2_not_h5() -> None:
    detector = Detector()
    probe = ResourceRef(kind="Probe", name="openai")
    limited = detector.condition("RateLimited", probe, {"target": "openai", "status_code": "429"})
    assert states(limited) == [("H2", "firing")]
    assert states(detector.metric("ratelimit_exhausted_in_seconds", 4_000.0, {"target": "github"})) == []
    assert states(detector.metric("ratelimit_exhausted_in_seconds", 300.0, {"target": "github"})) == [("H2", "firing")]
