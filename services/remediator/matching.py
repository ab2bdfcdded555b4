"""Which playbook answers an incident, and its params filled in for this incident.

The incident's primary (earliest) alert decides: its id, its target's kind, its severity, its labels, and the
numeric labels its metric conditions compare. Among the playbooks that match, the highest `priority` wins; on
a tie, the order given wins (cluster resources, then files, then built-ins: see playbook_sources.py).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from healer_common.contract.alerts import SEVERITY_RANK
from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import AlertSummary, Incident
from services.remediator.playbooks import MetricCondition, Playbook, Trigger

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_PLACEHOLDER = re.compile(r"\{(title|alert|target|labels)(?:\.([A-Za-z0-9_./-]+))?\}")


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def condition_holds(condition: MetricCondition, labels: dict[str, str]) -> bool:
    """A metric condition on a numeric label; a missing or non-numeric label never holds."""
    value = _number(labels.get(condition.metric))
    return value is not None and _COMPARE[condition.operator](value, condition.value)


def triggers(trigger: Trigger, alert: AlertSummary) -> bool:
    if alert.alert_id not in trigger.alerts:
        return False
    kind = alert.resource.kind if alert.resource else None
    if trigger.target_kinds and kind not in trigger.target_kinds:
        return False
    if trigger.severity and SEVERITY_RANK[alert.severity] < SEVERITY_RANK[trigger.severity]:
        return False
    if any(alert.labels.get(k) != v for k, v in trigger.labels.items()):
        return False
    return all(condition_holds(c, alert.labels) for c in trigger.conditions)


def choose_playbook(incident: Incident, playbooks: Sequence[Playbook]) -> Playbook | None:
    """The playbook that answers the incident's primary alert, or None."""
    primary = incident.primary
    matching = [(i, p) for i, p in enumerate(playbooks) if triggers(p.trigger, primary)]
    if not matching:
        return None
    return min(matching, key=lambda pair: (-pair[1].priority, pair[0]))[1]


class TemplateError(ValueError):
    """A param names something this incident does not have, e.g. {labels.database} on an alert without it."""


def render_params(
    params: dict[str, Any], *, title: str, alert: str, target: ResourceRef, labels: dict[str, str]
) -> dict[str, Any]:
    """Fill {title}, {alert}, {target}, {target.name|namespace|kind} and {labels.<key>} into string params."""
    fields = {"name": target.name, "namespace": target.namespace or "", "kind": target.kind}

    def one(match: re.Match[str]) -> str:
        root, key = match.group(1), match.group(2)
        if root in {"title", "alert"} and key is None:
            return title if root == "title" else alert
        if root == "target":
            if key is None:
                return str(target)
            if key in fields:
                return fields[key]
        if root == "labels" and key is not None and key in labels:
            return labels[key]
        raise TemplateError(f"{match.group(0)} names nothing this incident has (labels: {', '.join(sorted(labels))})")

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(one, value)
        if isinstance(value, list):
            return [render(v) for v in value]
        return value

    return {key: render(value) for key, value in params.items()}
