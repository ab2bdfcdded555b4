"""What one input may carry beyond its model's shape: the checks shared by the HTTP edge (collector ingest,
which answers 4xx) and the bus (the detector, which dead-letters), so both refuse the same input with the
same reason. The numbers are settings (`settings/limits.py`); this module only applies them.
"""

from __future__ import annotations

from typing import Protocol

from healer_common.contract.events import AlertmanagerAlert, AlertmanagerWebhook
from healer_common.contract.subjects import SAFE_TOKEN

MAX_PROBLEMS = 5


class WebhookLimits(Protocol):
    alerts_per_webhook: int
    labels_per_alert: int
    label_bytes: int
    annotations_per_alert: int
    annotation_bytes: int


def _longest(values: dict[str, str], *, with_keys: bool) -> tuple[str, int]:
    sizes = {k: max(len(k.encode()), len(v.encode())) if with_keys else len(v.encode()) for k, v in values.items()}
    key = max(sizes, key=sizes.__getitem__)
    return key, sizes[key]


def _alert_problems(index: int, alert: AlertmanagerAlert, limits: WebhookLimits) -> list[str]:
    where = f"alerts[{index}]"
    problems = []
    if len(alert.labels) > limits.labels_per_alert:
        problems.append(
            f"{where}.labels: {len(alert.labels)} labels, over limits.labels_per_alert={limits.labels_per_alert}"
        )
    if alert.labels and (found := _longest(alert.labels, with_keys=True))[1] > limits.label_bytes:
        problems.append(
            f"{where}.labels.{found[0][:40]}: {found[1]} bytes, over limits.label_bytes={limits.label_bytes}"
        )
    if len(alert.annotations) > limits.annotations_per_alert:
        problems.append(
            f"{where}.annotations: {len(alert.annotations)} annotations, over "
            f"limits.annotations_per_alert={limits.annotations_per_alert}"
        )
    if alert.annotations and (found := _longest(alert.annotations, with_keys=False))[1] > limits.annotation_bytes:
        problems.append(
            f"{where}.annotations.{found[0][:40]}: {found[1]} bytes, over "
            f"limits.annotation_bytes={limits.annotation_bytes}"
        )
    return problems


def webhook_problems(payload: AlertmanagerWebhook, limits: WebhookLimits) -> list[str]:
    """Every limit an Alertmanager body breaks, each naming the alert, the size and the setting (at most 5)."""
    problems = []
    if len(payload.alerts) > limits.alerts_per_webhook:
        problems.append(
            f"alerts: {len(payload.alerts)} alerts, over limits.alerts_per_webhook={limits.alerts_per_webhook}"
        )
    for index, alert in enumerate(payload.alerts):
        problems.extend(_alert_problems(index, alert, limits))
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems[:MAX_PROBLEMS]


def token_problem(name: str, what: str, max_chars: int, setting: str) -> str | None:
    """Why `name` cannot be one subject token as given (None when it can): refused rather than rewritten, so a
    sender learns its name is wrong instead of finding its events under another one."""
    if len(name) > max_chars:
        return f"{what} is {len(name)} characters long; at most {max_chars} are allowed ({setting})"
    if not SAFE_TOKEN.match(name):
        return f"{what} {name[:40]!r} may contain only letters, digits, _ and -"
    return None
