"""The same app in other environments: when prod is on fire, does staging run the same version, and does it
burn too? Each cluster is an environment; an app is a Deployment, StatefulSet or ArgoCD Application known by
its namespace and name in every cluster (topology.Anchor.app_key).

An environment is compared once it is watched for that app: a change deployed it there, or alerts about it
came from there. The correlator keeps, per app, the last version deployed in each cluster (from changes) and
the alert ids firing for it in each cluster (from its incidents); this module compares them. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from healer_common.contract.incidents import EnvironmentDifference, Incident
from services.correlator.topology import summary_anchors


@dataclass(frozen=True)
class AppView:
    """One app across clusters: last deployed version and firing alert ids, per cluster."""

    versions: Mapping[str, str] = field(default_factory=dict)
    firing: Mapping[str, Sequence[str]] = field(default_factory=dict)


def app_firing(incident: Incident) -> dict[str, list[str]]:
    """The alert ids firing in this incident for each app it touches (what other environments compare to)."""
    found: dict[str, set[str]] = {}
    for alert in incident.alerts:
        for anchor in summary_anchors(alert, incident.cluster):
            if anchor.app_key is not None:
                ids = found.setdefault(anchor.app_key, set())
                if alert.status == "firing":
                    ids.add(alert.alert_id)
    return {app: sorted(ids) for app, ids in found.items()}


def _summary(app: str, here: str, there: str, view: AppView, firing_here: Sequence[str]) -> str:
    v_here, v_there = view.versions.get(here), view.versions.get(there)
    firing_there = list(view.firing.get(there, ()))
    if v_here and v_there and v_here != v_there:
        versions = f"{there} runs {v_there} where {here} runs {v_here}"
    elif v_here and v_here == v_there:
        versions = f"{there} runs the same version {v_here}"
    else:
        versions = f"{there} runs {v_there or 'an unknown version'}"
    if not firing_there:
        alerts = f"and has no alert for it: the trouble is specific to {here}"
    elif set(firing_there) >= set(firing_here):
        alerts = f"and fires the same alerts ({', '.join(firing_there)}): not specific to {here}"
    else:
        alerts = f"and fires {', '.join(firing_there)} only"
    return f"{app}: {versions}, {alerts}"


def environment_differences(incident: Incident, apps: Mapping[str, AppView]) -> list[EnvironmentDifference]:
    here = incident.cluster
    return [
        EnvironmentDifference(
            app=app,
            environment=there,
            version_here=view.versions.get(here),
            version_there=view.versions.get(there),
            firing_there=sorted(view.firing.get(there, ())),
            summary=_summary(app, here, there, view, firing_here),
        )
        for app, firing_here in sorted(app_firing(incident).items())
        if (view := apps.get(app)) is not None
        for there in sorted((set(view.versions) | set(view.firing)) - {here})
    ]
