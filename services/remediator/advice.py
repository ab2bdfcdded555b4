"""What to do with memory's answer: apply a remembered fix directly when memory is sure enough of it (above
`memory_confidence`, 0.9 by default), else follow the matched playbook. A remembered fix is a playbook name
(run that playbook) or an action of the matched playbook, by type or name (start there, skipping what came
before).

A fix that did not hold (`recurrence`: the alert back soon after a verified fix) is first-hand news that
memory has not heard yet (it learns it from the run that goes on, see outcomes.py in memory-bridge), so it
outranks memory's advice: the run goes on after that fix, unless memory's advice already starts later in
the same playbook (`heeding`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from healer_common.contract.memory import MemoryAnswer
from healer_common.contract.remediations import FixNotHeld
from services.remediator.playbooks import Playbook
from services.remediator.run_state import Fix


@dataclass(frozen=True)
class Advice:
    playbook: Playbook
    first: int | None = None  # start at this action instead of the first that applies
    memory_id: str | None = None
    confidence: float | None = None
    reason: str = ""
    matched: Playbook | None = None  # the incident's own playbook, when memory's advice runs another
    recommended: str = ""  # what memory recommended, with its confidence and memory id

    @property
    def applied(self) -> bool:
        return self.memory_id is not None


def advise(answer: MemoryAnswer | None, matched: Playbook, playbooks: Sequence[Playbook], threshold: float) -> Advice:
    if answer is None:
        return Advice(matched, reason="memory did not answer in time; following the playbook")
    rec = answer.recommendation
    if rec is None:
        return Advice(matched, reason=f"memory has no recommendation ({len(answer.matches)} related memories)")
    said = f"memory recommends {rec.method} (confidence {rec.confidence:.2f}, memory {rec.memory_id})"
    if rec.confidence <= threshold:
        return Advice(matched, reason=f"{said}, not above {threshold:.2f}; following {matched.name}")
    by_name = {p.name: p for p in playbooks}
    if rec.method in by_name:
        chosen = by_name[rec.method]
        reason = f"{said}; applying playbook {chosen.name} directly"
        return Advice(chosen, None, rec.memory_id, rec.confidence, reason, matched=matched, recommended=said)
    for action in matched.actions:
        if rec.method in {action.type, action.name}:
            reason = f"{said}; starting {matched.name} at {action.type} directly"
            return Advice(matched, action.index, rec.memory_id, rec.confidence, reason, recommended=said)
    return Advice(matched, reason=f"{said}, which is neither a playbook nor an action of {matched.name}; following it")


def heeding(advice: Advice, fix: Fix, why: str) -> Advice:
    """Memory's advice, now that `fix` did not hold: it stands only if it starts after that fix in the same
    playbook; otherwise the run follows its own playbook on after the fix, and says why memory was set aside."""
    if not advice.applied:
        return advice
    own = advice.matched or advice.playbook
    failed = next((a.index for a in own.actions if a.name == fix.action), None)
    if advice.playbook is own and advice.first is not None and failed is not None and advice.first > failed:
        return advice
    return Advice(own, reason=f"{advice.recommended}, not applied: {why}")


def recurrence(fix: Fix | None, playbook: Playbook, now: dt.datetime, window_s: float) -> str | None:
    """Why this incident continues an earlier run: the same playbook verified a fix of this target less than
    `window_s` ago, and the alert is back, so that fix did not hold. None when it does not."""
    if fix is None or fix.playbook != playbook.name or (now - fix.at).total_seconds() > window_s:
        return None
    if not any(a.name == fix.action for a in playbook.actions):
        return None
    ago = (now - fix.at).total_seconds()
    return (
        f"the alert is back {ago:.0f}s after {fix.action} fixed it (remediation {fix.remediation_id}): "
        f"{fix.action} did not hold, so {playbook.name} goes on after it"
    )


def not_held(fix: Fix, now: dt.datetime) -> FixNotHeld:
    """The earlier fix that did not hold, as the continuing run carries it (memory learns it failed)."""
    back_after = max(0.0, (now - fix.at).total_seconds())
    return FixNotHeld(
        remediation_id=fix.remediation_id,
        playbook=fix.playbook,
        action=fix.action,
        fixed_at=fix.at,
        back_after_s=back_after,
    )
