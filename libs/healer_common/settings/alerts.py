"""How Healer publishes its alerts (`HEALER_ALERTS__*`): the schema version on `healer.alerts.*`, and the
links each alert carries for the people who get it (the `runbook_url` annotation and `generatorURL`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from healer_common.settings.section import Section

LINK_FIELDS = ("alert_id", "alertname", "cluster", "generator", "fingerprint")


class AlertsSettings(Section):
    schema_version: Literal[1, 2] = Field(
        2,
        description="shape of the alerts published on healer.alerts.*: 2 is Alertmanager's v2 (readable "
        "alertname, startsAt); 1 keeps the earlier shape while subscribers migrate (Healer reads both)",
    )
    runbook_url: str = Field(
        "https://github.com/5dlabs/healer/blob/main/docs/bus.md#alerts",
        description="runbook_url annotation of each alert, with {alert_id}, {alertname}, {cluster}, {generator} "
        "and {fingerprint} filled in, e.g. https://wiki.example.com/runbooks/{alertname}",
    )
    generator_url: str = Field(
        "healer://{cluster}/{generator}/{alert_id}?fingerprint={fingerprint}",
        description="generatorURL of each alert (same fields), e.g. a dashboard that shows the alert's cluster",
    )

    @field_validator("runbook_url", "generator_url")
    @classmethod
    def _known_fields(cls, template: str) -> str:
        """A misspelt field would fail at the first alert; fail at load instead, naming the ones there are."""
        try:
            template.format(**dict.fromkeys(LINK_FIELDS, "x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{template!r} uses {exc}; the fields are {', '.join(LINK_FIELDS)}") from None
        return template
