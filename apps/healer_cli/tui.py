"""`healer dashboard`'s screen: the web dashboard's view in a terminal (Textual), fed by the same stream.

It follows `GET /api/v1/dashboard/stream` of the read API and renders each `DashboardView` it pushes: health,
the four tiles, open incidents with their likely cause, approvals waiting, active CodeRuns with a progress bar,
and recent alerts with what Healer did. Keys act on the selected row through the API, as the page's buttons do:

    a / d   approve / deny the selected approval        k   acknowledge the selected incident
    s       silence the selected incident's alerts (2h)  t   the selected incident's timeline
    tab     next table                                   q   quit

Every state is written out (CRITICAL, WARNING, OK), never shown by colour alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

import httpx
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from healer_common.contract.views import DashboardView, IncidentCard, IncidentDetail, Tile

STYLE = {"ok": "green", "healthy": "green", "warning": "yellow", "degraded": "yellow", "critical": "red"}
STYLE |= {"down": "red", "unknown": "grey50", "info": "green"}
RECONNECT_S = 2.0
TITLES = {
    "incidents": "Open incidents",
    "approvals": "Approvals waiting",
    "coderuns": "Active workflows",
    "alerts": "Recent alerts",
}
COLUMNS = {
    "incidents": ("id", "severity", "title", "likely cause", "Healer"),
    "approvals": ("run", "action", "what", "playbook", "then"),
    "coderuns": ("CodeRun", "agent", "stage", "phase", "progress"),
    "alerts": ("time", "alert", "severity", "target", "status", "what Healer did"),
}


def word(state: str) -> Text:
    return Text(state.upper(), style=f"bold {STYLE.get(state, 'white')}")


def bar(progress: float | None, width: int = 10) -> str:
    if progress is None:
        return "?"
    filled = round(progress * width)
    return f"{'█' * filled}{'░' * (width - filled)} {round(progress * 100):>3}%"


def tile_text(tile: Tile) -> Text:
    text = Text.assemble((tile.title, "bold"), " ", word(tile.state), f"\n{tile.count} {tile.counts}\n")
    text.append(tile.summary, style="dim")
    return text


def incident_cells(card: IncidentCard) -> list[Any]:
    run = card.remediation
    return [
        card.incident_id[:10],
        word(card.severity),
        card.title[:60],
        card.cause.description[:50] if card.cause else "-",
        f"{run.playbook} {run.state}" if run else "no remediation yet",
    ]


class Timeline(ModalScreen[None]):
    """One incident's timeline and remediations (`t`); any key closes it."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [("escape,q,t", "dismiss", "close")]

    def __init__(self, detail: IncidentDetail) -> None:
        super().__init__()
        self.detail = detail

    def compose(self) -> ComposeResult:
        incident = self.detail.incident
        lines = [f"[b]{incident.title}[/b] ({incident.state}, {incident.severity.upper()})", ""]
        lines += [f"{e.time:%H:%M:%S} {e.kind}: {e.text}" for e in incident.timeline]
        lines += ["", "[b]remediations[/b]"]
        lines += [
            f"{r.playbook} {r.state}: " + (", ".join(f"{s.action} {s.outcome}" for s in r.steps) or "no step")
            for r in self.detail.remediations
        ] or ["none"]
        yield VerticalScroll(Static("\n".join(lines), id="timeline", markup=True))


