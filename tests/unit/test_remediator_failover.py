"""failover_provider as the on-call meets it: it asks first, switches to the backup, is verified by the primary
recovering (its alert resolved), and is switched back right then; a provider with no failover configured
says which setting to set."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from healer_common.clock import ManualClock
from healer_common.contract.auth import Principal
from healer_common.contract.events import ResourceRef
from healer_common.contract.remediations import ApprovalRequest, Remediation, RemediationStep
from healer_common.settings import RemediatorSettings
from services.remediator.actions import failover_provider
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.actions.plans import ActionContext, ActionFailed, RunContext
from services.remediator.playbook_run import PlaybookRun
from services.remediator.playbooks import compile_playbook
from services.remediator.run_state import Act, Ask, RunState, Undo
from tests.support.samples import T0, alert, incident

PROBE = ResourceRef(kind="Probe", name="anthropic")
FAILOVER = compile_playbook(
    {
        "apiVersion": "healer.platform/v1",
        "kind": "RemediationPlaybook",
        "metadata": {"name": "provider-failover"},
        "spec": {
            "trigger": {"alerts": ["H2"], "targetKinds": ["Probe"]},
            "actions": [
                {"type": "failover_provider", "timeout": "1h"},
                {"type": "escalate", "condition": "provider_failed"},
            ],
        },
    },
    CATALOGUE,
    "test",
)


def switched(clock: ManualClock) -> PlaybookRun:
    run = Remediation(
        remediation_id="rem-1",
        incident_id="inc-1",
        playbook=FAILOVER.name,
        state="planned",
        cluster="default",
        target=PROBE,
        alert_ids=["H2"],
        started_at=T0,
        time=T0,
    )
    engine = PlaybookRun(RunState(run=run, playbook=FAILOVER, target=PROBE))
    assert isinstance(engine.start(clock.now()), Ask), "a failover asks a person first"
    expires = clock.now() + dt.timedelta(minutes=15)
    engine.await_approval(
        ApprovalRequest(action="failover_provider", summary="switch", expires_at=expires, on_timeout="deny"),
        clock.now(),
    )
    oncall = Principal("oncall", frozenset({"approve:oncall"}), "token")
    assert isinstance(engine.answered(True, oncall, clock.now(), "", clock.now()), Act)
    step = RemediationStep(action="failover_provider", outcome="ok", detail="switched", started_at=clock.now())
    undo: dict[str, object] = {
        "namespace": "cto",
        "name": "agent-providers",
        "key": "provider",
        "primary": "anthropic",
        "backup": "openai",
    }
    assert engine.acted(step, undo, clock.now()) is None
    return engine


def test_the_backup_holds_until_the_primary_recovers_then_the_switch_back_is_due_at_once() -> None:
    clock = ManualClock(T0)
    engine = switched(clock)
    assert str(engine.state.phase) == "verifying"

    clock.advance(600)
    engine.incident_changed(incident(alert("H2", status="resolved"), state="resolved", revision=2), clock.now())

    assert engine.state.run.state == "succeeded"
    assert str(engine.state.phase) == "holding"
    work = engine.timer(clock.now())
    assert isinstance(work, Undo)
    assert [u.data["primary"] for u in work.items] == ["anthropic"]


def test_a_primary_that_does_not_recover_within_the_window_escalates_and_keeps_the_backup() -> None:
    clock = ManualClock(T0)
    engine = switched(clock)
    clock.advance(3601)

    work = engine.timer(clock.now())

    assert isinstance(work, Act)
    assert work.action.type == "escalate"
    assert [u.type for u in engine.state.undos] == ["failover_provider"], "not switched back to a failing primary"


async def test_a_provider_with_no_failover_configured_names_the_setting() -> None:
    run = RunContext("rem-1", "inc-1", "default", ("H2",), PROBE, {}, "quota")
    async with httpx.AsyncClient() as http:
        ctx = ActionContext(None, http, ManualClock(T0), RemediatorSettings(), run, lambda *_: None)
        with pytest.raises(ActionFailed, match=r"set remediator\.providers\.anthropic with config_map and backup"):
            await failover_provider.plan(ctx, PROBE, {})
