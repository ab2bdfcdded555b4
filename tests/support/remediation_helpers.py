"""What the remediator's service tests share: playbook files, incidents published as the correlator would,
predicates over what the remediator publishes, and the `healer` command run as a user runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.testing import KubeEmulator, Recorder, ServiceRunner, run_healer
from tests.support.samples import T0, alert, incident


def playbook_doc(name: str, *actions: dict[str, Any], alerts: tuple[str, ...] = ("H8",), **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "healer.platform/v1",
        "kind": "RemediationPlaybook",
        "metadata": {"name": name},
        "spec": {"priority": 50, "trigger": {"alerts": list(alerts)}, "actions": list(actions), **spec},
    }


def write_playbooks(folder: Path, *documents: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "playbooks.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def opened(incident_id: str, target: ResourceRef, alert_id: str = "H8", **labels: str) -> Incident:
    fired = alert(alert_id, resource=target, namespace=target.namespace or "cto")
    fired = fired.evolve(labels={**fired.labels, **labels})
    return incident(fired).evolve(incident_id=incident_id, event_id=f"{incident_id}-1")


def resolved(open_incident: Incident, revision: int = 2) -> Incident:
    alerts = [a.model_copy(update={"status": "resolved"}) for a in open_incident.alerts]
    return open_incident.evolve(
        state="resolved",
        revision=revision,
        alerts=alerts,
        resolved_at=T0,
        event_id=f"{open_incident.incident_id}-{revision}",
    )


def remediation(state: str | None = None, **fields: Any) -> Callable[[RawMessage], bool]:
    """Matches a Remediation published in `state` (any state when None) with these top-level fields."""

    def match(msg: RawMessage) -> bool:
        if ".remediations." not in msg.subject:
            return False
        body = json.loads(msg.data)
        return (state is None or body["state"] == state) and all(body.get(k) == v for k, v in fields.items())

    return match


def audit(
    action: str | None = None, decision: str | None = None, *, service: str = "remediator"
) -> Callable[[RawMessage], bool]:
    def match(msg: RawMessage) -> bool:
        if not msg.subject.endswith(f".audit.{service}"):
            return False
        body = json.loads(msg.data)
        return (action is None or body["action"] == action) and (decision is None or body["decision"] == decision)

    return match


def bodies(seen: Recorder, predicate: Callable[[RawMessage], bool]) -> list[dict[str, Any]]:
    return [json.loads(m.data) for m in seen.messages if predicate(m)]


async def healer(services: ServiceRunner, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `healer ARGS` with the test's settings, as a user would; (exit code, stdout and stderr)."""
    code, out, err = await run_healer(services.config_path, *args, env=env)
    return code, out + err


async def start_remediator(services: ServiceRunner, tmp_path: Path, **settings: Any) -> None:
    """The remediator on the emulator's kubeconfig, with quick timers; request `kube` before `services` in a
    test's arguments, so the emulator outlives the remediator."""
    services.configure("cluster", kubeconfig=tmp_path / "kubeconfig")
    services.configure("remediator", **{"memory_timeout_s": 0.2, "tick_s": 0.2, **settings})
    services.start("remediator")
    await services.wait_running("remediator")


def cluster_changes(kube: KubeEmulator) -> list[tuple[str, str]]:
    """Mutating requests other than Healer's own remediation records."""
    return [(m, p) for m, p in kube.mutating_requests() if "/remediationrecords" not in p]


async def publish(bus: BusClient, *messages: Incident) -> None:
    for message in messages:
        await bus.publish(message)