class DashboardApp(App[None]):
    CSS = """
    #health { height: 1; padding: 0 1; }
    #tiles { height: 5; }
    #tiles Static { width: 1fr; border: round $primary-darken-2; padding: 0 1; }
    VerticalScroll > Vertical { height: auto; }
    DataTable { height: auto; max-height: 12; margin: 0 0 1 0; }
    .title { text-style: bold; padding: 0 1; }
    Timeline { align: center middle; }
    #timeline { width: 90; padding: 1 2; border: round $primary; background: $surface; }
    """
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        ("a", "answer('approve')", "approve"),
        ("d", "answer('deny')", "deny"),
        ("k", "ack", "ack"),
        ("s", "silence", "silence 2h"),
        ("t", "timeline", "timeline"),
        ("q", "quit", "quit"),
    ]

    def __init__(self, api: str, by: str, token: str | None = None) -> None:
        super().__init__()
        self.api = api.rstrip("/")
        self.by = by
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.view: DashboardView | None = None
        self.said = ""

    def compose(self) -> ComposeResult:
        yield Static("connecting…", id="health")
        yield Horizontal(*(Static(id=f"tile-{k}") for k in ("workflows", "agents", "infra", "gitops")), id="tiles")
        with VerticalScroll():
            for key, columns in COLUMNS.items():
                with Vertical():
                    yield Static(TITLES[key], classes="title", id=f"{key}-title")
                    table: DataTable[Any] = DataTable(id=key, cursor_type="row", zebra_stripes=True)
                    table.add_columns(*columns)
                    yield table
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Healer"
        self.follow()

    @work(exclusive=True)
    async def follow(self) -> None:
        """Read the dashboard stream for as long as the app runs, reconnecting when it drops."""
        async with httpx.AsyncClient(base_url=self.api, headers=self.headers, timeout=None) as http:  # noqa: S113 - a stream stays open
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    async with http.stream("GET", "/api/v1/dashboard/stream") as stream:
                        async for line in stream.aiter_lines():
                            if line.startswith("data: "):
                                self.show(DashboardView.model_validate_json(line.removeprefix("data: ")))
                self.query_one("#health", Static).update(Text("RECONNECTING to " + self.api, style="bold red"))
                await asyncio.sleep(RECONNECT_S)

    def show(self, view: DashboardView) -> None:
        self.view = view
        health = view.health
        status = Text.assemble(word(health.state), f" {health.summary} ({health.services_up}/{health.services_total})")
        self.query_one("#health", Static).update(
            status + (Text(f"  · {self.said}", style="italic") if self.said else "")
        )
        for tile in view.tiles:
            self.query_one(f"#tile-{tile.key}", Static).update(tile_text(tile))
        self._fill("incidents", [(c.incident_id, incident_cells(c)) for c in view.incidents])
        self._fill("approvals", [
            (a.remediation_id, [a.remediation_id[:10], a.action, a.summary[:60], a.playbook, a.on_timeout])
            for a in view.approvals
        ])  # fmt: skip
        self._fill("coderuns", [
            (r.name, [r.name, r.agent or "?", r.stage or "?", r.phase, bar(r.progress)]) for r in view.coderuns
        ])  # fmt: skip
        self._fill("alerts", [
            (a.fingerprint, [f"{a.time:%H:%M:%S}", f"{a.alert_id} {a.name}", word(a.severity), a.target[:40], a.status,
             Text(a.action, style="green" if a.action_state == "auto-remediated" else "")])
            for a in view.alerts
        ])  # fmt: skip

    def _fill(self, key: str, rows: list[tuple[str, list[Any]]]) -> None:
        table = self.query_one(f"#{key}", DataTable)
        selected = self._selected(key)
        table.clear()
        for row_key, cells in rows:
            table.add_row(*cells, key=row_key)
        keys = [k for k, _ in rows]
        if selected in keys:
            table.move_cursor(row=keys.index(selected))
        self.query_one(f"#{key}-title", Static).update(f"{TITLES[key]} ({len(rows)})")

    def _selected(self, key: str) -> str | None:
        table = self.query_one(f"#{key}", DataTable)
        if table.row_count == 0:
            return None
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(row_key.value) if row_key.value is not None else None

    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> bool:
        async with httpx.AsyncClient(base_url=self.api, headers=self.headers, timeout=10) as http:
            reply = await http.request(method, f"/api/v1{path}", json=body)
        answer = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
        self.said = f"{method} {path}: " + ("done" if reply.is_success else str(answer.get("error", reply.status_code)))
        self.notify(self.said, severity="information" if reply.is_success else "error")
        return reply.is_success

    async def action_answer(self, decision: str) -> None:
        if (run := self._selected("approvals")) is not None:
            await self._send("POST", f"/approvals/{run}", {"decision": decision, "by": self.by})

    async def action_ack(self) -> None:
        if (incident := self._selected("incidents")) is not None:
            await self._send("POST", f"/incidents/{incident}/ack", {"by": self.by})

    async def action_silence(self) -> None:
        card = next(
            (c for c in (self.view.incidents if self.view else []) if c.incident_id == self._selected("incidents")),
            None,
        )
        if card is not None:
            matchers = [f"cluster={card.cluster}", f"alertname=~{'|'.join(card.alert_ids)}"]
            body = {
                "matchers": matchers,
                "duration_s": 7200,
                "reason": "silenced from healer dashboard",
                "author": self.by,
            }
            await self._send("POST", "/silences", body)

    async def action_timeline(self) -> None:
        if (incident := self._selected("incidents")) is None:
            return
        async with httpx.AsyncClient(base_url=self.api, headers=self.headers, timeout=10) as http:
            reply = await http.get(f"/api/v1/incidents/{incident}")
        if reply.is_success:
            await self.push_screen(Timeline(IncidentDetail.model_validate_json(reply.content)))
