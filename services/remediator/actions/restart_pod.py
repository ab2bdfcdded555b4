"""Restart a pod by deleting it; its controller (ReplicaSet, StatefulSet, Job) starts a fresh one."""

from __future__ import annotations

import asyncio

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from healer_common.clock import Clock
from healer_common.events import ResourceRef
from healer_common.remediations import RemediationStep


def api_call(target: ResourceRef) -> str:
    return f"DELETE /api/v1/namespaces/{target.namespace}/pods/{target.name}"


async def read_pod_labels(api: client.ApiClient, target: ResourceRef) -> dict[str, str] | None:
    """The pod's labels, or None when it does not exist (already gone: nothing to restart)."""
    core = client.CoreV1Api(api)
    try:
        pod = await asyncio.to_thread(core.read_namespaced_pod, target.name, target.namespace or "default")
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(pod.metadata.labels or {}) if pod.metadata else {}


async def restart_pod(
    api: client.ApiClient | None, target: ResourceRef, clock: Clock, *, dry_run: bool
) -> RemediationStep:
    started = clock.now()
    call = api_call(target)
    if dry_run or api is None:
        why = "dry run" if dry_run and api is not None else "dry run: no cluster is configured"
        return RemediationStep(
            action="restart_pod",
            outcome="dry_run",
            detail=f"{why}; would call {call}",
            api_calls=[call],
            started_at=started,
            finished_at=clock.now(),
        )
    core = client.CoreV1Api(api)
    try:
        await asyncio.to_thread(core.delete_namespaced_pod, target.name, target.namespace or "default")
    except ApiException as exc:
        return RemediationStep(
            action="restart_pod",
            outcome="failed",
            detail=f"{call} -> HTTP {exc.status}: {exc.reason}",
            api_calls=[call],
            started_at=started,
            finished_at=clock.now(),
        )
    return RemediationStep(
        action="restart_pod",
        outcome="ok",
        detail=f"deleted {target}; its controller recreates it",
        api_calls=[call],
        started_at=started,
        finished_at=clock.now(),
    )
