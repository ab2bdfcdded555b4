"""The agent platform benchmark: how soon `make run`'s agent stories raise A1, A3, A4 and A5 and reach GitHub.
Prints one figure per line, `name value unit`.

    python bench/agents.py [--scenarios agent-stories] [--limit 300]

It starts `healer up` on free ports with only the chosen scenarios (HEALER_SANDBOX_SCENARIOS), as `make run`
does, subscribes to `healer.alerts.*`, and reads the sandbox's GitHub for `heal` issues: for each of A1, A3,
A4 and A5, the seconds from `healer up` to its first firing and to its GitHub issue. Stops everything it
started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats

from healer_common.runtime.servers import free_port

WANTED = ("A1", "A3", "A4", "A5")


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.3f} {unit}", flush=True)


def start(folder: Path, scenarios: str, nats_port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    env |= {"HEALER_HTTP__BASE_PORT": "0", "HEALER_SANDBOX_SCENARIOS": scenarios}
    command = [sys.executable, "-m", "healer_cli", "up", "--data-dir", str(folder / "data")]
    command += ["--nats-port", str(nats_port), "--redis-port", str(free_port())]
    log = (folder / "up.log").open("wb")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)


async def issues(endpoints: dict[str, str]) -> dict[str, float]:
    url = f"{endpoints['github']}/repos/{endpoints['github_platform']}/issues"
    async with httpx.AsyncClient(timeout=10) as http:
        found = (await http.get(url, params={"state": "all", "labels": "heal", "per_page": 100})).json()
    return {label["name"].upper(): time.monotonic() for issue in found for label in issue["labels"]}


async def watch(folder: Path, nats_port: int, started: float, limit_s: float) -> dict[str, dict[str, float]]:
    fired: dict[str, float] = {}
    opened: dict[str, float] = {}
    while True:
        with contextlib.suppress(OSError, nats.errors.NoServersError):
            connection = await nats.connect(f"nats://127.0.0.1:{nats_port}", allow_reconnect=False)
            break
        await asyncio.sleep(0.5)

    async def on_alert(msg: Any) -> None:
        alert = json.loads(msg.data)
        if alert["status"] == "firing":
            fired.setdefault(alert["alert_id"], time.monotonic() - started)

    await connection.subscribe("healer.alerts.*", cb=on_alert)
    endpoints_file = folder / "data" / "sandbox" / "sandbox.json"
    try:
        while time.monotonic() - started < limit_s and not set(WANTED) <= set(opened):
            await asyncio.sleep(2.0)
            if endpoints_file.is_file():
                for alert_id in await issues(json.loads(endpoints_file.read_text())):
                    opened.setdefault(alert_id, time.monotonic() - started)
    finally:
        await connection.close()
    return {"fired": fired, "opened": opened}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", default="agent-stories")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds to wait for every issue")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="healer-bench-agents-") as workdir:
        folder, nats_port = Path(workdir), free_port()
        process, started = start(folder, args.scenarios, nats_port), time.monotonic()
        try:
            seen = asyncio.run(watch(folder, nats_port, started, args.limit))
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        for alert_id in WANTED:
            for what, unit_name in (("fired", "first_firing"), ("opened", "github_issue")):
                if alert_id in seen[what]:
                    figure(f"agents_{alert_id.lower()}_{unit_name}", seen[what][alert_id], "s")
                else:
                    print(f"agents_{alert_id.lower()}_{unit_name} missing after {args.limit:.0f} s", flush=True)


if __name__ == "__main__":
    main()
