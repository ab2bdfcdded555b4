"""The seed's example playbook, written as the seed writes it (tests/fixtures/seed_playbook.yaml, verbatim):
it validates, `healer playbooks validate` accepts it, it answers the alert it names only once its condition
has lasted its duration, and it runs: three restarts, then one more replica, then PagerDuty."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from healer_cli.main import app
from healer_common.clock import ManualClock
from healer_common.contract.alerts import Alert
from healer_common.contract.remediations import Remediation, RemediationStep
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.matching import choose_playbook, held_back
from services.remediator.playbook_run import PlaybookRun
from services.remediator.playbooks import Playbook, compile_text
from services.remediator.problems import problems
from services.remediator.run_state import Act, RunState
from tests.support.samples import T0, alert, incident, pod

SEED = Path(__file__).parent.parent / "fixtures" / "seed_playbook.yaml"


def seed() -> Playbook:
    [playbook] = compile_text(SEED.read_text(), CATALOGUE, str(SEED))
    return playbook


def memory_alert(ratio: float, fired_at: dt.datetime = T0) -> Alert:
    fired = alert("H8", resource=pod(), starts_at=fired_at)
    return fired.evolve(labels={**fired.labels, "metric": "container_memory_usage_ratio", "value": f"{ratio}"})


def test_the_seed_example_validates_as_written() -> None:
    playbook = seed()

    assert playbook.name == "high-memory-pod-restart"
    assert playbook.trigger.alerts == ["H8"]
    [condition] = playbook.trigger.conditions
    assert (condition.metric, condition.value, condition.duration) == ("memory_usage_percent", 95.0, 300.0)
    restart, scale, escalate = playbook.actions
    assert (restart.type, restart.timeout_s, restart.attempts) == ("restart_pod", 120.0, 3)
    assert (scale.type, scale.condition, scale.params) == ("scale_up", "restart_failed", {"by": 1, "maxReplicas": 10})
    assert (escalate.type, escalate.condition, escalate.params["channel"]) == (
        "alert_escalate",
        "scale_failed",
        "pagerduty",
    )
    assert playbook.rollback.window == 1800.0


def test_healer_playbooks_validate_accepts_it() -> None:
    result = CliRunner().invoke(app, ["playbooks", "validate", str(SEED)])

    assert result.exit_code == 0, result.output
    assert "high-memory-pod-restart" in result.output


def test_it_answers_memory_above_95_percent_only_once_that_has_lasted_five_minutes() -> None:
    hot = incident(memory_alert(0.97))
    cool = incident(memory_alert(0.90))
    playbook = seed()

    assert held_back(playbook.trigger, hot.primary, T0 + dt.timedelta(minutes=1)) == T0 + dt.timedelta(minutes=5)
    assert choose_playbook(hot, [playbook], T0 + dt.timedelta(minutes=1)) is None
    assert choose_playbook(hot, [playbook], T0 + dt.timedelta(minutes=5)) is playbook
    assert choose_playbook(cool, [playbook], T0 + dt.timedelta(minutes=5)) is None
    [waiting] = problems(hot, [playbook], T0 + dt.timedelta(minutes=1))
    assert (waiting.playbook, waiting.waits_until) == (None, T0 + dt.timedelta(minutes=5))


def ok(action: str) -> RemediationStep:
    return RemediationStep(action=action, outcome="ok", detail="done", started_at=T0)


def test_it_runs_three_restarts_then_one_more_replica_then_pages() -> None:
    clock = ManualClock(T0)
    run = Remediation(
        remediation_id="rem-seed",
        incident_id="inc-seed",
        playbook="high-memory-pod-restart",
        state="planned",
        cluster="default",
        target=pod(),
        alert_ids=["H8"],
        started_at=T0,
        time=T0,
    )
    engine = PlaybookRun(RunState(run=run, playbook=seed(), target=pod()))
    done: list[str] = []
    work = engine.start(clock.now())
    while work is not None or engine.state.due_at is not None:
        if isinstance(work, Act):
            done.append(work.action.type)
            work = engine.acted(ok(work.action.type), None, clock.now())
            continue
        assert engine.state.due_at is not None
        clock.set(engine.state.due_at)
        work = engine.timer(clock.now())
        if engine.state.final and work is None:
            break

    assert done == ["restart_pod", "restart_pod", "restart_pod", "scale_up", "alert_escalate"]
    assert engine.state.run.steps[-1].action == "alert_escalate"
