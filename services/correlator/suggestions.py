"""What a person could do next about a likely cause: the seed's "suggested actions", as a table per kind of
object and kind of change; per alert type they are the catalogue's hints (healer_common/contract/catalogue.yaml,
by trigger reason or metric). Commands are written out so they can be pasted. Pure.
"""

from __future__ import annotations

from healer_common.contract.catalogue import CATALOGUE
from healer_common.contract.incidents import AlertSummary
from services.correlator.changes import ChangeRecord
from services.correlator.topology import Anchor

_BY_ANCHOR: dict[str, tuple[str, ...]] = {
    "node": (
        "kubectl describe node {name}",
        "kubectl top pods -A --field-selector spec.nodeName={name}",
        "kubectl cordon {name} (and drain it) if the node stays under pressure",
    ),
    "deployment": (
        "kubectl rollout status deployment/{name} -n {namespace}",
        "kubectl rollout history deployment/{name} -n {namespace}",
    ),
    "statefulset": ("kubectl rollout status statefulset/{name} -n {namespace}",),
    "owner": ("kubectl describe {kind} {name} -n {namespace}",),
    "application": ("argocd app get {name}", "argocd app history {name}"),
    "namespace": ("kubectl get events -n {name} --sort-by=.lastTimestamp",),
}
_BY_CHANGE: dict[str, tuple[str, ...]] = {
    "deploy": (
        "roll {resource} back to {from_version}",
        "kubectl rollout undo {kind}/{name} -n {namespace}",
        "compare {from_version}..{to_version}",
    ),
    "config": ("revert the config change to {resource} ({from_version} -> {to_version})",),
    "flag": ("turn the flag on {resource} back to {from_version}",),
    "scale": ("scale {resource} back to {from_version}",),
}


def _fill(templates: tuple[str, ...], **values: str) -> list[str]:
    return [t.format(**values) for t in templates]


def for_anchor(anchor: Anchor) -> list[str]:
    return _fill(
        _BY_ANCHOR.get(anchor.kind, ()),
        name=anchor.name,
        namespace=anchor.namespace,
        kind=anchor.object_kind.lower(),
    )


def for_change(change: ChangeRecord) -> list[str]:
    templates = _BY_CHANGE.get(change.what, ())
    if change.from_version is None:
        templates = tuple(t for t in templates if "{from_version}" not in t)
    return _fill(
        templates,
        resource=str(change.resource),
        kind=change.resource.kind.lower(),
        name=change.resource.name,
        namespace=change.resource.namespace or "default",
        from_version=change.from_version or "",
        to_version=change.to_version or "",
    )


def for_alert(alert: AlertSummary) -> list[str]:
    entry = CATALOGUE.get(alert.alert_id)
    templates = entry.hints_for(alert.labels.get("reason") or alert.labels.get("metric")) if entry else ()
    resource = alert.resource
    return _fill(
        templates,
        resource=str(resource) if resource else alert.summary,
        name=resource.name if resource else "",
        namespace=(resource.namespace if resource else None) or "default",
    )
