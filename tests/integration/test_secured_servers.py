"""Configuration that works or says why, against servers that want credentials or TLS: a NATS credentials file
(operator mode, JWT + nkey), a token, a user and password inside the URL (never shown: `healer status`,
`healer config show` and a service's start-up line mask it), mutual TLS to NATS and to Redis (rediss://);
a wrong or missing credential or certificate is one line naming the setting. And a service waiting for a NATS
that does not answer stops at once on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from healer_common.runtime.servers import ServerProcess, free_port
from healer_common.settings import Settings
from healer_common.testing import ServiceRunner, eventually, isolated_settings
from tests.support.secured import Certificates, TlsTerminator, certificates, operator_mode, start_nats_with

pytestmark = pytest.mark.integration


def healer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    return subprocess.run(
        [sys.executable, "-m", "healer_cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**clean, "COLUMNS": "200", **env},
        timeout=60,
    )


class Started:
    """What a test starts: its servers and its service runners; the services are stopped first (with SIGTERM,
    and must exit cleanly), the servers after them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.servers: list[ServerProcess] = []
        self.runners: list[ServiceRunner] = []

    def nats(self, config: str) -> ServerProcess:
        self.servers.append(start_nats_with(self.tmp_path / f"nats-{len(self.servers)}", config))
        return self.servers[-1]

    async def detector(self, settings: Settings) -> ServiceRunner:
        services = ServiceRunner(settings, self.tmp_path / f"services-{len(self.runners)}")
        services.workdir.mkdir()
        self.runners.append(services)
        services.start("detector")
        await services.wait_running("detector", timeout=60)
        return services

    def stop(self) -> None:
        for services in self.runners:
            logs = services.logs()
            codes = services.stop_all()
            assert all(code in (0, -signal.SIGTERM) for code in codes.values()), (codes, logs)
        for server in self.servers:
            server.stop()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Started]:
    made = Started(tmp_path)
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def pki(tmp_path: Path) -> Certificates:
    return certificates(tmp_path / "pki")


async def test_a_credentials_file_signs_in_the_cli_and_a_service_and_a_missing_one_is_named(
    tmp_path: Path, redis_server: ServerProcess, started: Started
) -> None:
    operator = operator_mode()
    creds = tmp_path / "user.creds"
    creds.write_text(operator.creds)
    nats = started.nats(operator.config)

    emitted = healer(
        {"HEALER_NATS__URL": nats.url, "HEALER_NATS__CREDS_FILE": str(creds)}, "emit", "condition", "cto/a", "OOMKilled"
    )
    assert emitted.returncode == 0, emitted.stderr
    await started.detector(isolated_settings(nats.url, f"{redis_server.url}/0", tmp_path, nats={"creds_file": creds}))

    refused = healer({"HEALER_NATS__URL": nats.url}, "watch")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"cannot reach NATS at {nats.url}: the server refused the credentials — "
        "check HEALER_NATS__TOKEN, HEALER_NATS__CREDS_FILE or HEALER_NATS__NKEY_SEED_FILE"
    )


def test_a_token_signs_in_and_a_wrong_one_is_named(started: Started) -> None:
    nats = started.nats('authorization { token: "s3cr3t-token" }\n')

    good = healer({"HEALER_NATS__URL": nats.url, "HEALER_NATS__TOKEN": "s3cr3t-token"}, "ack", "inc-1")
    assert good.returncode == 0, good.stderr

    bad = healer({"HEALER_NATS__URL": nats.url, "HEALER_NATS__TOKEN": "guess"}, "ack", "inc-1")
    assert bad.returncode == 1
    assert "the server refused the credentials" in bad.stderr
    assert "guess" not in bad.stderr


async def test_a_password_in_a_url_is_used_but_never_shown_or_logged(
    tmp_path: Path, redis_server: ServerProcess, started: Started
) -> None:
    nats = started.nats('authorization { user: healer, password: "hunter2-nats" }\n')
    url = f"nats://healer:hunter2-nats@127.0.0.1:{nats.port}"
    webhook = "https://ops:hunter2-hook@hooks.example.com/healer?token=hunter2-query"
    services = await started.detector(
        isolated_settings(url, f"{redis_server.url}/0", tmp_path, notifier={"webhook_url": webhook})
    )

    log = services.running["detector"].log()
    starting = next(json.loads(line) for line in log.splitlines() if '"starting"' in line)
    assert starting["nats"] == f"nats://healer:***@127.0.0.1:{nats.port}"
    assert "hunter2" not in log

    env = {"HEALER_CONFIG": str(services.config_path)}
    reported = json.loads(healer(env, "status", "--json").stdout)["nats"]
    assert (reported["ok"], reported["url"]) == (True, f"nats://healer:***@127.0.0.1:{nats.port}")
    shown = healer(env, "config", "show")
    assert shown.returncode == 0, shown.stderr
    assert "hunter2" not in shown.stdout
    assert "https://ops:***@hooks.example.com/healer?token=***" in shown.stdout


