"""Sends what a run's engine decided: each new revision of the run on `healer.remediations.<state>`, each
decision on `healer.audit.remediator`, and the run's remediation record in the cluster.
"""

from __future__ import annotations

from healer_common.contract.messages import stable_id
from healer_common.runtime.bus import Service
from services.remediator.actions.plans import CLUSTER_ERRORS
from services.remediator.adapters.records import RecordWriter
from services.remediator.playbook_run import PlaybookRun


class RunReporter:
    def __init__(self, svc: Service, records: RecordWriter | None) -> None:
        self._svc = svc
        self._records = records

    async def report(self, engine: PlaybookRun) -> None:
        state, run = engine.state, engine.state.run
        for snapshot in engine.published:
            await self._svc.publish(snapshot)
        first = len(state.decisions) - len(engine.notes)
        for i, note in enumerate(engine.notes):
            target = state.target if note.action not in {"run", "plan"} else run.target
            await self._svc.audit(
                note.action,
                note.decision,
                target=str(target or ""),
                reason=note.reason,
                dry_run=run.dry_run,
                incident_id=run.incident_id,
                remediation_id=run.remediation_id,
                event_id=stable_id(run.remediation_id, "note", first + i),
                playbook=run.playbook,
                **note.details,
            )
        changed = bool(engine.published or engine.notes)
        engine.published.clear()
        engine.notes.clear()
        if changed and self._records is not None and not run.dry_run:
            try:
                await self._records.write(state)
            except CLUSTER_ERRORS as exc:
                self._svc.log.warning("record_not_written", remediation_id=run.remediation_id, error=str(exc))
