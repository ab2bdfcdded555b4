"""The sandbox benchmark: how the sandbox cluster holds up at the size the collector is measured against.
Prints one figure per line, `name value unit`.

    python bench/sandbox.py [--pods 2000] [--idle 30]

It starts `healer sandbox --pods N` (all scenarios) as a process, as `make run` does, then measures through
the official client and httpx: start-up time, a full pod list and a paged one, a watch's initial sync of
every pod, a Prometheus instant query of every pod's memory, and the sandbox's CPU and RSS while it plays.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from kubernetes import client, config, watch


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.3f} {unit}", flush=True)


def timed(what: str, action: Any) -> Any:
    began = time.perf_counter()
    result = action()
    figure(what, time.perf_counter() - began, "s")
    return result


def wait_for(path: Path, process: subprocess.Popen[bytes], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not path.is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the sandbox did not start (exit code {process.poll()})")
        time.sleep(0.05)


def measure(folder: Path, pods: int, idle_s: float, process: psutil.Process) -> None:
    endpoints = json.loads((folder / "sandbox.json").read_text())
    api = config.new_client_from_config(config_file=str(folder / "kubeconfig"))  # type: ignore[no-untyped-call]
    core = client.CoreV1Api(api)
    listed = timed("sandbox_list_all_pods", core.list_pod_for_all_namespaces)
    figure("sandbox_pods", len(listed.items), "pods")

    def paged() -> None:
        token = None
        while True:
            page = core.list_pod_for_all_namespaces(limit=500, _continue=token)
            token = page.metadata._continue if page.metadata else None
            if not token:
                return

    timed("sandbox_list_pods_paged_500", paged)

    def initial_sync() -> int:
        stream = watch.Watch().stream(core.list_pod_for_all_namespaces, resource_version="0", timeout_seconds=5)  # type: ignore[no-untyped-call]
        seen = 0
        for _ in stream:
            seen += 1
            if seen >= pods:
                break
        return seen

    timed("sandbox_watch_initial_sync", initial_sync)
    query = {"query": "# healer:container_memory_usage_ratio\nsum(x)"}
    reply = timed(
        "sandbox_prometheus_all_pod_memory",
        lambda: httpx.get(f"{endpoints['prometheus']}/api/v1/query", params=query, timeout=30),
    )
    figure("sandbox_prometheus_series", len(reply.json()["data"]["result"]), "series")
    process.cpu_percent()
    time.sleep(idle_s)
    figure("sandbox_cpu_while_playing", process.cpu_percent(), "%")
    figure("sandbox_rss", process.memory_info().rss / 2**20, "MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of play over which CPU is measured")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "sandbox"
        command = [
            sys.executable,
            "-m",
            "healer_cli",
            "sandbox",
            "--data-dir",
            str(folder),
            "--pods",
            str(options.pods),
        ]
        began = time.perf_counter()
        with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
            try:
                wait_for(folder / "sandbox.json", process, 120)
                figure("sandbox_startup", time.perf_counter() - began, "s")
                measure(folder, options.pods, options.idle, psutil.Process(process.pid))
            finally:
                process.terminate()
                process.wait(30)


if __name__ == "__main__":
    main()
