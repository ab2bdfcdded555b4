"""The life of a playbook run as pure decisions: what runs next, when it waits, when it is verified, retried,
asked about, undone, and how it ends. Time is a ManualClock; nothing here touches a server."""

from __future__ import annotations

import datetime as dt
from typing import Any

from healer_common.clock import ManualClock
from healer_common.contract.auth import Principal
from healer_common.contract.incidents import Incident
from healer_common.contract.remediations import ApprovalRequest, Remediation, RemediationStep
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.playbook_run import PlaybookRun
from services.remediator.playbooks import compile_playbook
from services.remediator.run_state import Act, Ask, RunState, Undo, Work
from tests.support.samples import T0, alert, incident, pod


def playbook(*actions: dict[str, Any], rollback: dict[str, Any] | None = None) -> Any:
    document = {
        "apiVersion": "healer.platform/v1",
        "kind": "RemediationPlaybook",
        "metadata": {"name": "oom"},
        "spec": {
            "trigger": {"alerts": ["H8"]},
            "actions": list(actions),
            "rollback": rollback or {"enabled": True, "window": "10m"},
        },
    }
    return compile_playbook(document, CATALOGUE, "test")


RESTART_THEN_SCALE = playbook(
    {"type": "restart_pod", "timeout": "2m"},
    {"type": "scale_up", "condition": "restart_failed", "timeout": "5m"},
    {"type": "create_coderun", "condition": "scale_failed"},
)


def new_run(pb: Any = RESTART_THEN_SCALE, *, dry_run: bool = False, manual: bool = False) -> PlaybookRun:
    run = Remediation(
        remediation_id="rem-1",
        incident_id="inc-1",
        playbook=pb.name,
        state="planned",
        cluster="default",
        target=pod(),
        alert_ids=["H8"],
        dry_run=dry_run,
        started_at=T0,
        time=T0,
    )
    return PlaybookRun(RunState(run=run, playbook=pb, target=pod(), manual=manual))


def step(action: str, outcome: str = "ok", detail: str = "done") -> RemediationStep:
    return RemediationStep.model_validate(
        {"action": action, "outcome": outcome, "detail": detail, "api_calls": [f"CALL {action}"], "started_at": T0}
    )


def acts(work: Work | None, action_type: str) -> Act:
    assert isinstance(work, Act), f"expected to act ({action_type}), got {work!r}"
    assert work.action.type == action_type
    return work


def phase(engine: PlaybookRun) -> str:
    return engine.state.phase


def states(engine: PlaybookRun) -> list[str]:
    return [r.state for r in engine.published]


def resolved() -> Incident:
    return incident(alert(status="resolved"), state="resolved", revision=3)


def worse() -> Incident:
    second = alert("A7", starts_at=T0 + dt.timedelta(seconds=5))
    return incident(alert(), second, state="updated", revision=2)


def test_the_first_action_runs_and_waits_for_the_alert_to_resolve() -> None:
    clock, engine = ManualClock(T0), new_run()

    acts(engine.start(clock.now()), "restart_pod")
    assert engine.acted(step("restart_pod"), None, clock.now()) is None

    assert engine.state.phase == "verifying"
    assert engine.state.due_at == T0 + dt.timedelta(minutes=2)
    assert states(engine) == ["planned", "acted"]


def test_a_restart_verified_by_the_resolution_ends_the_run_as_succeeded_and_skips_the_fallbacks() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())
    clock.advance(20)

    assert engine.incident_changed(resolved(), clock.now()) is None

    assert engine.state.run.state == "succeeded"
    assert "resolved 20.0s after the run started, after restart" in engine.state.run.reason
    skipped = [(n.action, n.reason) for n in engine.notes if n.decision == "skipped"]
    assert skipped == [
        ("scale_up", "condition restart_failed does not hold (restart succeeded)"),
        ("create_coderun", "condition scale_failed does not hold (scale did not run)"),
    ]
    assert engine.state.phase == "done"


def test_when_the_restart_window_ends_still_firing_the_scale_up_runs() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())

    assert engine.timer(clock.advance(60)) is None, "nothing is due before the window ends"
    work = engine.timer(clock.advance(61))

    acts(work, "scale_up")
    assert engine.state.outcomes == {"restart": False}
    assert any(n.decision == "not_verified" for n in engine.notes)


