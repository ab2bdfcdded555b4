"""The alert catalogue: every alert id's meaning, rule, signals, playbooks, next steps, log signature and
temporal mapping, read once from `catalogue.yaml` beside this module.

Who reads it: alerts.py (an alert id must be in it), the detector (log signatures, summaries), the correlator
(next-step hints), memory-bridge (which series' patterns predict which alert), the CLI (the table in docs/bus.md).
tests/unit/test_catalogue.py holds it to the detector's rules, the signals vocabulary and the built-in
playbooks, so none of them can drift from what the catalogue says.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from healer_common.contract.messages import Frozen
from healer_common.errors import ConfigError

Provider = Literal["detector", "memory-bridge", "alertmanager", "github"]
Family = Literal["agent-workflow", "platform", "healer"]
CatalogueSeverity = Literal["info", "warning", "critical"]


class CatalogueEntry(Frozen):
    """What an alert id means and what answers it; thresholds live in the detector's rule settings."""

    alert_id: str
    name: str
    severity: CatalogueSeverity
    family: Family
    summary: str
    fires_when: str
    provided_by: Provider = "detector"
    status: Literal["active", "pending"] = Field(
        "active", description="pending: its rules are not written yet (the alert is never raised)"
    )
    rule: str | None = Field(None, description="the detector rule module (services/detector/rules/<rule>.py)")
    signals: tuple[str, ...] = ()
    playbooks: tuple[str, ...] = ()
    hints: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    log_signature: str | None = None
    temporal: tuple[str, ...] = ()

    @property
    def alertname(self) -> str:
        """The readable name Alertmanager users match on: `memory pressure` -> `MemoryPressure`."""
        return _readable(self.name)

    def hints_for(self, reason: str | None) -> tuple[str, ...]:
        """Next steps for a trigger reason or metric, else the default ones."""
        return self.hints.get(reason or "", ()) or self.hints.get("default", ())


@cache
def _readable(name: str) -> str:
    """Cached: every alert decoded asks for its entry's name (ten thousand in a storm)."""
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[\s-]+", name) if word)


class Catalogue(Frozen):
    entries: dict[str, CatalogueEntry]
    context_only: dict[str, str] = Field(description="collected signals no rule judges, each with why")


def _read(text: str, source: str) -> Catalogue:
    raw = yaml.safe_load(text)
    context = raw.pop("context_only", {})
    try:
        entries = {alert_id: CatalogueEntry(alert_id=alert_id, **body) for alert_id, body in raw.items()}
        return Catalogue(entries=entries, context_only=context)
    except (ValidationError, TypeError) as exc:
        raise ConfigError(f"invalid alert catalogue: {exc}", source=source) from None


@cache
def load_catalogue() -> Catalogue:
    text = resources.files("healer_common.contract").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return _read(text, "healer_common/contract/catalogue.yaml")


CATALOGUE: dict[str, CatalogueEntry] = load_catalogue().entries


def metric_alerts() -> dict[str, str]:
    """Metric name -> the alert id whose temporal patterns it predicts (its first listing wins)."""
    found: dict[str, str] = {}
    for entry in CATALOGUE.values():
        for metric in entry.temporal:
            found.setdefault(metric, entry.alert_id)
    return found


def log_signatures() -> dict[str, str]:
    """Alert id -> the log signature that raises it (the detector's default `logs.signatures`)."""
    return {e.alert_id: " ".join(e.log_signature.split()) for e in CATALOGUE.values() if e.log_signature}


def markdown_table() -> str:
    """The catalogue table of docs/bus.md: id, name, what fires it, and what answers it."""
    lines = [
        "| id | alertname | name | fires when | decided by | answered by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for e in CATALOGUE.values():
        if e.provided_by == "detector":
            where = f"`services/detector/rules/{e.rule}.py`"
        else:
            where = e.provided_by + (" (pending)" if e.status == "pending" else "")
        playbooks = ", ".join(f"`{p}`" for p in e.playbooks) or "-"
        alertname = "its own (`ExternalAlert` if it has none)" if e.alert_id == "EXT" else f"`{e.alertname}`"
        lines.append(f"| {e.alert_id} | {alertname} | {e.name} | {e.fires_when} | {where} | {playbooks} |")
    return "\n".join(lines) + "\n"
