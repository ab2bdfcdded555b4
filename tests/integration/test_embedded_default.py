"""`healer up` (what `make run` starts) as a newcomer uses it: one command brings up NATS, Redis and the seven
services; a plain nats-py subscriber of `healer.alerts.*` sees the demo incident and its own events alert;
`healer status --all` says all is well; bad input lands on `healer.dlq.>`; Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import psutil
import pytest

from healer_cli.demo import condition_event
from healer_common.runtime.servers import port_in_use
from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants

pytestmark = pytest.mark.integration


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    """`healer up --no-sandbox`: no cluster, so the built-in demo incident plays."""
    running = start_up(tmp_path, "--no-sandbox")
    yield running
    stop_with_descendants(running.process)


async def test_make_run_alerts_a_plain_subscriber_reports_healthy_and_dead_letters_bad_input(up: Up) -> None:
    await eventually(lambda: port_in_use(up.nats_port), timeout=30, what="nats-server listening")
    nc = await nats.connect(f"nats://127.0.0.1:{up.nats_port}")
    alerts: list[dict[str, Any]] = []
    letters: list[dict[str, Any]] = []

    async def on_alert(msg) -> None:  # type: ignore[no-untyped-def]
        alerts.append(json.loads(msg.data))

    async def on_letter(msg) -> None:  # type: ignore[no-untyped-def]
        letters.append(json.loads(msg.data))

    await nc.subscribe("healer.alerts.*", cb=on_alert)
    await nc.subscribe("healer.dlq.>", cb=on_letter)
    await nc.flush()  # the subscriptions reach the server now, not after the blocking `healer status` below
    try:
        await eventually(lambda: up.healer("status", "--all").returncode == 0, timeout=60, interval=1, what="healthy")
        status = json.loads(up.healer("status", "--all", "--json").stdout)
        assert [s["service"] for s in status["services"] if s["up"]] == [
            "collector",
            "detector",
            "correlator",
            "remediator",
            "notifier",
            "memory-bridge",
            "api",
        ]
        await eventually(lambda: any(a["labels"]["pod"] == "rex-1" for a in alerts), what="the demo's alert")
        assert f"{up.credentials}" in up.output(), "the banner says where the local credentials are"
        assert "open to anyone on this machine (loopback only)" in " ".join(up.output().split())

        ingest = f"{up.url('collector')}/events/newcomer"
        refused = condition_event("cto/blaze-9", "OOMKilled", source="newcomer-http").model_dump_json().encode()
        posted = condition_event("cto/blaze-2", "OOMKilled", source="newcomer-http").model_dump_json().encode()
        source = {"Authorization": f"Bearer {up.token('local-source')}"}
        async with httpx.AsyncClient(headers={"content-type": "application/json"}) as http:
            anonymous = await http.post(ingest, content=refused)
            authorised = await http.post(ingest, content=posted, headers=source)
        assert anonymous.status_code == 401, anonymous.text
        assert authorised.status_code == 202, authorised.text
        await eventually(lambda: any(a["labels"]["pod"] == "blaze-2" for a in alerts), what="the posted event's H8")
        assert not any(a["labels"]["pod"] == "blaze-9" for a in alerts), "the refused event, sent first, raised nothing"

        js = nc.jetstream()
        event = condition_event("cto/tess-7", "OOMKilled", source="newcomer")
        published = time.monotonic()
        await js.publish("healer.events.custom.demo", event.model_dump_json().encode())
        await eventually(lambda: any(a["labels"]["pod"] == "tess-7" for a in alerts), timeout=10, what="H8 in 10s")
        assert time.monotonic() - published < 10
        tess = next(a for a in alerts if a["labels"]["pod"] == "tess-7")
        assert (tess["alert_id"], tess["status"], tess["namespace"]) == ("H8", "firing", "cto")

        await js.publish("healer.events.custom.demo", b'{"specversion": "1.0", "type": "healer.condition.v1"}')
        for reason in ("ErrImagePull", "ImagePullBackOff"):  # H4 fires on repeated pull failures
            after = condition_event("cto/cleo-3", reason, source="newcomer")
            await js.publish("healer.events.custom.demo", after.model_dump_json().encode())
        await eventually(lambda: letters, what="a dead letter")
        assert "Field required" in str(letters[0]["reason"])
        assert letters[0]["service"] == "detector"
        await eventually(lambda: any(a["labels"]["pod"] == "cleo-3" for a in alerts), what="alert after bad input")
        assert any(a["alert_id"] == "H4" for a in alerts)
        await eventually(lambda: "[OPENED] memory pressure: pod cto/rex-1" in up.output(), what="console notice")
    finally:
        await nc.close()

    up.process.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(up.process.wait, 30) == 0, up.output()[-3000:]
    assert not port_in_use(up.nats_port), "nats-server left running after Ctrl-C"
    assert not port_in_use(up.redis_port), "redis-server left running after Ctrl-C"
    assert "stopped." in up.output()


async def test_a_healer_up_killed_outright_leaves_nothing_running_after_the_next_start(tmp_path: Path) -> None:
    first = start_up(tmp_path, "--no-sandbox")
    try:
        await eventually(lambda: first.healer("status").returncode == 0, timeout=90, interval=1, what="healthy")
        left = psutil.Process(first.process.pid).children(recursive=True)
        first.process.kill()  # no chance to stop what it started: NATS, Redis and seven services live on
        first.process.wait(10)
        assert all(p.is_running() for p in left)

        second = start_up(tmp_path, "--no-sandbox")
        try:
            await eventually(lambda: "an earlier healer up left running" in second.output(), what="cleanup said")
            _gone, alive = psutil.wait_procs(left, timeout=20)
            assert not alive, f"left running: {[p.cmdline()[:3] for p in alive]}"
            await eventually(lambda: second.healer("status").returncode == 0, timeout=90, interval=1, what="healthy")
        finally:
            stop_with_descendants(second.process)
    finally:
        stop_with_descendants(first.process)
