"""`healer up` started as `make run` starts it, on free ports, and stopped with everything it started: shared by
the tests that play the embedded default end to end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import yaml

from healer_common.runtime.servers import free_port


class Up:
    def __init__(
        self, process: subprocess.Popen[bytes], log: Path, nats_port: int, redis_port: int, data: Path
    ) -> None:
        self.process, self.log, self.nats_port, self.redis_port = process, log, nats_port, redis_port
        self.credentials = data / "credentials.yaml"  # written by `healer up` at first start
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HEALER_")},
            "HEALER_NATS__URL": f"nats://127.0.0.1:{nats_port}",
            "HEALER_REDIS__URL": f"redis://127.0.0.1:{redis_port}/0",
            # what the banner tells a user whose --data-dir is not .healer, in the folder they run healer from
            "HEALER_AUTH__CREDENTIALS_FILE": str(self.credentials),
        }

    def token(self, name: str) -> str:
        """A token from the credentials `healer up` wrote (local-admin, local-source)."""
        entries = yaml.safe_load(self.credentials.read_text())["credentials"]
        return str(next(e["token"] for e in entries if e["name"] == name))

    def url(self, service: str) -> str:
        """A service's HTTP endpoint, as `healer status --all --json` reports it."""
        status = json.loads(self.healer("status", "--all", "--json").stdout)
        found = next(s for s in status["services"] if s["service"] == service)
        return str(found["instances"][0]["detail"]["http"])

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def healer(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "healer_cli", *args],
            check=False,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def start_up(tmp_path: Path, *options: str, env: dict[str, str] | None = None, nats_port: int = 0) -> Up:
    """`healer up` on free ports, as `make run` starts it (plus `options` and `env`, e.g. the sandbox's)."""
    nats_port, redis_port = nats_port or free_port(), free_port()
    log = tmp_path / "up.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEALER_")},
        "HEALER_HTTP__BASE_PORT": "0",
        "COLUMNS": "200",
        **(env or {}),
    }
    args = ["up", "--data-dir", str(tmp_path / "data"), "--nats-port", str(nats_port), "--redis-port", str(redis_port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "healer_cli", *args, *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    return Up(process, log, nats_port, redis_port, tmp_path / "data")


def stop_with_descendants(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C first (healer up stops what it started); whatever is left after that is killed, so a failed
    test never leaves NATS, Redis or services running."""
    if process.poll() is not None:
        return
    descendants = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    for child in descendants:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
