"""The embedded default as a newcomer meets it: `healer up` (what `make run` starts) plays the sandbox's
scenarios through the real collectors and detector, and a plain subscriber of `healer.alerts.*` sees each of
H1 to H8 fire within five minutes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from healer_common.runtime.servers import port_in_use
from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants

pytestmark = pytest.mark.integration
CATALOGUE_SEEN = {"H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8"}
FIVE_MINUTES = 300.0


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = start_up(tmp_path)
    yield running
    stop_with_descendants(running.process)


@pytest.mark.timeout(420)
async def test_make_run_fires_h1_to_h8_from_the_sandbox_within_five_minutes(up: Up) -> None:
    await eventually(lambda: port_in_use(up.nats_port), timeout=60, what="nats-server listening")
    started = time.monotonic()
    first_seen: dict[str, float] = {}
    nc = await nats.connect(f"nats://127.0.0.1:{up.nats_port}")

    async def on_alert(msg: Any) -> None:
        alert = json.loads(msg.data)
        if alert["status"] == "firing":
            first_seen.setdefault(alert["alert_id"], time.monotonic() - started)

    try:
        await nc.subscribe("healer.alerts.*", cb=on_alert)
        await nc.flush()
        await eventually(
            lambda: set(first_seen) >= CATALOGUE_SEEN, timeout=FIVE_MINUTES, interval=1.0, what="H1..H8 all fired"
        )
    finally:
        await nc.close()
    print("first firing, seconds after start:", {k: round(v) for k, v in sorted(first_seen.items())})
