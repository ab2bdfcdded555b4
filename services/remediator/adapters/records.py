"""The remediation record: each run as a RemediationRecord custom resource (healer.platform/v1) in Healer's own
namespace, so operators read what Healer did, and why it skipped what it skipped, with kubectl:

    kubectl -n healer get remediationrecords
    kubectl -n healer get remediationrecord rem-<remediation id> -o yaml

Written on every change of the run (created, then merge-patched). Dry runs write nothing to the cluster (they
promise zero mutating requests); their record is the audit stream. A record that cannot be written is logged
and the run goes on: the audit stream has the same decisions.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from services.remediator.actions.cluster import MERGE_PATCH, kube
from services.remediator.run_state import RunState

GROUP, VERSION, PLURAL, KIND = "healer.platform", "v1", "remediationrecords", "RemediationRecord"


def record_name(remediation_id: str) -> str:
    return f"rem-{remediation_id}".lower()


def record_body(state: RunState, namespace: str) -> dict[str, Any]:
    run = state.run
    steps = [
        {
            "action": s.action,
            "outcome": s.outcome,
            "detail": s.detail,
            "apiCalls": s.api_calls,
            "startedAt": s.started_at.isoformat(),
            "finishedAt": s.finished_at.isoformat() if s.finished_at else None,
        }
        for s in run.steps
    ]
    decisions = [
        {"time": d.time.isoformat(), "action": d.action, "decision": d.decision, "reason": d.reason}
        for d in state.decisions
    ]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {
            "name": record_name(run.remediation_id),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "healer", "healer.platform/playbook": run.playbook[:63]},
        },
        "spec": {
            "remediationId": run.remediation_id,
            "incidentId": run.incident_id,
            "playbook": run.playbook,
            "cluster": run.cluster,
            "target": run.target.model_dump(exclude_none=True) if run.target else None,
            "alertIds": run.alert_ids,
            "startedAt": run.started_at.isoformat(),
        },
        "status": {
            "state": run.state,
            "revision": run.revision,
            "reason": run.reason,
            "finishedAt": run.finished_at.isoformat() if run.finished_at else None,
            "memoryIds": run.memory_ids,
            "confidence": run.confidence,
            "steps": steps,
            "decisions": decisions,
        },
    }


class RecordWriter:
    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._namespace = namespace

    async def write(self, state: RunState) -> None:
        """Create the record, or bring it up to date; raises ApiException when the cluster refuses both."""
        body = record_body(state, self._namespace)
        name = body["metadata"]["name"]
        args = (GROUP, VERSION, self._namespace, PLURAL)
        try:
            await kube(self._custom.patch_namespaced_custom_object, *args, name, body, _content_type=MERGE_PATCH)
        except ApiException as exc:
            if exc.status != 404:
                raise
            await kube(self._custom.create_namespaced_custom_object, *args, body)
