"""Learning from outcomes, measured: the same incident played again and again on the sandbox, and the time to
recovery of each play. Prints one figure per line, `name value unit`, and what each play did.

    python bench/memory_replay.py [--runs 3]

It starts its own nats-server and redis-server on free loopback ports, the sandbox with the leaking-pod
scenario held (30 times faster than real time), and all six services, configured as the memory-replay test
configures them (`tests/integration/replay_support.py`). Each play replays the scenario with
`healer sandbox replay leaking-pod` and waits until its incidents are healed and resolved and the scale-up's
rollback window has ended. Time to recovery: from the play's first incident opening to its last resolving.

The first play follows the playbook (restart; the restart does not hold; scale up); from the second on,
memory's recommendation (the scale-up that healed it) comes first. Times are in real seconds; multiply by 30
for the scenario's minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the play is shared with its test

from kubernetes import client

from healer_common.logging import configure_logging
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.testing import ServiceRunner, isolated_settings, recording
from healer_sandbox.sandbox import Sandbox, SandboxConfig
from tests.support.replay_support import SPEED, configure_pipeline, play_once
from tests.support.sandbox_support import kube


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


async def bench(workdir: Path, runs: int) -> None:
    nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
    settings = isolated_settings(nats.url, f"{redis.url}/0", workdir, log={"level": "WARNING"})
    runner = ServiceRunner(settings, workdir)
    box = SandboxConfig(workdir=workdir / "sandbox", scenarios=["leaking-pod"], speed=SPEED, hold=True, tick_s=0.1)
    try:
        async with Sandbox(box) as sandbox, BusClient(settings, name="healer-bench") as bus:
            configure_pipeline(runner, sandbox, workdir)
            runner.start("collector", "detector", "correlator", "remediator", "notifier", "memory-bridge")
            await runner.wait_running(timeout=60)
            api = kube(sandbox)
            apps = client.AppsV1Api(api)
            try:
                async with recording(bus, f"{bus.space.root}.>") as seen:
                    for number in range(1, runs + 1):
                        played = await play_once(sandbox, seen, apps)
                        applied = played.memory_applied(seen)
                        advice = f"memory {float(applied[0]['details']['confidence']):.2f}" if applied else "no memory"
                        print(f"# play {number}: {' -> '.join(played.actions())} ({advice})", flush=True)
                        figure(f"memory_replay_play{number}_time_to_recovery", played.time_to_recovery_s, "s")
                        figure(f"memory_replay_play{number}_steps", len(played.actions()), "actions")
            finally:
                runner.stop("remediator")  # nothing acts on a cluster that is about to go
                await asyncio.to_thread(api.close)
    finally:
        runner.stop_all()
        redis.stop()
        nats.stop()
    figure("memory_replay_sandbox_speed", SPEED, "x")


async def main(args: argparse.Namespace) -> int:
    configure_logging("WARNING", "console", service="bench")  # the sandbox narrates at info; figures only
    with tempfile.TemporaryDirectory(prefix="healer-bench-replay-") as tmp:
        await bench(Path(tmp), args.runs)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="plays of the same incident, one after another")
    sys.exit(asyncio.run(main(parser.parse_args())))
