"""What the correlator's integration tests publish and read: CloudEvents as a cluster's collector would send
them (with the topology labels the detector copies into alerts), alerts as the detector publishes them, and
the incident revisions the correlator answers with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from healer_common.contract.events import EVENT_ADAPTER
from healer_common.contract.streams import ConsumerSpec
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.testing import Recorder, consumer_drained, eventually, partitions_drained

Body = dict[str, Any]


def cloudevent(event_type: str, data: Body, *, when: dt.datetime | None = None, cluster: str = "default") -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "tests/correlator",
            "type": event_type,
            "time": (when or dt.datetime.now(dt.UTC)).isoformat(),
            "cluster": cluster,
            "data": data,
        }
    ).encode()


def condition(kind: str, name: str, reason: str, *, namespace: str | None = None, **labels: str) -> bytes:
    resource = {"kind": kind, "name": name, **({"namespace": namespace} if namespace else {})}
    return cloudevent("healer.condition.v1", {"resource": resource, "reason": reason, "labels": labels})


def deploy(name: str, namespace: str, to: str, previous: str, *, when: dt.datetime, cluster: str = "default") -> bytes:
    data = {"what": "deploy", "resource": {"kind": "Deployment", "namespace": namespace, "name": name}}
    return cloudevent("healer.change.v1", {**data, "from": previous, "to": to}, when=when, cluster=cluster)


async def send(bus: BusClient, body: bytes) -> None:
    """Publish an event as a user's system would, on healer.events.custom.tests."""
    await bus.publish_event(bus.space.custom_events("tests"), EVENT_ADAPTER.validate_json(body))


def is_incident(msg: RawMessage) -> bool:
    return ".incidents." in msg.subject


def revisions(seen: Recorder) -> list[Body]:
    """Incident revisions published so far, in order."""
    return [json.loads(m.data) for m in seen.messages if is_incident(m)]


def latest(seen: Recorder, incident_id: str) -> Body:
    return max((r for r in revisions(seen) if r["incident_id"] == incident_id), key=lambda r: r["revision"])


def incident_where(predicate: Callable[[Body], bool]) -> Callable[[RawMessage], bool]:
    return lambda msg: is_incident(msg) and predicate(json.loads(msg.data))


def audited(service: str, action: str, decision: str) -> Callable[[RawMessage], bool]:
    def match(msg: RawMessage) -> bool:
        if not msg.subject.endswith(f".audit.{service}"):
            return False
        body = json.loads(msg.data)
        return bool(body["action"] == action and body["decision"] == decision)

    return match


DETECTOR = "detector"
"""Stands for the detector's input in `drained`: its partitions and intake (not one durable consumer)."""


async def drained(bus: BusClient, *consumers: ConsumerSpec | str) -> None:
    """Until each durable consumer has acked everything in its stream, and a partitioned service (named) has
    handled everything in its parts (generous deadline: a busy machine)."""
    for consumer in consumers:
        if isinstance(consumer, str):
            probe = functools.partial(partitions_drained, bus, consumer)
            await eventually(probe, timeout=60, what=f"{consumer} drained")
            continue
        await eventually(
            functools.partial(consumer_drained, bus, consumer), timeout=60, what=f"{consumer.durable} drained"
        )


async def healer(config: Path, *args: str) -> str:
    """Run the `healer` command as a user would, with these settings; its standard output."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}, "HEALER_CONFIG": str(config)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "healer_cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"healer {' '.join(args)} failed: {err.decode()}"
    return out.decode()
