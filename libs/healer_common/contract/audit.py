"""The audit trail: every decision a service takes about the world, on `healer.audit.<service>`.

Skips and refusals are recorded as carefully as actions: "why did Healer not restart it?" must have an
answer. HEALER_AUDIT keeps a year by default.
"""

from __future__ import annotations

from pydantic import Field

from healer_common.contract.messages import Message

AuditValue = str | int | float | bool | None


class AuditRecord(Message):
    service: str
    actor: str = Field(description="the service instance or the user who decided")
    action: str = Field(description="what was decided about, e.g. restart_pod, notify, silence")
    decision: str = Field(description="acted, dry_run, skipped, refused, approved, denied, delivered, failed ...")
    target: str = ""
    reason: str = ""
    dry_run: bool = False
    incident_id: str | None = None
    remediation_id: str | None = None
    details: dict[str, AuditValue] = Field(default_factory=dict)
