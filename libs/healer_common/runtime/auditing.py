"""The service's audit trail: `svc.audit(...)` publishes an AuditRecord on `healer.audit.<service>` and logs
it; `svc.audit_record(...)` only builds one, for a storm's records to go out together (`publish_many`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from healer_common.contract.audit import AuditRecord, AuditValue

if TYPE_CHECKING:
    from healer_common.runtime.bus import Service


class Auditor:
    def __init__(self, service: Service) -> None:
        self._svc = service

    def record(
        self,
        action: str,
        decision: str,
        *,
        target: str = "",
        reason: str = "",
        dry_run: bool = False,
        incident_id: str | None = None,
        remediation_id: str | None = None,
        event_id: str | None = None,
        **details: AuditValue,
    ) -> AuditRecord:
        """The record `audit` publishes."""
        svc = self._svc
        return AuditRecord(
            service=svc.name,
            actor=svc.instance,
            action=action,
            decision=decision,
            target=target,
            reason=reason,
            dry_run=dry_run,
            incident_id=incident_id,
            remediation_id=remediation_id,
            details=details,
            time=svc.clock.now(),
            **({"event_id": event_id} if event_id else {}),
        )

    async def __call__(
        self,
        action: str,
        decision: str,
        *,
        target: str = "",
        reason: str = "",
        dry_run: bool = False,
        incident_id: str | None = None,
        remediation_id: str | None = None,
        event_id: str | None = None,
        **details: AuditValue,
    ) -> AuditRecord:
        """Publish an AuditRecord and log it."""
        record = self.record(
            action, decision, target=target, reason=reason, dry_run=dry_run, incident_id=incident_id,
            remediation_id=remediation_id, event_id=event_id, **details,
        )  # fmt: skip
        await self._svc.publish(record)
        self._svc.log.info("audit", action=action, decision=decision, target=target, reason=reason, dry_run=dry_run)
        return record
