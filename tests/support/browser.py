"""Debian's Chromium, driven by Playwright's Python package through its executable path (Playwright never
downloads a browser here), with the flags this machine needs: headless, no sandbox (tests run as root), no
GPU, no background networking (the closed network refuses it), and a fresh profile per test.

Screenshots go to build/artifacts/<test>/, kept after the run for a person to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, ViewportSize, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "artifacts"
LAPTOP: ViewportSize = {"width": 1366, "height": 800}


@contextlib.asynccontextmanager
async def chromium_page() -> AsyncIterator[Page]:
    if not await asyncio.to_thread(CHROMIUM.exists):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    with tempfile.TemporaryDirectory(prefix="healer-chromium-") as profile:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS, viewport=LAPTOP
            )
            try:
                yield await browser.new_page()
            finally:
                await browser.close()


def artifacts(name: str) -> Path:
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