def mutual_tls(pki: Certificates) -> str:
    files = f'cert_file: "{pki.server_cert}", key_file: "{pki.server_key}", ca_file: "{pki.ca}"'
    return f"tls {{ {files}, verify: true }}\n"


def client_tls(pki: Certificates) -> dict[str, Any]:
    return {"tls_ca_file": pki.ca, "tls_cert_file": pki.client_cert, "tls_key_file": pki.client_key}


async def test_mutual_tls_to_nats_for_the_cli_and_a_service_and_a_missing_client_certificate_is_named(
    tmp_path: Path, pki: Certificates, redis_server: ServerProcess, started: Started
) -> None:
    nats = started.nats(mutual_tls(pki))

    env = {"HEALER_NATS__URL": nats.url, **{f"HEALER_NATS__{k.upper()}": str(v) for k, v in client_tls(pki).items()}}
    assert healer(env, "ack", "inc-1").returncode == 0
    await started.detector(isolated_settings(nats.url, f"{redis_server.url}/0", tmp_path, nats=client_tls(pki)))

    without = healer({"HEALER_NATS__URL": nats.url, "HEALER_NATS__TLS_CA_FILE": str(pki.ca)}, "ack", "inc-1")
    assert without.returncode == 1
    # The server's alert and its reset of the connection race: either way the line says TLS and what to check.
    [line] = without.stderr.strip().splitlines()
    assert line.startswith(f"cannot reach NATS at {nats.url}: TLS failed ("), line
    assert line.endswith("— check HEALER_NATS__TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE"), line


async def test_redis_over_tls_for_the_cli_and_a_service_and_an_unknown_ca_is_named(
    tmp_path: Path, pki: Certificates, nats_server: ServerProcess, redis_server: ServerProcess, started: Started
) -> None:
    with TlsTerminator(pki, redis_server.port) as terminator:
        url = f"rediss://127.0.0.1:{terminator.port}/0"
        settings = isolated_settings(nats_server.url, url, tmp_path, redis=client_tls(pki))
        services = await started.detector(settings)  # its heartbeat reaches Redis over TLS

        env = {"HEALER_CONFIG": str(services.config_path)}
        listed = healer(env, "silence", "list", "--json")
        assert (listed.returncode, json.loads(listed.stdout or "null")) == (0, []), listed.stderr

        strangers = certificates(tmp_path / "other-pki")
        refused = healer({**env, "HEALER_REDIS__TLS_CA_FILE": str(strangers.ca)}, "silence", "list")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"cannot reach Redis at {url}: TLS failed (CERTIFICATE_VERIFY_FAILED) — "
            "check HEALER_REDIS__TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE"
        ]
        started.stop()  # before the terminator goes: the detector's last heartbeat still reaches Redis
        started.runners.clear()


async def sigterm_stops(services: ServiceRunner, name: str) -> None:
    process = services.running[name].process
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = await asyncio.to_thread(process.wait, 10)
    assert time.monotonic() - started < 5
    assert code in (0, -signal.SIGTERM), services.running[name].log()[-3000:]


async def test_a_service_stops_at_once_on_sigterm_while_it_waits_for_nats_and_after_nats_went_away(
    tmp_path: Path, redis_server: ServerProcess
) -> None:
    waiting = ServiceRunner(
        isolated_settings(f"nats://127.0.0.1:{free_port()}", f"{redis_server.url}/0", tmp_path), tmp_path
    )
    nats = start_nats_with(tmp_path / "nats", "")
    running = ServiceRunner(isolated_settings(nats.url, f"{redis_server.url}/0", tmp_path), tmp_path / "running")
    running.workdir.mkdir()
    try:
        waiting.start("correlator")
        running.start("correlator")
        log = waiting.running["correlator"].log
        await eventually(lambda: '"starting"' in log(), timeout=30, what="the correlator waiting for NATS")
        await sigterm_stops(waiting, "correlator")

        await running.wait_running("correlator", timeout=60)
        nats.stop()
        await sigterm_stops(running, "correlator")
    finally:
        waiting.stop_all()
        running.stop_all()
        nats.stop()