def test_a_scale_up_that_heals_is_scaled_back_when_the_rollback_window_ends() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())
    engine.timer(clock.advance(121))
    engine.acted(step("scale_up"), {"namespace": "cto", "name": "rex", "replicas": 1, "set": 2}, clock.now())
    engine.incident_changed(resolved(), clock.advance(30))

    assert engine.state.run.state == "succeeded"
    assert phase(engine) == "holding"
    assert engine.timer(clock.advance(60)) is None, "the window has not ended"
    work = engine.timer(clock.advance(600))

    assert isinstance(work, Undo)
    assert work.then == "hold"
    assert [u.type for u in work.items] == ["scale_up"]
    engine.undone([(work.items[0], step("scale_up", "rolled_back", "scaled back to 1"))], "hold", clock.now())
    assert phase(engine) == "done"
    assert states(engine)[-2:] == ["succeeded", "succeeded"], "the scale-down is published as a new revision"
    assert engine.state.run.revision == len(engine.published)
    assert engine.state.run.steps[-1].outcome == "rolled_back"


def test_a_failed_api_call_is_retried_after_its_backoff_before_the_fallback() -> None:
    clock = ManualClock(T0)
    engine = new_run(
        playbook(
            {"type": "restart_pod", "retry": {"attempts": 2, "backoff": "15s"}},
            {"type": "escalate", "condition": "restart_failed"},
        )
    )
    engine.start(clock.now())

    assert engine.acted(step("restart_pod", "failed", "HTTP 500"), None, clock.now()) is None
    assert engine.state.phase == "retry_wait"
    assert engine.timer(clock.advance(10)) is None
    work = acts(engine.timer(clock.advance(5)), "restart_pod")
    assert work.attempt == 2
    acts(engine.acted(step("restart_pod", "failed", "HTTP 500"), None, clock.now()), "escalate")


def test_an_action_that_makes_health_worse_is_undone_and_ends_the_run_rolled_back() -> None:
    clock = ManualClock(T0)
    engine = new_run(playbook({"type": "scale_up"}))
    engine.incident_changed(incident(alert(), state="opened"), clock.now())
    engine.start(clock.now())
    engine.acted(step("scale_up"), {"namespace": "cto", "name": "rex", "replicas": 1, "set": 2}, clock.now())

    work = engine.incident_changed(worse(), clock.advance(10))

    assert isinstance(work, Undo)
    assert work.then == "rolled_back"
    engine.undone([(work.items[0], step("scale_up", "rolled_back", "scaled back to 1"))], "rolled_back", clock.now())
    assert engine.state.run.state == "rolled_back"
    assert any(n.decision == "harmful" for n in engine.notes)


def test_harm_that_cannot_be_undone_fails_the_run_and_stops_it() -> None:
    clock = ManualClock(T0)
    engine = new_run(playbook({"type": "restart_pod"}, {"type": "escalate", "condition": "restart_failed"}))
    engine.incident_changed(incident(alert(), state="opened"), clock.now())
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())

    assert engine.incident_changed(worse(), clock.advance(10)) is None

    assert engine.state.run.state == "failed"
    assert "cannot be undone" in engine.state.run.reason


def test_an_alert_that_began_before_the_action_is_not_its_harm() -> None:
    """An OOM kill's crash loop (A7) reaches the incident a moment after the kill's H8 and the restart."""
    clock = ManualClock(T0)
    engine = new_run(playbook({"type": "restart_pod"}, {"type": "escalate", "condition": "restart_failed"}))
    engine.incident_changed(incident(alert(), state="opened"), clock.now())
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())
    crash_loop = alert("A7", starts_at=T0 - dt.timedelta(milliseconds=5))

    assert engine.incident_changed(incident(alert(), crash_loop, state="updated", revision=2), clock.advance(1)) is None

    assert engine.state.phase == "verifying"
    assert not any(n.decision == "harmful" for n in engine.notes)


def oncall(name: str) -> Principal:
    return Principal(name, frozenset({"approve:oncall", "ack"}), "attestation")


