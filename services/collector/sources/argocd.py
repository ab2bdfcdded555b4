"""ArgoCD Applications (argoproj.io/v1alpha1), read through the Kubernetes API like any other object.

    OutOfSync / Synced    status.sync.status; labels.since is when the drift began (ArgoCD records no
                          transition time for sync, so: when the collector first saw it OutOfSync)
    Degraded / Healthy    status.health.status (Missing counts as Degraded); since: health.lastTransitionTime
    SyncFailed            the last sync operation Failed or Errored; the message says why
    argocd_app_revision_lag   0 when the deployed revision is the target, else 1: ArgoCD knows that they differ,
                          not by how many commits (that needs the git history, which the collector does not read)
    argocd_app_revision_age_seconds   how long Git's revision has been ahead of the deployed one: git commit
                          lag as an age (0 when deployed), timed from when the collector first saw them differ
    helm_release_behind   for a Helm source, 1 while the deployed chart version is not the one declared in Git
                          (the newest the Application asks for), else 0
    ConfigDrift / ConfigSynced   a ConfigMap or Secret the Application manages is OutOfSync in its
                          status.resources (it differs from Git: edited by hand, or not yet applied), and back
    change what=deploy    the deployed revision moved (a sync finished), from and to the revisions

Labels carry the revisions (target, compared, deployed) and, for Helm sources, the chart with its declared
and deployed versions, so "deployed 1.4.2 while 1.5.0 is declared" is visible on the condition.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.events import ChangeData, MetricSample, ResourceRef
from services.collector.observations import (
    ChangeRecord,
    Emission,
    Json,
    ObjectKey,
    Observation,
    object_key,
    observe,
    parse_time,
    rfc3339,
)
from services.collector.transitions import TransitionMemory

FAILED_OPERATIONS = frozenset({"Failed", "Error"})
CONFIG_KINDS = frozenset({"ConfigMap", "Secret"})
DEGRADED_HEALTH = frozenset({"Degraded", "Missing"})


def first_source(app: Json) -> Json:
    spec = app.get("spec") or {}
    return spec.get("source") or next(iter(spec.get("sources") or []), {}) or {}


def deployed_revision(app: Json) -> str | None:
    status = app.get("status") or {}
    history = status.get("history") or []
    if history:
        last = history[-1]
        return str(last.get("revision") or ",".join(last.get("revisions") or []) or "") or None
    revision = ((status.get("operationState") or {}).get("syncResult") or {}).get("revision")
    return str(revision) if revision else None


def application_labels(app: Json) -> dict[str, str]:
    key = object_key(app)
    source = first_source(app)
    status = app.get("status") or {}
    labels = {"namespace": key[0], "application": key[1]}
    optional = {
        "project": (app.get("spec") or {}).get("project"),
        "target_revision": source.get("targetRevision"),
        "revision": (status.get("sync") or {}).get("revision"),
        "deployed_revision": deployed_revision(app),
    }
    if chart := source.get("chart"):
        optional |= {"chart": chart, "chart_version": source.get("targetRevision")}
        optional["deployed_chart_version"] = deployed_revision(app)
    labels |= {k: str(v) for k, v in optional.items() if v not in (None, "")}
    return labels


class ApplicationTracker:
    def __init__(self) -> None:
        self._memory = TransitionMemory()
        self._since: dict[tuple[ObjectKey, str], dt.datetime] = {}
        self._deployed: dict[ObjectKey, str | None] = {}
        self._lag: dict[ObjectKey, tuple[float, dict[str, str]]] = {}
        self._helm: dict[ObjectKey, float] = {}
        self._drifted: dict[ObjectKey, set[tuple[str, str, str]]] = {}

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        key = object_key(obj)
        emission = Emission(conditions=self._memory.changes(key, self._conditions(key, obj, now)))
        emission.changes = self._deploy_change(key, obj)
        lag = self._revision_lag(obj)
        if lag is None:
            self._lag.pop(key, None)
        else:
            self._lag[key] = (lag, {"namespace": key[0], "application": key[1]})
            if lag == 0.0:
                self._since.pop((key, "behind"), None)
            else:
                self._first_seen(key, "behind", now)
        if (behind := _helm_behind(obj)) is None:
            self._helm.pop(key, None)
        else:
            self._helm[key] = behind
        emission.samples = self._samples([key], now)
        return emission

    def _conditions(self, key: ObjectKey, app: Json, now: dt.datetime) -> list[Observation]:
        status = app.get("status") or {}
        labels = application_labels(app)
        sync, health = status.get("sync") or {}, status.get("health") or {}
        operation = status.get("operationState") or {}
        found = []
        if sync.get("status") == "OutOfSync":
            since = self._first_seen(key, "OutOfSync", now)
            found.append(observe("Application", key, "OutOfSync", labels={**labels, "since": rfc3339(since)}))
        elif sync.get("status") == "Synced":
            occurrence = labels.get("deployed_revision", "")
            found.append(observe("Application", key, "Synced", labels=labels, occurrence=occurrence))
        if health.get("status") in DEGRADED_HEALTH:
            since = parse_time(health.get("lastTransitionTime")) or self._first_seen(key, "Degraded", now)
            message = health.get("message") or f"health is {health.get('status')}"
            labeled = {**labels, "since": rfc3339(since), "health": str(health.get("status"))}
            found.append(observe("Application", key, "Degraded", labels=labeled, message=message))
        elif health.get("status") == "Healthy":
            found.append(observe("Application", key, "Healthy", labels=labels))
        if operation.get("phase") in FAILED_OPERATIONS:
            occurrence = str(operation.get("startedAt") or operation.get("finishedAt") or "")
            message = operation.get("message") or f"sync operation {operation.get('phase')}"
            found.append(
                observe("Application", key, "SyncFailed", labels=labels, message=message, occurrence=occurrence)
            )
        self._forget_since(key, {o.condition.reason for o in found})
        return found + self._config_drift(key, app, now)

    def _config_drift(self, key: ObjectKey, app: Json, now: dt.datetime) -> list[Observation]:
        """ConfigMaps and Secrets out of sync with Git, and ConfigSynced once for each that is back."""
        resources = (app.get("status") or {}).get("resources") or []
        drifted = {
            (str(r.get("kind")), str(r.get("namespace") or ""), str(r.get("name")))
            for r in resources
            if r.get("kind") in CONFIG_KINDS and r.get("status") == "OutOfSync"
        }
        found = []
        for kind, namespace, name in sorted(drifted | self._drifted.get(key, set())):
            what = f"{kind}/{namespace}/{name}"
            labels = {"namespace": namespace, kind.lower(): name, "application": key[1]}
            if (kind, namespace, name) in drifted:
                since = rfc3339(self._first_seen(key, f"drift:{what}", now))
                message = f"{kind} {namespace}/{name} differs from Git (Application {key[1]})"
                reason, labels = "ConfigDrift", {**labels, "since": since}
            else:
                self._since.pop((key, f"drift:{what}"), None)
                reason, message = "ConfigSynced", f"{kind} {namespace}/{name} matches Git again"
            found.append(observe(kind, (namespace, name), reason, labels=labels, message=message, occurrence=what))
        self._drifted[key] = drifted
        return found

    def _first_seen(self, key: ObjectKey, reason: str, now: dt.datetime) -> dt.datetime:
        return self._since.setdefault((key, reason), now)

    def _forget_since(self, key: ObjectKey, current: set[str]) -> None:
        for reason in ("OutOfSync", "Degraded"):
            if reason not in current:
                self._since.pop((key, reason), None)

    def _deploy_change(self, key: ObjectKey, app: Json) -> list[ChangeRecord]:
        after = deployed_revision(app)
        known, before = key in self._deployed, self._deployed.get(key)
        self._deployed[key] = after
        if not known or before == after or after is None:
            return []
        resource = ResourceRef(kind="Application", namespace=key[0] or None, name=key[1])
        data = ChangeData(what="deploy", resource=resource, from_=before, to=after)
        return [ChangeRecord(data, f"Application/{key[0]}/{key[1]}/deploy/{before}->{after}")]

    @staticmethod
    def _revision_lag(app: Json) -> float | None:
        target = ((app.get("status") or {}).get("sync") or {}).get("revision")
        deployed = deployed_revision(app)
        if not target or not deployed:
            return None
        return 0.0 if target == deployed else 1.0

    def _samples(self, keys: list[ObjectKey], now: dt.datetime) -> list[MetricSample]:
        found = []
        for k in keys:
            labels = {"namespace": k[0], "application": k[1]}
            if k in self._lag:
                found.append(
                    MetricSample(name="argocd_app_revision_lag", value=self._lag[k][0], labels=labels, time=now)
                )
                since = self._since.get((k, "behind"))
                age = (now - since).total_seconds() if since else 0.0
                found.append(MetricSample(name="argocd_app_revision_age_seconds", value=age, labels=labels, time=now))
            if k in self._helm:
                found.append(MetricSample(name="helm_release_behind", value=self._helm[k], labels=labels, time=now))
        return found

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        self._memory.forget(key)
        self._deployed.pop(key, None)
        self._lag.pop(key, None)
        self._helm.pop(key, None)
        self._drifted.pop(key, None)
        self._forget_since(key, set())
        self._since = {k: v for k, v in self._since.items() if k[0] != key}
        return Emission()

    def keys(self) -> list[ObjectKey]:
        return list(self._deployed)

    def resync(self, now: dt.datetime) -> Emission:
        return Emission(samples=self._samples(sorted(set(self._lag) | set(self._helm)), now))


def _helm_behind(app: Json) -> float | None:
    """1 when a Helm source's deployed chart version is not the declared one, 0 when it is, None otherwise."""
    labels = application_labels(app)
    declared, deployed = labels.get("chart_version"), labels.get("deployed_chart_version")
    if not declared or not deployed:
        return None
    return 0.0 if declared == deployed else 1.0
