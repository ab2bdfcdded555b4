"""clear_temp_files (safe): free a PersistentVolumeClaim by deleting old files in its temporary folders, with a
one-off Job that mounts the claim (on the node already using it, since most volumes attach to one node).

Only folders named in the playbook are touched, relative to the volume's root, and only files older than
`olderThanMinutes`; the paths are checked at load so no playbook can reach outside the volume.
"""

from __future__ import annotations

import re
from typing import Any

from kubernetes import client
from pydantic import Field, field_validator

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import kube, labels_of, list_items, read_existing, require_kind
from services.remediator.actions.plans import ActionContext, ActionPlan, Call, Params, not_connected

_SAFE_PATH = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
MOUNT = "/data"


class ClearTempFilesParams(Params):
    paths: list[str] = Field(default_factory=lambda: ["tmp", ".cache"], min_length=1, max_length=20)
    older_than_minutes: int = Field(60, ge=0, le=525_600)
    image: str = Field("busybox:1.36", min_length=1)

    @field_validator("paths")
    @classmethod
    def _inside_the_volume(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not _SAFE_PATH.fullmatch(path) or any(part in {".", ".."} for part in path.split("/")):
                raise ValueError(
                    f"{path!r} must be a folder inside the volume: relative, no '..', letters, digits, . _ - /"
                )
        return paths


def job_body(claim: str, namespace: str, job: str, params: ClearTempFilesParams, node: str | None) -> dict[str, Any]:
    folders = " ".join(f"{MOUNT}/{p}" for p in params.paths)
    script = (
        f'for d in {folders}; do [ -d "$d" ] && find "$d" -mindepth 1 -mmin +{params.older_than_minutes} '
        "-delete; done; df -h " + MOUNT
    )
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": "cleanup",
                "image": params.image,
                "command": ["sh", "-c", script],
                "volumeMounts": [{"name": "claim", "mountPath": MOUNT}],
            }
        ],
        "volumes": [{"name": "claim", "persistentVolumeClaim": {"claimName": claim}}],
    }
    if node:
        pod_spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    labels = {"app.kubernetes.io/managed-by": "healer", "healer.platform/action": "clear_temp_files"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job, "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 600,
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


async def _node_using(core: client.CoreV1Api, namespace: str, claim: str) -> str | None:
    for pod in await list_items(core.list_namespaced_pod, namespace):
        volumes = pod.get("spec", {}).get("volumes") or []
        if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in volumes):
            node = pod.get("spec", {}).get("nodeName")
            if node:
                return str(node)
    return None


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = ClearTempFilesParams.model_validate(raw)
    namespace = require_kind("clear_temp_files", target, "PersistentVolumeClaim")
    job = f"healer-cleanup-{target.name[:30].rstrip('-.')}-{ctx.run.remediation_id[:8]}".lower()
    path = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    if ctx.api is None:
        return not_connected(f"clear old files in {target}", target, f"POST {path} (Job {job})")
    core = client.CoreV1Api(ctx.api)
    claim = await read_existing(core.read_namespaced_persistent_volume_claim, target.name, namespace, what=target)
    node = await _node_using(core, namespace, target.name)
    body = job_body(target.name, namespace, job, params, node)
    batch = client.BatchV1Api(ctx.api)

    async def create() -> object:
        return await kube(batch.create_namespaced_job, namespace, body)

    where = f" on node {node}" if node else ""
    folders = ", ".join(params.paths)
    return ActionPlan(
        f"clear files older than {params.older_than_minutes}m in {folders} of {target} (Job {job}{where})",
        target,
        labels_of(claim),
        (Call(f"POST {path} (Job {job})", create),),
    )
