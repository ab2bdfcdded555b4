"""`healer schema`: the JSON Schema of the bus contract, generated from the pydantic models so the files in
`schemas/` can never drift from the code (a unit test runs `--check`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, TypeAdapter

from healer_cli.runtime import console, fail
from healer_common.contract.alerts import Alert
from healer_common.contract.events import EVENT_ADAPTER, AlertmanagerWebhook
from healer_common.contract.incidents import Incident, IncidentAck
from healer_common.contract.remediations import ApprovalDecision, PlaybookRunRequest, Remediation

SCHEMAS: dict[str, type[BaseModel] | TypeAdapter[Any]] = {
    "event.schema.json": EVENT_ADAPTER,
    "alertmanager-webhook.schema.json": AlertmanagerWebhook,
    "alert.schema.json": Alert,
    "incident.schema.json": Incident,
    "remediation.schema.json": Remediation,
    "approval.schema.json": ApprovalDecision,
    "playbook-run.schema.json": PlaybookRunRequest,
    "ack.schema.json": IncidentAck,
}
TITLES = {
    "event.schema.json": "Healer event (CloudEvents 1.0, structured mode) on healer.events.<source>.<kind>",
}


def schema_text(name: str) -> str:
    model = SCHEMAS[name]
    schema = model.json_schema() if isinstance(model, TypeAdapter) else model.model_json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://healer.platform/schemas/{name}",
        **({"title": TITLES[name]} if name in TITLES else {}),
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = directory / name
        path.write_text(schema_text(name))
        written.append(path)
    return written


def stale(directory: Path) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    return [
        name
        for name in SCHEMAS
        if not (directory / name).is_file() or (directory / name).read_text() != schema_text(name)
    ]


def command(
    into: Annotated[Path | None, typer.Option("--write", help="write the JSON Schema files into this folder")] = None,
    check: Annotated[Path | None, typer.Option(help="exit 1 if this folder's files are stale")] = None,
) -> None:
    """Print (or write, or check) the JSON Schema of the event contract and the messages users read."""
    if into is not None:
        for path in write(into):
            console.print(f"wrote {path}")
    elif check is not None:
        if bad := stale(check):
            fail(f"stale schema files in {check}: {', '.join(bad)}; run `healer schema --write {check}`")
        console.print("schemas are up to date")
    else:
        console.print_json(json.dumps({name: json.loads(schema_text(name)) for name in SCHEMAS}))
