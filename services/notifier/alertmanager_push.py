"""Healer's alerts as Alertmanager takes them from Prometheus (`POST /api/v2/alerts`, a list of postable
alerts), so a team that routes, silences and inhibits in its own Alertmanager sees Healer's alerts there too.

Like Prometheus, the notifier posts a firing alert again every `alertmanager_resend_s` with `endsAt` four of
those periods ahead: Alertmanager keeps it firing while Healer does, and resolves it on its own if Healer stops.
A resolved alert is posted once with its real `endsAt`. Label names Alertmanager refuses (`task-id`) are
written as it would accept them (`task_id`); empty labels are left out (Alertmanager reads them as absent).
Pure; adapters/alertmanager.py posts and keeps the firing set.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from healer_common.contract.alerts import Alert

VALID_FOR = 4  # resend periods a firing alert stays firing in Alertmanager without news from Healer
_LABEL_NAME = re.compile(r"[^a-zA-Z0-9_]")


def label_name(name: str) -> str:
    """A name Alertmanager's classic validation accepts: `[a-zA-Z_][a-zA-Z0-9_]*`."""
    cleaned = _LABEL_NAME.sub("_", name)
    return f"_{cleaned}" if cleaned[:1].isdigit() else cleaned


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def postable(alert: Alert, now: dt.datetime, resend_s: float) -> dict[str, Any]:
    """One entry of the `POST /api/v2/alerts` body (Alertmanager's `postableAlert`)."""
    ends = alert.ends_at if not alert.firing and alert.ends_at else now + dt.timedelta(seconds=VALID_FOR * resend_s)
    body: dict[str, Any] = {
        "labels": {label_name(k): v for k, v in alert.labels.items() if v},
        "annotations": {label_name(k): v for k, v in alert.annotations.items() if v},
        "startsAt": _rfc3339(alert.starts_at),
        "endsAt": _rfc3339(max(ends, alert.starts_at)),
    }
    if alert.generator_url:
        body["generatorURL"] = alert.generator_url
    return body
