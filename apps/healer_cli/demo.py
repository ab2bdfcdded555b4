"""Events a newcomer (and the docs) can publish by hand: `healer emit`, and the built-in demo incident of
`healer up` — a pod OOMKilled, then Ready again — so one sees an alert, a remediation and a notification
within a minute of starting.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from healer_common.contract.events import EVENT_ADAPTER, Event


def condition_event(
    pod: str,
    reason: str,
    *,
    cluster: str = "default",
    message: str | None = None,
    source: str = "healer-cli",
    container: str | None = None,
) -> Event:
    """A `healer.condition.v1` CloudEvent about `namespace/name` of a pod."""
    namespace, _, name = pod.rpartition("/")
    resource: dict[str, Any] = {"kind": "Pod", "namespace": namespace or "default", "name": name}
    if container:
        resource["container"] = container
    data: dict[str, Any] = {"resource": resource, "reason": reason}
    if message:
        data["message"] = message
    return EVENT_ADAPTER.validate_python(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": source,
            "type": "healer.condition.v1",
            "time": dt.datetime.now(dt.UTC),
            "cluster": cluster,
            "data": data,
        }
    )


def metric_event(
    name: str, value: float, labels: dict[str, str], *, cluster: str = "default", source: str = "healer-cli"
) -> Event:
    return EVENT_ADAPTER.validate_python(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": source,
            "type": "healer.metric.v1",
            "time": dt.datetime.now(dt.UTC),
            "cluster": cluster,
            "data": {"name": name, "value": value, "labels": labels},
        }
    )


DEMO_POD = "cto/rex-1"
DEMO_STEPS: tuple[tuple[float, str, str], ...] = (
    (0.0, "OOMKilled", "container rex was OOMKilled (limit 512Mi, usage climbed for 20 minutes)"),
    (20.0, "Ready", "pod is Ready again after its restart"),
)
