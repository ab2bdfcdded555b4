"""The shipped deploy files use the identities: in Kubernetes and in docker compose each service signs in to NATS
as its own user (the seed of that identity only), the services with HTTP entry points read the credentials
Secret, production speaks TLS to NATS and Redis and HTTPS on every endpoint, and NATS admits only those users."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from healer_common.contract.permissions import IDENTITIES, SERVICE_IDENTITIES
from tests.support.kustomize import render
from tests.support.rbac import DEPLOY

ROOT = DEPLOY.parents[1]


def pod_specs(overlay: str) -> dict[str, dict[str, Any]]:
    specs = {}
    for obj in render(DEPLOY / "overlays" / overlay):
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].startswith("healer-"):
            specs[obj["metadata"]["name"].removeprefix("healer-")] = obj["spec"]["template"]["spec"]
        elif obj["kind"] == "CronJob":
            specs["analyze"] = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def env(spec: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in spec["containers"][0].get("env", [])}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_each_pod_holds_only_its_own_nats_seed(overlay: str) -> None:
    specs = pod_specs(overlay)
    assert set(specs) == {*SERVICE_IDENTITIES, "analyze"}
    for identity, spec in specs.items():
        assert env(spec)["HEALER_NATS__NKEY_SEED_FILE"] == f"/etc/healer/nats/{identity}.nk"
        (volume,) = [v for v in spec["volumes"] if v["name"] == "nats-identity"]
        assert volume["secret"]["items"] == [{"key": f"{identity}.nk", "path": f"{identity}.nk"}]
        mounts = {v["name"] for v in spec["volumes"]}
        assert ("credentials" in mounts) == (identity in {"collector", "remediator", "notifier", "api"}), identity
    assert set(IDENTITIES) - set(specs) == {"cli"}, "the CLI's seed is for people, never mounted in the cluster"


def test_production_speaks_tls_to_nats_and_redis_and_https_on_every_endpoint() -> None:
    for identity, spec in pod_specs("prod").items():
        variables = env(spec)
        assert (
            variables["HEALER_NATS__TLS_CA_FILE"] == variables["HEALER_REDIS__TLS_CA_FILE"] == "/etc/healer/tls/ca.crt"
        )
        assert "HEALER_NATS__TOKEN" not in variables, "one way in: the nkey"
        if identity == "analyze":
            continue
        assert variables["HEALER_HTTP__TLS_CERT_FILE"] == "/etc/healer/http-tls/tls.crt"
        container = spec["containers"][0]
        assert {container[p]["httpGet"]["scheme"] for p in ("startupProbe", "livenessProbe", "readinessProbe")} == {
            "HTTPS"
        }
    example = (DEPLOY / "overlays" / "prod" / "secrets.env.example").read_text()
    assert "NATS_URL=tls://" in example
    assert "REDIS_URL=rediss://" in example


def test_the_dev_nats_admits_only_healers_users() -> None:
    config = (DEPLOY / "overlays" / "dev" / "nats.conf").read_text()
    assert 'include "auth/accounts.conf"' in config
    (nats,) = [
        o for o in render(DEPLOY / "overlays" / "dev") if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "nats"
    ]
    assert nats["spec"]["template"]["spec"]["containers"][0]["args"] == ["-c", "/etc/nats/nats.conf"]


def test_compose_gives_each_service_its_nats_user_and_the_credentials() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for identity in SERVICE_IDENTITIES:
        variables = services[identity]["environment"]
        assert variables["HEALER_NATS__NKEY_SEED_FILE"] == f"/identities/nats/{identity}.nk"
        assert variables["HEALER_AUTH__CREDENTIALS_FILE"] == "/identities/credentials.yaml"
        assert services[identity]["depends_on"]["identities"] == {"condition": "service_completed_successfully"}
    assert services["nats"]["command"] == ["-c", "/etc/nats/nats.conf"]
    assert 'include "identities/nats/accounts.conf"' in Path(ROOT / "deploy" / "compose" / "nats.conf").read_text()
