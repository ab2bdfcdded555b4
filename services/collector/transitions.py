"""Emit transitions, not repeats: the last emitted state of every object, and what is new against it.

A watch that resumes replays objects (kmock's emulator replays every object as ADDED; a real API server does
after a 410 relist), and the periodic resync re-reads every cached object. Without this memory each of those
would publish the whole cluster again. Used by every tracker of the kubernetes and argocd sources, and by the
probes for their targets.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from healer_common.contract.signals import CONDITIONS
from services.collector.observations import Observation

Identity = tuple[str, str, str]


class TransitionMemory:
    """Per object key, the identities of the conditions last emitted."""

    def __init__(self) -> None:
        self._last: dict[Hashable, frozenset[Identity]] = {}

    def changes(self, key: Hashable, observations: Iterable[Observation]) -> list[Observation]:
        """The observations that were not in the object's last state; the state becomes `observations`.

        Problems come before recoveries, so a batch that holds an OOM kill and the Ready after it ends in the
        state the object is really in.
        """
        current = {o.identity: o for o in observations}
        before = self._last.get(key, frozenset())
        self._last[key] = frozenset(current)
        new = [o for identity, o in current.items() if identity not in before]
        return sorted(new, key=lambda o: o.condition.reason in RECOVERIES)

    def forget(self, key: Hashable) -> frozenset[Identity]:
        """Forget an object; returns what was last said about it."""
        return self._last.pop(key, frozenset())

    def __len__(self) -> int:
        return len(self._last)


RECOVERIES = frozenset(reason for signal in CONDITIONS.values() for reason in signal.recovers)
"""Reasons that end others (signals.py says which), published after the problems they end."""
NOT_TROUBLE = RECOVERIES | {"PodRunning", "CodeRunPending", "CodeRunRunning"}
"""Reasons that describe a state, not a problem."""


def in_trouble(last: frozenset[Identity]) -> bool:
    """Whether an object's last emitted state holds a problem (an OOM kill, a pull failure ...)."""
    return any(reason not in NOT_TROUBLE for reason, _, _ in last)
