"""Which playbook answers an incident, and its params filled in for this incident.

One alert decides (an incident's primary; each of a problem's alerts in problems.py): its id, its target's kind,
its severity, its labels, and the numbers its metric conditions compare: a numeric label of that name
(`restarts`), the alert's `value` when its `metric` label names it, or one of the seed's names for a signal
(`memory_usage_percent` is a memory usage ratio times 100). A condition's `duration` asks the alert to have fired
that long: until then the playbook is `held_back`, and the remediator looks again when it would hold. Among the
playbooks that match, the highest `priority` wins; on a tie, the order given wins (cluster resources, then files,
then built-ins: see playbook_sources.py).
"""

from __future__ import annotations

import datetime as dt
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


SEED_METRICS: dict[str, tuple[tuple[str, ...], float]] = {
    "memory_usage_percent": (("container_memory_usage_ratio", "node_memory_usage_ratio"), 100.0),
    "cpu_usage_percent": (("node_cpu_usage_ratio", "namespace_cpu_request_ratio", "node_cpu_request_ratio"), 100.0),
    "disk_usage_percent": (("pvc_usage_ratio", "node_filesystem_usage_ratio"), 100.0),
    "restart_count": (("container_restarts",), 1.0),
}
"""The seed's metric names, as the signals that measure them and the factor from their unit."""


def measured(metric: str, labels: dict[str, str]) -> float | None:
    """The number a condition on `metric` reads from an alert's labels, or None when it has none."""
    if (direct := _number(labels.get(metric))) is not None:
        return direct
    signals, scale = SEED_METRICS.get(metric, ((metric,), 1.0))
    if labels.get("metric") in {metric, *signals} and (value := _number(labels.get("value"))) is not None:
        return value * (1.0 if labels.get("metric") == metric else scale)
    return None


def condition_holds(condition: MetricCondition, labels: dict[str, str]) -> bool:
    """The condition's comparison (its duration aside); a missing or non-numeric number never holds."""
    value = measured(condition.metric, labels)
    return value is not None and _COMPARE[condition.operator](value, condition.value)


def held_back(trigger: Trigger, alert: AlertSummary, now: dt.datetime) -> dt.datetime | None:
    """When the trigger will hold, if only its conditions' durations keep it from holding now."""
    if not triggers(trigger, alert):
        return None
    longest = max((c.duration or 0.0 for c in trigger.conditions), default=0.0)
    ready = alert.starts_at + dt.timedelta(seconds=longest)
    return ready if ready > now else None


def triggers(trigger: Trigger, alert: AlertSummary, now: dt.datetime | None = None) -> bool:
    """Whether the trigger holds for the alert; with `now`, its conditions' durations must have passed too."""
    if alert.alert_id not in trigger.alerts:
        return False
    kind = alert.resource.kind if alert.resource else None
    if trigger.target_kinds and kind not in trigger.target_kinds:
        return False
    if trigger.severity and SEVERITY_RANK[alert.severity] < SEVERITY_RANK[trigger.severity]:
        return False
    if any(alert.labels.get(k) != v for k, v in trigger.labels.items()):
        return False
    if not all(condition_holds(c, alert.labels) for c in trigger.conditions):
        return False
    return now is None or held_back(trigger, alert, now) is None


def choose_playbook(
    incident: Incident, playbooks: Sequence[Playbook], now: dt.datetime | None = None
) -> Playbook | None:
    """The playbook that answers the incident's primary alert, or None."""
    return playbook_for(incident.primary, playbooks, now)


def playbook_for(alert: AlertSummary, playbooks: Sequence[Playbook], now: dt.datetime | None = None) -> Playbook | None:
    """The playbook that answers this alert, or None."""
    matching = [(i, p) for i, p in enumerate(playbooks) if triggers(p.trigger, alert, now)]
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