def test_an_approval_required_action_asks_and_runs_once_approved() -> None:
    clock, engine = ManualClock(T0), new_run(playbook({"type": "rollback_deployment"}))
    work = engine.start(clock.now())
    assert isinstance(work, Ask)
    engine.await_approval(approval(on_timeout="deny"), clock.now())
    assert engine.state.run.state == "awaiting_approval"

    acts(engine.answered(True, oncall("alice"), clock.now(), "go", clock.advance(30)), "rollback_deployment")

    assert states(engine)[-2:] == ["awaiting_approval", "approved"]
    assert engine.state.run.approval is None
    assert any(n.decision == "approved" and "alice" in n.reason for n in engine.notes)


def test_a_denial_ends_the_run_as_denied() -> None:
    clock, engine = ManualClock(T0), new_run(playbook({"type": "rollback_deployment"}))
    engine.start(clock.now())
    engine.await_approval(approval(on_timeout="approve"), clock.now())

    assert engine.answered(False, oncall("bob"), clock.now(), "not now", clock.now()) is None

    assert engine.state.run.state == "denied"
    assert "denied by bob: not now" in engine.state.run.reason


def test_an_unanswered_request_follows_its_timeout_policy() -> None:
    clock = ManualClock(T0)
    approving, denying = (
        new_run(playbook({"type": "rollback_deployment"})),
        new_run(playbook({"type": "rollback_deployment"})),
    )
    for engine, policy in ((approving, "approve"), (denying, "deny")):
        engine.start(clock.now())
        engine.await_approval(approval(on_timeout=policy), clock.now())

    assert approving.timer(clock.advance(899)) is None
    acts(approving.timer(clock.advance(2)), "rollback_deployment")
    assert denying.timer(clock.now()) is None
    assert denying.state.run.state == "denied"
    assert "nobody answered in time" in denying.state.run.reason


def test_an_answer_after_the_run_ended_is_ignored_and_noted() -> None:
    clock, engine = ManualClock(T0), new_run(playbook({"type": "rollback_deployment"}))
    engine.start(clock.now())
    engine.await_approval(approval(on_timeout="deny"), clock.now())
    engine.answered(False, oncall("bob"), clock.now(), "", clock.now())

    assert engine.answered(True, oncall("alice"), clock.now(), "", clock.now()) is None
    assert engine.state.run.state == "denied"
    assert engine.notes[-1].decision == "ignored"


def test_a_resolution_while_waiting_for_approval_withdraws_the_request() -> None:
    clock, engine = ManualClock(T0), new_run(playbook({"type": "rollback_deployment"}))
    engine.start(clock.now())
    engine.await_approval(approval(on_timeout="approve"), clock.now())

    assert engine.incident_changed(resolved(), clock.advance(5)) is None

    assert engine.state.run.state == "skipped"
    assert any(n.decision == "withdrawn" for n in engine.notes)


def test_a_dry_run_does_not_wait_for_approval() -> None:
    engine = new_run(playbook({"type": "rollback_deployment"}), dry_run=True)

    acts(engine.start(T0), "rollback_deployment")


def test_after_resolution_a_success_condition_still_runs_but_unconditional_healing_does_not() -> None:
    clock = ManualClock(T0)
    engine = new_run(
        playbook(
            {"type": "restart_pod"},
            {"type": "clear_temp_files", "name": "tidy"},
            {"type": "create_coderun", "condition": "restart_succeeded"},
            {"type": "notify"},
        )
    )
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())

    work = engine.incident_changed(resolved(), clock.advance(5))

    acts(work, "create_coderun")
    acts(engine.acted(step("create_coderun"), None, clock.now()), "notify")
    assert ("clear_temp_files", "not needed: the alert has resolved") in [(n.action, n.reason) for n in engine.notes]


def test_the_kill_switch_postpones_an_action_and_the_timer_tries_again() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.start(clock.now())

    engine.postponed("paused by ops", clock.now())
    engine.postponed("paused by ops", clock.advance(1))

    assert engine.state.phase == "paused"
    assert [n.decision for n in engine.notes].count("postponed") == 1, "said once, not at every tick"
    acts(engine.timer(clock.advance(60)), "restart_pod")


def test_a_remediator_that_stopped_mid_action_ends_the_attempt_when_its_timer_falls_due() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.start(clock.now())
    engine.acting(clock.now(), 300)

    work = engine.timer(clock.advance(301))

    acts(work, "scale_up")
    assert any(n.decision == "interrupted" for n in engine.notes)


