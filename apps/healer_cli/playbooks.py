"""`healer playbooks list | show NAME | run NAME --target T [--dry-run] | validate FILE | edit NAME`.

Playbooks are read as the remediator reads them (cluster resources, then `remediator.playbook_paths`, then the
built-ins) and validated by the same code. `run --dry-run` rehearses here, printing the exact API calls each
action would make and making none; `run` without it asks the remediator (on `healer.playbook_runs.<name>`),
so its guards, limits and audit apply, and follows the run until it ends.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import click
import typer
import yaml

from healer_cli.credentials import client_token
from healer_cli.playbook_edit import save_edit
from healer_cli.runtime import ConfigOption, console, errors, fail, line, run, settings_or_exit
from healer_cli.tables import Column, show
from healer_common.clock import utcnow
from healer_common.contract.auth import attest
from healer_common.contract.events import ResourceRef
from healer_common.contract.messages import new_id, stable_id
from healer_common.contract.remediations import PlaybookRunRequest, Remediation
from healer_common.errors import ConfigError, Unreachable
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.kube import api_client
from healer_common.runtime.state import KeySpace, reachable_redis
from healer_common.settings import Settings
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.adapters.learning import TrackRecord
from services.remediator.adapters.playbook_sources import PlaybookLibrary
from services.remediator.confidence import Confidence
from services.remediator.playbooks import Playbook, check_text, compile_text

app = typer.Typer(help="The remediator's playbooks: list, show, validate, edit, run.", no_args_is_help=True)
Target = Annotated[str, typer.Option("--target", "-t", help="NS/POD, KIND/NS/NAME or KIND/NAME (cluster-scoped)")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def parse_target(text: str) -> ResourceRef:
    parts = text.strip("/").split("/")
    if len(parts) == 3:
        return ResourceRef(kind=parts[0], namespace=parts[1], name=parts[2])
    if len(parts) == 2:
        if parts[0][:1].isupper():
            return ResourceRef(kind=parts[0], name=parts[1])
        return ResourceRef(kind="Pod", namespace=parts[0], name=parts[1])
    raise typer.BadParameter(f"{text!r}: write NS/POD, KIND/NS/NAME or KIND/NAME")


async def load_library(settings: Settings) -> PlaybookLibrary:
    cfg = settings.remediator
    library = PlaybookLibrary(
        CATALOGUE, cfg.playbook_paths, api_client(settings.cluster), cluster=cfg.cluster_playbooks
    )
    for problem in await library.reload():
        line(("warning: ", "yellow"), problem, to=errors)
    return library


def playbook_or_exit(settings: Settings, name: str) -> Playbook:
    playbook = run(load_library(settings)).get(name)
    if playbook is None:
        fail(f"no playbook named {name!r}; `healer playbooks list` shows them")
    return playbook


async def confidences(settings: Settings) -> dict[str, Confidence] | None:
    """Each playbook's track record, or None (and a warning naming why) when Redis cannot be reached."""
    try:
        redis = await reachable_redis(settings)
    except Unreachable as exc:
        line(("warning: ", "yellow"), f"confidences are not shown: {exc}", to=errors)
        return None
    try:
        return await TrackRecord(redis, KeySpace(settings.redis.key_prefix)).all()
    finally:
        await redis.aclose()


def describe_action(playbook: Playbook, index: int) -> str:
    """`scale_up[restart_failed]~`: its condition, `!` when it needs approval, `~` when it is undone later."""
    action = playbook.actions[index]
    condition = f"[{action.condition}]" if action.condition != "always" else ""
    marks = ("!" if action.needs_approval else "") + ("~" if action.reversal != "none" else "")
    return f"{action.type}{condition}{marks}"


def as_record(playbook: Playbook, confidence: Confidence | None) -> dict[str, Any]:
    """A playbook as `--json` prints it: what triggers it, its actions (with the marks of the table), its score."""
    return {
        "name": playbook.name,
        "source": playbook.source,
        "alerts": list(playbook.trigger.alerts),
        "target_kinds": list(playbook.trigger.target_kinds),
        "actions": [describe_action(playbook, i) for i in range(len(playbook.actions))],
        "confidence": None
        if confidence is None
        else {"successes": confidence.successes, "failures": confidence.failures, "mean": round(confidence.mean, 4)},
    }


@app.command("list")
def list_command(as_json: JsonOption = False, config: Path | None = ConfigOption) -> None:
    """Every playbook in use, what triggers it, its actions, and the confidence its outcomes earned."""
    settings = settings_or_exit(config)
    library = run(load_library(settings))
    scores = run(confidences(settings))
    if as_json:
        known = scores or {}
        records = [
            as_record(p, known.get(p.name, Confidence()) if scores is not None else None) for p in library.playbooks
        ]
        console.print_json(json.dumps(records))
        return
    rows = []
    for playbook in library.playbooks:
        kinds = f" on {', '.join(playbook.trigger.target_kinds)}" if playbook.trigger.target_kinds else ""
        actions = " → ".join(describe_action(playbook, i) for i in range(len(playbook.actions)))
        score = "?" if scores is None else str(scores.get(playbook.name, Confidence()))
        rows.append([playbook.name, f"{', '.join(playbook.trigger.alerts)}{kinds}", actions, score, playbook.source])
    actions_header = "actions (! needs approval, ~ undone if it harms or in time)"
    columns = [Column("playbook", key=True), Column("triggers on"), Column(actions_header), Column("confidence")]
    show(console, [*columns, Column("source")], rows)


