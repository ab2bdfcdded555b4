# mypy: disable-error-code="union-attr,index"
# (the official client's models make every field Optional, as the API may omit any; these tests read fields
# the sandbox always sets, and a missing one fails the test as surely as a type error would)
"""`healer sandbox` as a newcomer runs it: it prints its kubeconfig and URLs, kubectl's own client works
against it, `healer sandbox outage` takes its API away for a while, `healer sandbox replay` plays a scenario
again, a broken scenario file is refused with the field at fault, and Ctrl-C stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from healer_common.runtime.servers import port_in_use
from healer_common.testing import eventually
from tests.support.sandbox_support import client_for

pytestmark = pytest.mark.integration


def healer(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}, "COLUMNS": "300"}
    return subprocess.run(
        [sys.executable, "-m", "healer_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    folder, log = tmp_path / "sandbox", tmp_path / "sandbox.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}, "COLUMNS": "200"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "healer_cli",
                "sandbox",
                "--data-dir",
                str(folder),
                "-s",
                "leaking-pod",
                "--pods",
                "50",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    yield process, folder, log
    if process.poll() is None:
        process.kill()
        process.wait(10)


async def test_healer_sandbox_prints_where_it_is_serves_the_client_and_stops_on_ctrl_c(
    sandbox_process: tuple[subprocess.Popen[bytes], Path, Path],
) -> None:
    process, folder, log = sandbox_process
    await eventually((folder / "sandbox.json").is_file, timeout=60, what="the sandbox up")
    endpoints = json.loads((folder / "sandbox.json").read_text())
    await eventually(lambda: endpoints["prometheus"] in log.read_text(), what="the URLs printed")
    printed = log.read_text()
    assert str(folder / "kubeconfig") in printed
    assert endpoints["loki"] in printed

    pods = client.CoreV1Api(client_for(folder / "kubeconfig")).list_pod_for_all_namespaces()
    assert len(pods.items) >= 50
    assert any(p.metadata.name.startswith("rex-worker-") for p in pods.items)

    kube_port = int(endpoints["kube_api"].rsplit(":", 1)[1])
    outage = healer("sandbox", "outage", "3", "--data-dir", str(folder))
    assert outage.returncode == 0, outage.stderr
    assert "stopped for 3s" in outage.stdout
    assert not port_in_use(kube_port)
    await eventually(lambda: port_in_use(kube_port), timeout=30, what="the API back on its port")

    replayed = healer("sandbox", "replay", "leaking-pod", "--data-dir", str(folder))
    assert replayed.returncode == 0, replayed.stderr
    assert "scenario leaking-pod plays again from its beginning" in replayed.stdout
    await eventually(lambda: "scenario leaking-pod: played again from its beginning" in log.read_text(), what="told")
    unknown = healer("sandbox", "replay", "bad-image", "--data-dir", str(folder))
    assert unknown.returncode == 1
    assert "no scenario 'bad-image' is loaded; loaded: leaking-pod" in unknown.stderr

    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0, log.read_text()[-2000:]
    assert not port_in_use(kube_port)
    assert not (folder / "sandbox.json").exists()


def test_a_broken_scenario_file_is_refused_with_the_field_at_fault(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nsummary: x\nplays:\n  - pvc_fill: {pvc: a/b, start: 2, per_minute: 0.1}\n")
    refused = healer("sandbox", "--data-dir", str(tmp_path / "s"), "--scenario", str(broken))
    assert refused.returncode == 2
    assert "plays[0].pvc_fill.start: Input should be less than or equal to 1.5" in refused.stderr
    assert str(broken) in refused.stderr


def test_outage_without_a_running_sandbox_says_so(tmp_path: Path) -> None:
    refused = healer("sandbox", "outage", "30", "--data-dir", str(tmp_path))
    assert refused.returncode == 1
    assert "no running sandbox" in refused.stderr
