"""Argo CD's application controller, as far as Healer sees it: Applications whose Git target moves ahead
go OutOfSync (and Degraded, when the scenario says so); setting `operation` (a sync, as `argocd app sync`
does) deploys the target: the Application becomes Synced and Healthy and records its operationState and
history. `application` builds the object a scenario declares, deployed and in sync.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from healer_sandbox import kinds
from healer_sandbox.cluster import Cluster, GitHead, ref_of
from healer_sandbox.scenario import ApplicationSpec
from healer_sandbox.store import meta
from healer_sandbox.units import rfc3339

REFRESH = "argocd.argoproj.io/refresh"


def _source(spec: ApplicationSpec) -> dict[str, Any]:
    if spec.chart_version:
        return {"repoURL": spec.repo, "chart": spec.path, "targetRevision": spec.chart_version}
    return {"repoURL": spec.repo, "path": spec.path, "targetRevision": "HEAD"}


def _operation_state(
    revision: str, source: dict[str, Any], started: str, now: dt.datetime, initiator: dict[str, Any]
) -> dict[str, Any]:
    return {
        "operation": {"sync": {"revision": revision}, "initiatedBy": initiator},
        "phase": "Succeeded",
        "message": "successfully synced (all tasks run)",
        "startedAt": started,
        "finishedAt": rfc3339(now),
        "syncResult": {"revision": revision, "source": source},
    }


def application(spec: ApplicationSpec, now: dt.datetime) -> dict[str, Any]:
    source = _source(spec)
    stamp = rfc3339(now)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": spec.name, "namespace": spec.namespace},
        "spec": {
            "project": spec.project,
            "source": source,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": spec.destination_namespace},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
        "status": {
            "sync": {
                "status": "Synced",
                "revision": spec.revision,
                "comparedTo": {"source": source, "destination": {"namespace": spec.destination_namespace}},
            },
            "health": {"status": "Healthy", "lastTransitionTime": stamp},
            "operationState": _operation_state(spec.revision, source, stamp, now, {"automated": True}),
            "history": [{"id": 0, "revision": spec.revision, "deployedAt": stamp, "source": source}],
            "reconciledAt": stamp,
            "sourceType": "Helm" if spec.chart_version else "Directory",
        },
    }


def _deployed(app: dict[str, Any]) -> str:
    history = app.get("status", {}).get("history") or [{}]
    return str(history[-1].get("revision", ""))


def _sync(cluster: Cluster, app: dict[str, Any], now: dt.datetime) -> None:
    """Carry out the requested sync operation: deploy the target revision."""
    head = cluster.git_heads.get(ref_of(app))
    requested = (app["operation"].get("sync") or {}).get("revision")
    revision = requested or (head.revision if head else _deployed(app))
    status = dict(app.get("status") or {})
    source = app["spec"].get("source", {})
    history = list(status.get("history") or [])
    history.append({"id": len(history), "revision": revision, "deployedAt": rfc3339(now), "source": source})
    initiator = app["operation"].get("initiatedBy") or {"username": "unknown"}
    status.update(
        sync={**status.get("sync", {}), "status": "Synced", "revision": revision},
        health={"status": "Healthy", "lastTransitionTime": rfc3339(now)},
        operationState=_operation_state(revision, source, rfc3339(now), now, initiator),
        history=history[-10:],
        reconciledAt=rfc3339(now),
    )
    if head and head.revision == revision:
        cluster.git_heads[ref_of(app)] = GitHead(revision, 0)
    synced = {k: v for k, v in app.items() if k != "operation"}
    cluster.store.write(kinds.APPLICATIONS, {**synced, "status": status})
    cluster.record(
        app, "OperationCompleted", f"Sync operation to {revision} succeeded", component="argocd-application-controller"
    )


def argocd(cluster: Cluster, now: dt.datetime) -> None:
    for app in list(cluster.store.items(kinds.APPLICATIONS)):
        if app.get("operation"):
            _sync(cluster, app, now)
            continue
        status = dict(app.get("status") or {})
        head = cluster.git_heads.get(ref_of(app))
        deployed = _deployed(app)
        target = head.revision if head else deployed
        drifted = target != deployed
        sync_status = "OutOfSync" if drifted else "Synced"
        health = "Degraded" if drifted and head and head.degraded else "Healthy"
        if status.get("sync", {}).get("status") != sync_status:
            status["sync"] = {**status.get("sync", {}), "status": sync_status, "revision": target}
            status["reconciledAt"] = rfc3339(now)  # the comparison that found the change
        if status.get("health", {}).get("status") != health:
            message = "Deployment has exceeded its progress deadline" if health == "Degraded" else None
            status["health"] = {
                k: v for k, v in (("status", health), ("message", message), ("lastTransitionTime", rfc3339(now))) if v
            }
        annotations = dict(meta(app).get("annotations") or {})
        if annotations.pop(REFRESH, None) is not None:
            status["reconciledAt"] = rfc3339(now)
        cluster.put(
            kinds.APPLICATIONS, app, {**app, "metadata": {**meta(app), "annotations": annotations}, "status": status}
        )


def revision_lag(cluster: Cluster, app: dict[str, Any]) -> int:
    """Commits the deployed revision is behind the Git target (0 when in sync)."""
    head = cluster.git_heads.get(ref_of(app))
    return head.behind if head and head.revision != _deployed(app) else 0