@app.command("show")
def show_command(name: str, as_json: JsonOption = False, config: Path | None = ConfigOption) -> None:
    """One playbook as written, where it comes from, and its confidence."""
    settings = settings_or_exit(config)
    playbook = playbook_or_exit(settings, name)
    scores = run(confidences(settings))
    if as_json:
        confidence = None if scores is None else scores.get(name, Confidence())
        console.print_json(json.dumps({**as_record(playbook, confidence), "document": playbook.document}))
        return
    score = "unknown (Redis is unreachable)" if scores is None else str(scores.get(name, Confidence()))
    console.print(f"# source: {playbook.source}; confidence {score}", soft_wrap=True)
    console.print(yaml.safe_dump(playbook.document, sort_keys=False), soft_wrap=True)


@app.command()
def validate(file: Path) -> None:
    """Check a playbook file: every problem of every playbook in it, one per line, naming the field and the
    reason (unknown alert ids and actions that cannot act on the trigger's target kinds included); exit 1 if any,
    or if the file holds no playbook."""
    try:
        playbooks, problems = check_text(file.read_text(), CATALOGUE, str(file))
    except (ConfigError, OSError) as exc:
        fail(str(exc), label="invalid")
    for problem in problems:
        line(("invalid: ", "red"), problem, to=errors)
    if problems:
        fail(f"{len(problems)} problem(s) in {file}", label="invalid")
    if not playbooks:
        fail(f"no playbook in {file}: a RemediationPlaybook document is expected", label="invalid")
    console.print(f"valid: {len(playbooks)} playbook(s): {', '.join(p.name for p in playbooks)}", soft_wrap=True)


@app.command()
def edit(name: str, config: Path | None = ConfigOption) -> None:
    """Edit a playbook in $EDITOR; saved only if it validates (built-ins are saved as an override file)."""
    settings = settings_or_exit(config)
    playbook = playbook_or_exit(settings, name)
    before = yaml.safe_dump(playbook.document, sort_keys=False)
    after = click.edit(before, extension=".yaml")
    if after is None or after == before:
        console.print("no change")
        return
    try:
        edited = edited_playbook(after, name)
    except ConfigError as exc:
        fail(str(exc), label="not saved")
    console.print(f"saved {name} to {run(save_edit(settings, playbook, edited))}")


def edited_playbook(text: str, name: str) -> Playbook:
    """The one playbook an edit produced, validated, still under its name."""
    playbooks = compile_text(text, CATALOGUE, f"{name} (edited)")
    if len(playbooks) != 1 or playbooks[0].name != name:
        found = ", ".join(p.name for p in playbooks) or "none"
        raise ConfigError(
            f"an edit must keep exactly one playbook named {name!r} (found: {found})", field="metadata.name"
        )
    return playbooks[0]


@app.command("run")
def run_command(
    name: str,
    target: Target,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the exact API calls; make none")] = False,
    wait: Annotated[float, typer.Option(help="seconds to follow the run")] = 60.0,
    use_memory: Annotated[
        bool,
        typer.Option(
            "--use-memory/--no-use-memory", help="ask memory first: what it remembers goes into a CodeRun's prompt"
        ),
    ] = True,
    config: Path | None = ConfigOption,
) -> None:
    """Run a playbook against a target through the remediator, or rehearse it with --dry-run."""
    from healer_cli.playbook_rehearsal import print_rehearsal  # noqa: PLC0415 - only the dry run needs it

    settings = settings_or_exit(config)
    playbook = playbook_or_exit(settings, name)
    aim = parse_target(target)
    if dry_run:
        run(print_rehearsal(settings, playbook, aim))
        return
    final = run(request_run(settings, playbook.name, aim, wait, use_memory=use_memory))
    raise typer.Exit(0 if final is not None and final.state == "succeeded" else 1)


async def request_run(
    settings: Settings, playbook: str, target: ResourceRef, wait: float, *, use_memory: bool = True
) -> Remediation | None:
    """Ask the remediator to run the playbook and print the run's states until its verdict (or `wait` ends)."""
    name, token = client_token(settings, "admin")  # a run that acts needs an admin credential
    request = PlaybookRunRequest(
        request_id=new_id()[:16],
        playbook=playbook,
        target=target,
        cluster=settings.cluster.name,
        by=name,
        use_memory=use_memory,
    )
    request = request.evolve(attestation=attest(token, request.statement(), utcnow()))
    run_id = stable_id("manual", request.request_id)[:16]
    updates: asyncio.Queue[Remediation] = asyncio.Queue()

    async def on_update(msg: Any) -> None:
        update = Remediation.model_validate_json(msg.data)
        if update.remediation_id == run_id:
            await updates.put(update)

    async with BusClient(settings) as bus:
        subscription = await bus.nc.subscribe(settings.space.all_remediations, cb=on_update)
        await bus.nc.flush()
        await bus.publish(request)
        console.print(f"asked the remediator to run {playbook} on {target} (remediation {run_id})")
        try:
            async with asyncio.timeout(wait):
                while not (update := await updates.get()).final:
                    console.print(f"{update.state}: {update.reason}", markup=False, highlight=False)
        except TimeoutError:
            line((f"no verdict within {wait:.0f}s; follow it with `healer watch remediations`", "yellow"), to=errors)
            return None
        finally:
            await subscription.unsubscribe()
    console.print(f"{update.state}: {update.reason}", markup=False, highlight=False)
    return update
