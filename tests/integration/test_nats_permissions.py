"""One NATS user per service, each limited to its subjects, over TLS: `healer nats config` renders the users and
their permissions for a real nats-server; the whole pipeline (HTTPS ingest, detector, correlator, remediator,
notifier, memory-bridge) runs on it, each service signed in with its own nkey seed; and a service that tries to
publish what is not its own (an approval, an alert) is refused by the server, while the CLI's approval passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from healer_cli.demo import condition_event
from healer_cli.nats_config import write_config
from healer_common.contract.permissions import SERVICE_IDENTITIES
from healer_common.contract.remediations import ApprovalDecision
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.reach import tls_context
from healer_common.runtime.servers import ServerProcess
from healer_common.settings import Settings
from healer_common.testing import ServiceRunner, bearer, eventually, isolated_settings, recording, run_healer
from tests.support.remediation_helpers import audit
from tests.support.secured import Certificates, certificates, start_nats_with

pytestmark = pytest.mark.integration


class SecuredNats:
    def __init__(self, server: ServerProcess, auth: Path, pki: Certificates) -> None:
        self.server, self.auth, self.pki = server, auth, pki
        self.url = f"tls://127.0.0.1:{server.port}"

    def seed(self, identity: str) -> Path:
        return self.auth / f"{identity}.nk"

    async def connect(self, identity: str, errors: list[str]) -> Any:
        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        return await nats.connect(
            self.url,
            nkeys_seed=str(self.seed(identity)),
            tls=tls_context(self.pki.ca, None, None),
            error_cb=on_error,
            allow_reconnect=False,
        )


@pytest.fixture
def secured(tmp_path: Path, healer_settings: Settings) -> Iterator[SecuredNats]:
    """nats-server over TLS with Healer's accounts block (for the test's subject root) and nothing else."""
    pki = certificates(tmp_path / "pki")
    folder = tmp_path / "nats-secured"
    write_config(folder / "auth", healer_settings.space)
    tls = f'tls {{\n  cert_file: "{pki.server_cert}"\n  key_file: "{pki.server_key}"\n}}\n'
    server = start_nats_with(folder, f'{tls}include "auth/accounts.conf"\n')
    yield SecuredNats(server, folder / "auth", pki)
    server.stop()


def on_secured(secured: SecuredNats, settings: Settings, identity: str, tmp_path: Path) -> Settings:
    base = isolated_settings(secured.url, settings.redis.url, tmp_path)
    nats_cfg = {"url": secured.url, "tls_ca_file": secured.pki.ca, "nkey_seed_file": secured.seed(identity)}
    return base.model_copy(
        update={"nats": base.nats.model_copy(update=nats_cfg), "bus": settings.bus, "redis": settings.redis}
    )


async def test_a_service_may_publish_only_its_own_subjects_and_only_the_cli_approves(
    secured: SecuredNats, healer_settings: Settings
) -> None:
    space = healer_settings.space
    approval = ApprovalDecision(remediation_id="rem-1", decision="approve", by="x").model_dump_json().encode()
    errors: list[str] = []
    cli, collector = await secured.connect("cli", errors), await secured.connect("collector", errors)
    try:
        seen: list[str] = []

        async def on_message(msg: Any) -> None:
            seen.append(msg.subject)

        await cli.subscribe(f"{space.root}.>", cb=on_message)
        await cli.flush()
        await collector.publish(space.custom_events("ok"), b"{}")  # its own: the control
        await collector.publish(space.approvals("rem-forged"), approval)
        await collector.publish(space.alerts("H8"), b"{}")
        await collector.publish(space.custom_events("ok-after"), b"{}")  # a second control, after the refusals
        await collector.flush()
        await cli.publish(space.approvals("rem-1"), approval)
        await cli.flush()
        expected = {space.custom_events("ok"), space.custom_events("ok-after"), space.approvals("rem-1")}
        await eventually(lambda: set(seen) >= expected and len(errors) >= 2, what="the controls and the refusals")
    finally:
        await collector.close()
        await cli.close()
    assert sorted(seen) == sorted(expected), "only the collector's own subjects and the CLI's approval passed"
    refused = " ".join(errors).lower()  # nats-py words the server's -ERR in lower case
    assert f'permissions violation for publish to "{space.approvals("rem-forged")}"'.lower() in refused, errors
    assert f'permissions violation for publish to "{space.alerts("H8")}"'.lower() in refused, errors


async def test_the_pipeline_runs_with_one_nats_user_per_service_over_tls_and_https(
    secured: SecuredNats, healer_settings: Settings, tmp_path: Path
) -> None:
    pki = secured.pki
    settings = on_secured(secured, healer_settings, "cli", tmp_path)
    http_tls = {"tls_cert_file": pki.server_cert, "tls_key_file": pki.server_key}
    settings = settings.model_copy(update={"http": settings.http.model_copy(update=http_tls)})
    runner = ServiceRunner(settings, tmp_path / "services")
    runner.workdir.mkdir()
    try:
        for identity in SERVICE_IDENTITIES:
            runner.start(identity, env={"HEALER_NATS__NKEY_SEED_FILE": str(secured.seed(identity))})
        await runner.wait_running(timeout=60)
        async with BusClient(settings, name="healer-test") as bus, recording(bus, f"{bus.space.root}.>") as seen:
            ingest = f"{await runner.url('collector')}/events/ci"
            assert ingest.startswith("https://")
            event = condition_event("cto/rex-1", "OOMKilled", source="secured-test").model_dump_json().encode()
            async with httpx.AsyncClient(verify=tls_context(pki.ca, None, None)) as http:
                headers = bearer(settings, "test-source") | {"content-type": "application/json"}
                sent = await http.post(ingest, content=event, headers=headers)
            assert sent.status_code == 202, sent.text

            acted = await seen.wait_for(lambda m: m.subject == bus.space.remediations("acted"), timeout=60, what="act")
            await seen.wait_for(lambda m: m.subject == bus.space.audit("notifier"), timeout=30, what="a delivery")
            memory = await seen.wait_for(audit("memory", service="remediator"), what="the memory audit")
        assert json.loads(acted.data)["dry_run"] is True
        reason = json.loads(memory.data)["reason"]
        assert reason.startswith(("memory has", "memory recommends")), f"memory-bridge answered: {reason}"
        code, out, err = await run_healer(runner.config_path, "history", "--since", "1h", "--json")
        assert code == 0, err
        assert "secured-test" in out or "rex-1" in out, "the CLI identity reads the history back"
        as_analyze = {"HEALER_NATS__NKEY_SEED_FILE": str(secured.seed("analyze"))}
        code, out, err = await run_healer(runner.config_path, "analyze", "--since", "1h", env=as_analyze)
        assert code == 0, out + err
        logs = runner.logs()
        assert "Permissions Violation" not in logs, logs
    finally:
        runner.stop_all()
