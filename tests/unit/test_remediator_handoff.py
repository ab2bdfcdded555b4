"""A hand-off to an AI agent followed to its end, as the SRE who reads the run sees it: the run waits for its
CodeRun, learns its pull request, merge and checks, and is judged by them and by whether the alert resolved;
the memories that went into the agent's prompt are the ones reinforced; `useMemory: false` keeps memory out
of the prompt. Pure: a ManualClock, no server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from healer_common.clock import ManualClock
from healer_common.contract.remediations import CodeRunOutcome, Remediation, RemediationStep
from healer_common.settings import RemediatorSettings
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.actions.create_coderun import CreateCodeRunParams, coderun_body
from services.remediator.actions.plans import ActionContext, RunContext
from services.remediator.handoff import checks_verdict, coderun_outcome, pr_coordinates
from services.remediator.playbook_run import PlaybookRun
from services.remediator.playbooks import compile_playbook
from services.remediator.run_state import Act, HandOff, RunState
from tests.support.samples import T0, alert, incident, pod

HAND_OFF = compile_playbook(
    {
        "apiVersion": "healer.platform/v1",
        "kind": "RemediationPlaybook",
        "metadata": {"name": "post-tess"},
        "spec": {
            "trigger": {"alerts": ["A5"]},
            "actions": [{"type": "create_coderun"}, {"type": "escalate", "condition": "coderun_failed"}],
        },
    },
    CATALOGUE,
    "test",
)
PR = "https://github.com/5dlabs/cto/pull/106"


def handed_off(clock: ManualClock) -> PlaybookRun:
    run = Remediation(
        remediation_id="rem-1",
        incident_id="inc-1",
        playbook=HAND_OFF.name,
        state="planned",
        cluster="default",
        target=pod(),
        alert_ids=["A5"],
        memory_ids=["advice"],
        started_at=T0,
        time=T0,
    )
    state = RunState(run=run, playbook=HAND_OFF, target=pod(), context_memory_ids=["m1", "advice"])
    engine = PlaybookRun(state)
    work = engine.start(clock.now())
    assert isinstance(work, Act)
    step = RemediationStep(action="create_coderun", outcome="ok", detail="handed", started_at=clock.now())
    assert engine.acted(step, None, clock.now(), follow=("cto", "healer-remediation-task7-a5-rem1")) is None
    return engine


def ended(phase: str = "Succeeded", checks: bool | None = True) -> CodeRunOutcome:
    return CodeRunOutcome(
        namespace="cto", name="healer-remediation-task7-a5-rem1", phase=phase, started_at=T0, pr_url=PR,
        merged=True, checks_passed=checks, duration_s=120.0,
    )  # fmt: skip


def resolved() -> Any:
    return incident(alert(status="resolved"), state="resolved", revision=3)


def test_the_run_waits_for_its_coderun_then_for_the_alert_and_succeeds_with_the_pull_request() -> None:
    clock = ManualClock(T0)
    engine = handed_off(clock)
    assert engine.state.phase == "handed_off"
    assert engine.state.run.state == "acted", "a hand-off is not a verdict"

    clock.advance(120)
    assert engine.handoff_finished(ended(), clock.now()) is None
    assert engine.state.phase == "handed_off", "the agent delivered; the alert has not resolved yet"
    engine.incident_changed(resolved(), clock.now())

    run = engine.state.run
    assert run.state == "succeeded"
    assert run.healed_by == "coderun"
    assert run.coderun is not None
    assert run.coderun.pr_url == PR
    assert run.coderun.alert_resolved is True
    assert run.memory_ids == ["advice", "m1"], "the memories in the agent's prompt are reinforced if it helped"
    assert engine.state.healing_tried, "the playbook's confidence moves with it"


def test_an_alert_resolved_before_the_coderun_ends_is_judged_when_it_ends() -> None:
    clock = ManualClock(T0)
    engine = handed_off(clock)
    engine.incident_changed(resolved(), clock.now())
    assert engine.state.phase == "handed_off"

    engine.handoff_finished(ended(), clock.now())

    assert engine.state.run.state == "succeeded"


def test_a_failed_coderun_or_failed_checks_fail_the_hand_off_and_the_next_action_escalates() -> None:
    for outcome in (ended("Failed"), ended(checks=False)):
        clock = ManualClock(T0)
        engine = handed_off(clock)
        engine.incident_changed(resolved(), clock.now())
        work = engine.handoff_finished(outcome, clock.now())
        assert isinstance(work, Act)
        assert work.action.type == "escalate"
        assert engine.state.outcomes == {"coderun": False}


def test_a_coderun_that_never_ends_fails_when_the_follow_window_closes() -> None:
    clock = ManualClock(T0)
    engine = handed_off(clock)
    clock.advance(engine.state.handoff_timeout_s + 1)

    work = engine.timer(clock.now())

    assert isinstance(work, Act)
    assert work.action.type == "escalate"
    assert any(n.decision == "not_verified" and "follow window" in n.reason for n in engine.state.decisions)


def test_a_pull_request_is_found_from_its_url_and_its_checks_judged() -> None:
    assert pr_coordinates(PR) == ("5dlabs/cto", 106)
    assert pr_coordinates("https://api.github.com/repos/o/r/pulls/3") == ("o/r", 3)
    assert pr_coordinates("https://example.com/x") is None
    assert checks_verdict([{"status": "completed", "conclusion": "success"}]) is True
    assert checks_verdict([{"status": "completed", "conclusion": "failure"}, {"status": "completed"}]) is False
    assert checks_verdict([{"status": "in_progress"}]) is None


def test_a_coderun_still_working_has_no_outcome_and_one_that_is_gone_has_an_unknown_one() -> None:
    handoff = HandOff(namespace="cto", name="cr", since=T0)
    now = T0 + dt.timedelta(minutes=3)
    assert coderun_outcome(handoff, {"status": {"phase": "Running"}}, now) is None
    gone = coderun_outcome(handoff, None, now)
    assert gone is not None
    assert gone.phase == "Unknown"
    done = coderun_outcome(handoff, {"status": {"phase": "Succeeded", "pullRequestUrl": PR}}, now)
    assert done is not None
    assert done.pr_url == PR
    assert done.duration_s == 180.0


def context(**run: Any) -> ActionContext:
    run_context = RunContext(
        remediation_id="rem-1",
        incident_id="inc-1",
        cluster="default",
        alert_ids=("A5",),
        target=pod(),
        labels={},
        title="post-Tess CI failure",
        context="Incident inc-1: post-Tess CI failure",
        memory_context=f"Remembered (worked): fixed by PR {PR}",
        **run,
    )
    return ActionContext(None, httpx.AsyncClient(), ManualClock(T0), RemediatorSettings(), run_context, lambda *_: None)


def test_the_coderun_prompt_carries_memory_unless_told_not_to() -> None:
    with_memory = coderun_body(context(), CreateCodeRunParams(), 7, pod())
    without = coderun_body(context(), CreateCodeRunParams(use_memory=False), 7, pod())
    assert PR in with_memory["spec"]["promptModification"]
    assert PR not in without["spec"]["promptModification"]
    assert "post-Tess CI failure" in without["spec"]["promptModification"]
