"""The web dashboard in a real browser (Debian's Chromium), as a newcomer opens it after `make run`: the sandbox's
leaking pod is OOMKilled, and without a reload the page shows the incident appear (within a second of its
publication), get remediated (the pod restarted) and resolve. Screenshots of each moment are kept in
build/artifacts/dashboard/."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from playwright.async_api import Page

from healer_common.testing import eventually
from tests.support.browser import artifacts, chromium_page
from tests.support.embedded import Up, start_up, stop_with_descendants
from tests.support.markers import WHOLE_SYSTEM

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300), WHOLE_SYSTEM]

# The leaking pod, held until the page is open; at 30x its pod is OOMKilled about 15 s after the replay.
SANDBOX = {"HEALER_SANDBOX_SCENARIOS": "leaking-pod", "HEALER_SANDBOX_SPEED": "30", "HEALER_SANDBOX_HOLD": "true"}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = start_up(tmp_path, env=SANDBOX)
    yield running
    stop_with_descendants(running.process)


def dashboard_url(up: Up) -> str | None:
    answer = up.healer("status", "--json")
    if not answer.stdout.strip():
        return None
    report = json.loads(answer.stdout)
    api = next(s for s in report["services"] if s["service"] == "api")
    return str(api["instances"][0]["detail"]["dashboard"]) if api["up"] else None


async def shown(page: Page, selector: str, timeout_s: float) -> float:
    """Wait until the page shows `selector`; the monotonic time it did."""
    await page.wait_for_selector(selector, timeout=timeout_s * 1000)
    return time.monotonic()


async def test_the_dashboard_shows_a_sandbox_incident_appear_get_remediated_and_resolve(up: Up, tmp_path: Path) -> None:
    url = await eventually(lambda: dashboard_url(up), timeout=120, interval=1, what="the api serving the dashboard")
    opened: dict[str, Any] = {}
    connection = await nats.connect(f"nats://127.0.0.1:{up.nats_port}")

    async def on_incident(msg: Any) -> None:
        body = json.loads(msg.data)
        rex = any(a["alert_id"] == "H8" and "rex-worker" in str(a["resource"]) for a in body["alerts"])
        if rex and body["state"] == "opened" and not opened:
            opened.update(body, published=time.monotonic())

    folder = artifacts("dashboard")
    try:
        await connection.subscribe("healer.incidents.*", cb=on_incident)
        async with chromium_page() as page:
            await page.goto(url)
            await page.wait_for_selector("#link[data-live=true]", timeout=20_000)
            await page.screenshot(path=folder / "0-quiet.png", full_page=True)
            played = up.healer("sandbox", "replay", "leaking-pod", "--data-dir", str(tmp_path / "data" / "sandbox"))
            assert played.returncode == 0, played.stderr

            await eventually(lambda: opened, timeout=90, interval=0.05, what="the leaking pod's incident")
            card = f'#incidents [data-incident-id="{opened["incident_id"]}"]'
            appeared = await shown(page, card, 10) - opened["published"]
            await page.screenshot(path=folder / "1-incident-open.png", full_page=True)

            fingerprint = next(a["fingerprint"] for a in opened["alerts"] if a["alert_id"] == "H8")
            row = f'#alerts tr[data-fingerprint="{fingerprint}"]'
            await shown(page, f'{row} td[data-action-state="auto-remediated"]', 90)
            assert "pod restarted" in await page.inner_text(f"{row} td.did")
            await page.screenshot(path=folder / "2-remediated.png", full_page=True)

            await page.wait_for_selector(card, state="detached", timeout=90_000)
            await shown(page, f'{row}[data-status="resolved"]', 30)
            await page.screenshot(path=folder / "3-resolved.png", full_page=True)
    finally:
        await connection.close()
    print(f"incident-to-dashboard latency: {appeared:.3f} s")
    assert appeared < 1.0, f"the incident took {appeared:.2f}s to reach the open page"
