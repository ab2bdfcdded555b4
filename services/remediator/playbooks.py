"""Which playbook answers which incident. The built-in table covers the thin path; file and
custom-resource playbooks (RemediationPlaybook, healer.platform/v1) extend it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from healer_common.incidents import Incident


@dataclass(frozen=True)
class Action:
    type: str
    safe: bool
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Playbook:
    name: str
    alert_ids: frozenset[str]
    target_kind: str
    actions: tuple[Action, ...]
    description: str


BUILTIN: tuple[Playbook, ...] = (
    Playbook(
        name="restart-pod",
        alert_ids=frozenset({"H8", "A7", "A2"}),
        target_kind="Pod",
        actions=(Action("restart_pod", safe=True),),
        description="delete the pod so its controller starts a fresh one",
    ),
)


def choose_playbook(incident: Incident, playbooks: tuple[Playbook, ...] = BUILTIN) -> Playbook | None:
    """The first playbook whose alerts and target kind match the incident's primary alert."""
    primary = incident.primary
    for playbook in playbooks:
        if (
            primary.alert_id in playbook.alert_ids
            and primary.resource
            and primary.resource.kind == playbook.target_kind
        ):
            return playbook
    return None
