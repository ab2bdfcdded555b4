"""The read API's pure parts as a person meets them: query parameters read (or refused with the reason), the
words for what Healer did about an alert, the tiles' states, a CodeRun's place in its workflow, and the
server-sent event frame."""

from __future__ import annotations

import datetime as dt

import pytest

from healer_common.contract.agents import AgentHealth, AgentsReport, LiveCodeRun
from healer_common.contract.events import ConditionEvent
from healer_common.contract.remediations import RemediationStep
from healer_common.contract.views import Check, ServiceStatus, StatusReport
from healer_common.runtime.stream_pages import MAX_WINDOW, next_window
from services.api.coderuns import active_coderuns, progress_of, stage_of
from services.api.dashboard import current_incidents, what_healer_did
from services.api.queries import ALERT_PARAMS, BadQuery, read_query
from services.api.sse import frame
from services.api.tiles import tiles
from tests.support.samples import T0, alert, incident, remediation


def test_alert_filters_are_read_into_a_subject_token_header_matches_and_times() -> None:
    query = read_query(
        ALERT_PARAMS,
        {"alert_id": "H8", "severity": "critical", "since": "2h", "limit": "50"},
        T0,
        1000,
        narrows="alert_id",
    )
    assert (query.token, query.limit, query.since) == ("H8", 50, T0 - dt.timedelta(hours=2))
    assert query.matches({"Healer-Severity": "critical"})
    assert not query.matches({"Healer-Severity": "warning"})


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"limit": "5000"}, "limit=5000 is out of range: use 1 to 1000"),
        ({"since": "yesterday"}, "since='yesterday' is neither a time nor a duration"),
        ({"since": "2026-01-05T09:00:00"}, "has no time zone"),
        ({"colour": "red"}, "unknown parameter 'colour'"),
        ({"since": "1h", "until": "2h"}, "must come before until"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it_and_how_to_write_it(given: dict[str, str], said: str) -> None:
    with pytest.raises(BadQuery, match=said.replace("(", r"\(").replace(")", r"\)")):
        read_query(ALERT_PARAMS, given, T0, 1000)


def test_what_healer_did_reads_as_the_seed_shows_it() -> None:
    fired, over = alert("H8"), alert("H8", status="resolved")
    held = incident(fired)
    assert what_healer_did(fired, held, remediation("succeeded")) == (
        "auto-remediated",
        "auto-remediated: pod restarted",
    )
    assert what_healer_did(fired, held, remediation("awaiting_approval"))[1].startswith("pending: requires attention")
    assert what_healer_did(fired, held, remediation("failed"))[1] == "pending: requires attention (remediation failed)"
    assert what_healer_did(fired, held, None) == ("pending", "pending: requires attention")
    assert what_healer_did(over, held, None) == ("resolved", "resolved on its own")
    told = remediation("succeeded").evolve(
        steps=[RemediationStep(action="notify", outcome="ok", started_at=T0).model_dump()]
    )
    assert what_healer_did(fired, held, told)[0] == "pending", "telling people is not healing"


def test_a_newer_revision_on_the_stream_wins_over_redis_and_a_resolved_one_closes_it() -> None:
    opened = incident(alert("H8"))
    assert current_incidents([opened], [opened.evolve(revision=2, state="resolved")]) == []
    assert current_incidents([], [opened]) == [opened]


def test_tiles_say_their_state_in_words_and_count_what_they_cover() -> None:
    check = Check(ok=True, url="x")
    status = StatusReport(
        ok=True, time=T0, nats=check, redis=check, services=[ServiceStatus(service="api", up=True, instances=[])]
    )
    shown = {t.key: t for t in tiles(status, [incident(alert("A2")), incident(alert("H1", severity="warning"))], [])}
    assert (shown["agents"].state, shown["agents"].count) == ("critical", 1)
    assert (shown["gitops"].state, shown["gitops"].count) == ("warning", 1)
    assert (shown["infra"].state, shown["workflows"].summary) == ("ok", "no CodeRun active")


def test_a_coderun_is_placed_in_its_workflow_by_its_agent() -> None:
    assert stage_of("5DLabs-Cleo") == (1, "quality")
    assert progress_of(2, "Running") == 0.5  # Tess testing: two stages done, half of the third
    event = ConditionEvent.model_validate(
        {
            "specversion": "1.0",
            "id": "1",
            "source": "/healer/collector/kubernetes",
            "type": "healer.condition.v1",
            "time": T0,
            "data": {
                "resource": {"kind": "CodeRun", "namespace": "cto", "name": "play-42"},
                "reason": "CodeRunRunning",
                "labels": {"phase": "Running", "agent": "5DLabs-Tess", "since": "2026-01-05T08:55:00Z"},
            },
        }
    )
    [run] = active_coderuns([event])
    assert (run.name, run.stage, run.progress, run.phase) == ("play-42", "testing", 0.5, "Running")
    finished = event.model_copy(update={"data": event.data.model_copy(update={"reason": "CodeRunFinished"})})
    assert active_coderuns([finished, event]) == [], "the newest word about a run counts"


def test_windows_grow_by_what_the_last_one_kept() -> None:
    assert next_window(100, kept=10, wanted=90) == 1080
    assert next_window(100, kept=0, wanted=100) == 200
    assert next_window(4000, kept=1, wanted=100) == MAX_WINDOW


def test_an_event_frame_is_one_data_line_per_line() -> None:
    assert frame("incident", b'{"a":1}') == b'event: incident\ndata: {"a":1}\n\n'
    assert frame("x", b"a\nb") == b"event: x\ndata: a\ndata: b\n\n"


def test_the_workflows_and_agents_tiles_tell_the_agent_platforms_report() -> None:
    report = AgentsReport(
        cluster="default",
        coderuns=[
            LiveCodeRun(namespace="cto", name="docs", phase="Running", stage="quality", priority="low", paused=True),
            LiveCodeRun(namespace="cto", name="fix", phase="Running", stage="remediation", priority="critical"),
        ],
        by_stage={"quality": 1, "remediation": 1},
        agents=[
            AgentHealth(agent="cleo", state="degraded", reasons=["A4 repeated approval loop"]),
            AgentHealth(agent="rex", state="healthy"),
        ],
    )
    status = StatusReport(
        ok=True, time=T0, nats=Check(ok=True, url="nats://x"), redis=Check(ok=True, url="redis://x"), services=[],
        agents=report,
    )  # fmt: skip
    shown = {t.key: t for t in tiles(status, [], [])}
    assert "by stage: quality 1, remediation 1; 1 paused for incidents" in shown["workflows"].summary
    assert "1 agent(s) healthy, degraded: cleo" in shown["agents"].summary