def test_a_refused_action_skips_the_run_with_the_reason() -> None:
    engine = new_run()
    engine.start(T0)

    engine.refused("restart_pod", "rate limit: 20 actions in the last 3600s", T0, policy="rate_limit")

    assert engine.state.run.state == "skipped"
    assert engine.state.run.reason == "refused: rate limit: 20 actions in the last 3600s"
    assert engine.notes[-2].decision == "refused"
    assert engine.notes[-2].details == {"policy": "rate_limit"}


def test_a_run_by_hand_is_judged_by_its_api_results_not_by_an_alert() -> None:
    engine = new_run(playbook({"type": "restart_pod"}), manual=True)
    engine.start(T0)

    assert engine.acted(step("restart_pod"), None, T0) is None

    assert engine.state.run.state == "succeeded"
    assert "not verified against an alert" in engine.state.run.reason


def test_later_actions_aim_at_the_pod_that_replaced_the_restarted_one() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())
    successor = alert(resource=pod("rex-1-b7x2"), starts_at=T0 + dt.timedelta(seconds=40))

    engine.incident_changed(incident(alert(), successor, state="updated", revision=2), clock.advance(40))

    assert engine.state.target == pod("rex-1-b7x2")


def test_revisions_grow_by_one_with_each_publication_and_ids_differ() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())
    engine.incident_changed(resolved(), clock.advance(1))

    assert [r.revision for r in engine.published] == [1, 2, 3]
    assert len({r.event_id for r in engine.published}) == 3


def approval(*, on_timeout: str) -> ApprovalRequest:
    return ApprovalRequest.model_validate(
        {
            "action": "rollback_deployment",
            "summary": "roll deployment cto/rex back to revision 3",
            "expires_at": T0 + dt.timedelta(seconds=900),
            "on_timeout": on_timeout,
        }
    )


def test_the_same_alert_on_a_restarted_pods_successor_is_not_harm() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.incident_changed(incident(alert(), state="opened"), clock.now())
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())
    successor = alert(resource=pod("rex-1-b7x2"), starts_at=T0 + dt.timedelta(seconds=40))

    assert engine.incident_changed(incident(alert(), successor, state="updated", revision=2), clock.advance(40)) is None

    assert engine.state.phase == "verifying", "still waiting to see whether the restart holds"


def test_a_playbook_that_only_tells_people_ends_done_not_failed() -> None:
    engine = new_run(playbook({"type": "notify"}, {"type": "escalate"}))
    acts(engine.start(T0), "notify")
    acts(engine.acted(step("notify"), None, T0), "escalate")

    engine.acted(step("escalate"), None, T0)

    assert engine.state.run.state == "succeeded"
    assert engine.state.run.reason == "done: notify, escalate (Healer does not heal this itself)"
    assert not engine.state.healing_tried, "such a run says nothing about healing: no confidence, no breaker"


def test_a_run_after_a_fix_that_did_not_hold_starts_with_the_fallback() -> None:
    engine = new_run()

    work = engine.start(T0, why="the alert is back", failed="restart")

    acts(work, "scale_up")
    assert engine.state.outcomes == {"restart": False}
    assert [(n.action, n.decision) for n in engine.notes] == [("plan", "planned"), ("restart_pod", "recurred")]


def test_a_verified_run_remembers_which_action_healed() -> None:
    clock, engine = ManualClock(T0), new_run()
    engine.start(clock.now())
    engine.acted(step("restart_pod"), None, clock.now())
    engine.timer(clock.advance(121))
    engine.acted(step("scale_up"), None, clock.now())

    engine.incident_changed(resolved(), clock.advance(10))

    assert engine.state.healed_by == "scale"
    assert engine.published[-1].healed_by == "scale", "memory learns the action that fixed it, not the playbook"


def test_a_dry_run_names_no_healing_action() -> None:
    clock, engine = ManualClock(T0), new_run(dry_run=True)
    engine.start(clock.now())
    engine.acted(step("restart_pod", "dry_run"), None, clock.now())

    engine.incident_changed(resolved(), clock.advance(10))

    assert engine.state.run.state == "succeeded"
    assert engine.state.run.healed_by is None, "nothing was done, so nothing healed it"
