"""All the sandbox's stories at once, as a newcomer's first `make run` plays them: `healer up` from an empty data
directory, then the time from start to the first firing of each catalogue id, and to each remediation's
verdict (verified heal, approval asked, escalated, skipped). Prints one figure per line, `name value unit`,
then what each remediation ended as.

    python bench/stories.py [--minutes 10] [--speed 10]

Timing figures are wall-clock seconds on this machine; with other work running they vary by tens of seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats

from healer_common.runtime.servers import free_port, port_in_use

WATCHED = ("healer.alerts.*", "healer.remediations.>")


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.1f} {unit}", flush=True)


class Tally:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first_firing: dict[str, float] = {}
        self.verdicts: dict[str, tuple[float, dict[str, Any]]] = {}

    def on_alert(self, alert: dict[str, Any]) -> None:
        if alert["status"] == "firing":
            self.first_firing.setdefault(alert["alert_id"], time.monotonic() - self.started)

    def on_remediation(self, run: dict[str, Any]) -> None:
        if run["state"] in {"succeeded", "failed", "rolled_back", "skipped", "awaiting_approval", "escalated"}:
            self.verdicts.setdefault(f"{run['remediation_id']}:{run['state']}", (time.monotonic() - self.started, run))


async def watch(nats_port: int, tally: Tally, seconds: float) -> None:
    deadline = time.monotonic() + 60
    while not port_in_use(nats_port):
        if time.monotonic() > deadline:
            raise SystemExit("nats-server did not start")
        await asyncio.sleep(0.2)
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")

    async def on_message(msg: Any) -> None:
        body = json.loads(msg.data)
        (tally.on_alert if msg.subject.startswith("healer.alerts.") else tally.on_remediation)(body)

    for subject in WATCHED:
        await nc.subscribe(subject, cb=on_message)
    await asyncio.sleep(seconds)
    await nc.close()


def report(tally: Tally) -> None:
    for alert_id, seconds in sorted(tally.first_firing.items()):
        figure(f"stories_first_{alert_id}", seconds, "s")
    for seconds, run in sorted(tally.verdicts.values(), key=lambda pair: pair[0]):
        target = run.get("target") or {}
        where = f"{target.get('kind')}/{target.get('namespace') or ''}/{target.get('name')}"
        if run["state"] == "succeeded" and run.get("healed_by"):
            figure(f"stories_verified_{run['playbook']}", seconds, "s")
        print(f"# {seconds:6.0f}s {run['state']:<18} {run['playbook']:<28} {where} {run.get('reason') or ''}"[:220])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=None, help="scenario speed (default: healer up's)")
    args = parser.parse_args()
    nats_port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    env["HEALER_HTTP__BASE_PORT"] = "0"
    if args.speed:
        env["HEALER_SANDBOX_SPEED"] = str(args.speed)
    with tempfile.TemporaryDirectory(prefix="healer-stories-") as folder:
        command = [sys.executable, "-m", "healer_cli", "up", "--data-dir", f"{folder}/data"]
        command += ["--nats-port", str(nats_port), "--redis-port", str(redis_port)]
        log = Path(folder) / "up.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder)
        tally = Tally()
        try:
            asyncio.run(watch(nats_port, tally, args.minutes * 60))
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        report(tally)


if __name__ == "__main__":
    main()
