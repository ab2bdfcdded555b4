"""`healer memory`: look into long-term memory and add to it, through memory-bridge (request/reply on
`healer.memory.*`), whichever backend it runs on.

    healer memory list --limit 20
    healer memory query --text "ArgoCD sync failures" --limit 10
    healer memory stats
    healer memory add --content "..." --type factual
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from healer_cli.runtime import ConfigOption, console, fail, run, settings_or_exit
from healer_cli.tables import Column, show
from healer_common.contract.memory import (
    MEMORY_TYPES,
    MemoryAdd,
    MemoryAdded,
    MemoryAnswer,
    MemoryListing,
    MemoryListRequest,
    MemoryMetadata,
    MemoryQuery,
    MemoryRecord,
    MemoryStats,
    MemoryStatsRequest,
    MemoryType,
)
from healer_common.contract.messages import Message
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings

app = typer.Typer(help="Look into long-term memory, and add to it.", no_args_is_help=True)
WAIT_S = 10.0
JsonOption = Annotated[bool, typer.Option("--json", help="print the whole answer as JSON")]


async def ask(settings: Settings, subject: str, question: Message, model: type[BaseModel]) -> Any:
    """One request to memory-bridge; an answer that carries an error ends the command with it."""
    async with BusClient(settings, name="healer-memory") as bus:
        answer = await bus.request(subject, question, model, WAIT_S)
    if getattr(answer, "error", None):
        fail(str(answer.error), label="memory-bridge could not answer")
    return answer


def _print_json(answer: BaseModel) -> None:
    console.print_json(json.dumps(answer.model_dump(mode="json")))


def _clip(text: str, width: int = 90) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _verdict(record: MemoryRecord) -> str:
    return {True: "worked", False: "failed", None: ""}[record.metadata.success]


@app.command("list")
def list_memories(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many, newest first")] = 20,
    memory_type: Annotated[MemoryType | None, typer.Option("--type", help="only this type")] = None,
    as_json: JsonOption = False,
    config: Path | None = ConfigOption,
) -> None:
    """The newest memories."""
    settings = settings_or_exit(config)
    request = MemoryListRequest(limit=limit, type=memory_type)
    listing: MemoryListing = run(ask(settings, settings.space.memory_list, request, MemoryListing))
    if as_json:
        _print_json(listing)
        return
    rows = [
        [
            r.memory_id,
            r.type,
            f"{r.created_at:%Y-%m-%d %H:%M}",
            f"{r.salience:.2f}",
            str(r.reinforcements),
            _verdict(r),
            _clip(r.content),
        ]
        for r in listing.records
    ]
    headers = ("type", "created", "salience", "reinforced", "outcome", "content")
    show(console, [Column("id", key=True), *map(Column, headers)], rows, f"Memories ({listing.backend}, newest first)")


@app.command("query")
def query_memories(
    text: Annotated[str, typer.Option(help="what to remember, in words")],
    limit: Annotated[int, typer.Option(min=1, max=200)] = 10,
    alert_type: Annotated[str | None, typer.Option(help="only memories of this alert id, e.g. H8")] = None,
    namespace: Annotated[str | None, typer.Option(help="prefer memories of this namespace")] = None,
    service: Annotated[str | None, typer.Option(help="prefer memories of this workload")] = None,
    as_json: JsonOption = False,
    config: Path | None = ConfigOption,
) -> None:
    """What memory knows about something: matches by selection score, and what it recommends."""
    settings = settings_or_exit(config)
    question = MemoryQuery(text=text, limit=limit, alert_type=alert_type, namespace=namespace, service=service)
    answer: MemoryAnswer = run(ask(settings, settings.space.memory_query, question, MemoryAnswer))
    if as_json:
        _print_json(answer)
        return
    rows = [
        [
            m.record.memory_id,
            f"{m.score:.2f}",
            f"{m.relevance:.2f}",
            m.record.type,
            _verdict(m.record),
            f"{m.record.created_at:%Y-%m-%d}",
            _clip(m.record.content),
        ]
        for m in answer.matches
    ]
    headers = ("score", "relevance", "type", "outcome", "created", "content")
    show(console, [Column("id", key=True), *map(Column, headers)], rows, f"Memories about {text!r} ({answer.backend})")
    if rec := answer.recommendation:
        console.print(f"recommended: {rec.method} (confidence {rec.confidence:.2f}; {rec.summary})")


@app.command("stats")
def memory_stats(as_json: JsonOption = False, config: Path | None = ConfigOption) -> None:
    """How much is remembered, of which types, and how much is still alive."""
    settings = settings_or_exit(config)
    stats: MemoryStats = run(ask(settings, settings.space.memory_stats, MemoryStatsRequest(), MemoryStats))
    if as_json:
        _print_json(stats)
        return
    types = ", ".join(f"{t} {n}" for t, n in sorted(stats.by_type.items())) or "none"
    console.print(
        f"backend      {stats.backend}\nmemories     {stats.total} ({types})\n"
        f"selectable   {stats.selectable} (above the salience floor)\nreinforced   {stats.reinforced}\n"
        f"patterns     {stats.patterns}\navg salience {stats.average_salience:.2f}",
        highlight=False,
    )


@app.command("add")
def add_memory(
    content: Annotated[str, typer.Option(help="what to remember")],
    memory_type: Annotated[MemoryType, typer.Option("--type", help=f"one of {', '.join(MEMORY_TYPES)}")] = "factual",
    alert_type: Annotated[str | None, typer.Option(help="the alert id it is about")] = None,
    namespace: Annotated[str | None, typer.Option()] = None,
    service: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[list[str] | None, typer.Option(help="a tag; repeat for more")] = None,
    config: Path | None = ConfigOption,
) -> None:
    """Teach memory something (a fact, a runbook step, a lesson)."""
    settings = settings_or_exit(config)
    item = MemoryAdd(
        content=content,
        type=memory_type,
        metadata=MemoryMetadata(alert_type=alert_type, namespace=namespace, service=service),
        tags=tag or [],
        time=dt.datetime.now(dt.UTC),
    )
    added: MemoryAdded = run(ask(settings, settings.space.memory_add, item, MemoryAdded))
    note = " (already known)" if added.deduplicated else ""
    console.print(f"remembered {added.memory_id}{note}", highlight=False)
