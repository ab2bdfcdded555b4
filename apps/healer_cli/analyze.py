"""`healer analyze` and `healer predict`: memory's sleep-time analysis on demand (and in the healer-analyze
CronJob), what memory expects to happen next, and (`healer analyze rca`, rca.py) the root cause of a
violation from a call graph and metrics files.

    healer analyze --since 24h --output report.json
    healer analyze rca --graph G.csv --normal N.csv --metrics W.csv --target NODE:METRIC:STAT --output R.csv
    healer predict --namespace cto

`analyze` reads the window's history back from JetStream, analyses it here, writes the JSON report, and
teaches memory the insights through memory-bridge (`healer.memory.add`); it exits 1 if memory-bridge could
not take them (the report is written all the same). `predict` asks memory-bridge (`healer.memory.predict`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from healer_cli import rca
from healer_cli.durations import parse_since
from healer_cli.memory import WAIT_S, ask
from healer_cli.progress import Advance, progress
from healer_cli.runtime import ConfigOption, console, fail, run, settings_or_exit
from healer_cli.tables import Column, show
from healer_common.contract.memory import MemoryAdd, MemoryAdded, PredictionAnswer, PredictionRequest
from healer_common.errors import Retryable
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings

if TYPE_CHECKING:
    from services.memory_bridge.analysis.report import AnalysisReport


async def _analyze(settings: Settings, since: dt.timedelta, store: bool) -> AnalysisReport:
    now = dt.datetime.now(dt.UTC)
    unreachable: list[str] = []
    with progress("reading and analysing history") as advance:
        return await _analyze_with(settings, since, store, now, unreachable, advance)


async def _analyze_with(
    settings: Settings, since: dt.timedelta, store: bool, now: dt.datetime, unreachable: list[str], advance: Advance
) -> AnalysisReport:
    from services.memory_bridge.adapters.analysis_runner import run_analysis  # noqa: PLC0415 - keeps other commands quick

    async with BusClient(settings, name="healer-analyze") as bus:

        async def remember(item: MemoryAdd) -> MemoryAdded:
            """Through memory-bridge; once it did not answer, the rest are not tried (the report says so)."""
            advance(description="teaching memory the insights")
            if not unreachable:
                try:
                    added: MemoryAdded = await bus.request(settings.space.memory_add, item, MemoryAdded, WAIT_S)
                except Retryable as exc:
                    unreachable.append(str(exc))
                else:
                    return added
            return MemoryAdded(memory_id="", error=unreachable[0])

        return await run_analysis(bus, settings.memory, now - since, now, remember if store else None)


def _summary(report: AnalysisReport) -> None:
    counts = report.counts
    console.print(
        f"analysed {report.window_start:%Y-%m-%d %H:%M} to {report.window_end:%Y-%m-%d %H:%M} UTC: "
        f"{counts.alerts} alerts, {counts.changes} changes, {counts.remediations} remediations, "
        f"{counts.series} series",
        highlight=False,
    )
    findings = [
        ("correlation", [c.description for c in report.correlations]),
        ("temporal", [t.description for t in report.temporal]),
        ("exhaustion", [f.description for f in report.exhaustion if f.exhausted_at]),
        ("failure", [f.description for f in report.failures]),
        ("playbook", [t.description for t in report.tuning]),
    ]
    for kind, lines in findings:
        for line in lines:
            console.print(f"  {kind:<12} {line}")


app = typer.Typer(help="Analyse history (the default), or find a violation's root cause (rca).")
app.command("rca")(rca.rca_command)


@app.callback(invoke_without_command=True)
def analyze_command(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="how far back: 90m, 24h, 7d, 2w")] = "24h",
    output: Annotated[Path | None, typer.Option(help="write the JSON report here")] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="teach memory the insights")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole report as JSON")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Analyse history: alert correlations, temporal patterns, exhaustion, failure patterns, playbook ratings."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_or_exit(config)
    report = run(_analyze(settings, parse_since(since), store))
    document = json.dumps(report.model_dump(mode="json"), indent=2)
    if output is not None:
        output.write_text(document + "\n")
    if as_json:
        console.print_json(document)
    else:
        _summary(report)
    if store:
        from services.memory_bridge.analysis.insights import insight_memories  # noqa: PLC0415 - as above

        wanted = len(insight_memories(report, report.generated_at))
        if not as_json:
            console.print(f"insights: {report.insights_stored} stored, {report.insights_new} new")
        if report.insights_stored < wanted:
            fail(f"memory-bridge took {report.insights_stored} of {wanted} insights; is it running?")


def predict_command(
    namespace: Annotated[str | None, typer.Option(help="only this namespace")] = None,
    service: Annotated[str | None, typer.Option(help="only this workload")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole answer as JSON")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """What memory expects next: remembered patterns (salience above 0.8) that match current conditions."""
    settings = settings_or_exit(config)
    request = PredictionRequest(namespace=namespace, service=service)
    answer: PredictionAnswer = run(ask(settings, settings.space.memory_predict, request, PredictionAnswer))
    if as_json:
        console.print_json(json.dumps(answer.model_dump(mode="json")))
        return
    if not answer.predictions:
        console.print(f"memory expects nothing in particular{f' in {namespace}' if namespace else ''}")
        return
    rows = [
        [
            p.predicts,
            "/".join(x for x in (p.namespace, p.service) if x) or "-",
            f"{p.expected_at:%a %H:%M}" if p.expected_at else "soon",
            f"{p.confidence:.0%}",
            p.prevention,
            p.reason[:120],
        ]
        for p in answer.predictions
    ]
    columns = [Column("alert", key=True), Column("where", key=True), Column("expected"), Column("confidence")]
    show(console, [*columns, Column("prevention"), Column("because")], rows, title="Predicted")
