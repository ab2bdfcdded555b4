"""`healer dashboard` driven headless with Textual's pilot against a running api service: it shows what the bus
says (its rendered screen compared with a stored snapshot), and its keys act through the API: `k` acknowledges
the selected incident, `a` approves the selected run, `t` opens the incident's timeline."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from textual.widgets import DataTable

from healer_cli.tui import DashboardApp
from healer_common.contract.incidents import CauseCandidate, TimelineEntry
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, eventually, recording, token_of
from tests.support.api_support import api_url, waiting_run
from tests.support.browser import artifacts
from tests.support.samples import T0, alert, incident

pytestmark = pytest.mark.integration

SNAPSHOT = Path(__file__).parent / "__snapshots__" / "healer_dashboard.svg"
SIZE = (150, 44)


@pytest.fixture
async def api(services: ServiceRunner) -> str:
    services.start("api")
    await services.wait_running("api")
    return await api_url(services.settings)


def same_as_stored(svg: str) -> bool:
    """The rendered screen against tests/integration/__snapshots__/; UPDATE_SNAPSHOTS=1 stores it anew."""
    rendered = svg.encode()
    (artifacts("tui") / "healer_dashboard.svg").write_bytes(rendered)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_bytes(rendered)
    return SNAPSHOT.read_bytes() == rendered


async def test_the_terminal_dashboard_shows_the_bus_and_its_keys_act_through_the_api(
    api: str, bus: BusClient, services: ServiceRunner, tmp_path: Path
) -> None:
    fired = alert("H8")
    opened = incident(fired).evolve(
        incident_id="inc-tui-1",
        causes=[CauseCandidate(kind="alert", description="rex-1 ran out of memory", score=0.8).model_dump()],
        timeline=[TimelineEntry(time=T0, kind="opened", text="H8 firing on pod cto/rex-1").model_dump()],
    )
    await bus.publish(fired)
    await bus.publish(opened)

    app = DashboardApp(api, "alice", token_of(services.settings, "test-oncall"))  # its keys act as this credential
    async with app.run_test(size=SIZE) as pilot:
        incidents = app.query_one("#incidents", DataTable)
        await eventually(
            lambda: incidents.row_count == 1 and app.query_one("#alerts", DataTable).row_count == 1, what="rows"
        )
        await pilot.pause()
        assert same_as_stored(app.export_screenshot(title="healer dashboard")), (
            "the rendered screen differs from tests/integration/__snapshots__/healer_dashboard.svg; the new one is "
            "in build/artifacts/tui/ (UPDATE_SNAPSHOTS=1 stores it if the change is meant)"
        )

        async with recording(bus, bus.space.all_acks, bus.space.all_approvals) as seen:
            incidents.focus()
            await pilot.press("k")
            ack = await seen.wait_for(lambda m: m.subject == bus.space.acks("inc-tui-1"), what="the ack")
            assert json.loads(ack.data)["by"] == "test-oncall", "the credential acknowledges, not the typed name"

            await bus.publish(waiting_run("rem-tui-1", "inc-tui-1", dt.datetime.now(dt.UTC)))
            approvals = app.query_one("#approvals", DataTable)
            await eventually(lambda: approvals.row_count == 1, what="the approval row")
            approvals.focus()
            await pilot.press("a")
            decision = await seen.wait_for(lambda m: m.subject == bus.space.approvals("rem-tui-1"), what="approval")
            assert json.loads(decision.data)["decision"] == "approve"

        incidents.focus()
        await pilot.press("t")
        await eventually(lambda: app.screen.query("#timeline"), what="the timeline screen")
        shown = str(app.screen.query_one("#timeline").render())
        assert "H8 firing on pod cto/rex-1" in shown
        assert "rollback-bad-deploy" in shown
