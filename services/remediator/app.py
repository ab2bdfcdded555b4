"""Composes the remediator: settings -> cluster client, playbooks, Redis state, guards and limits -> the
coordinator (and the agent coordination beside it) -> handlers and the approvals endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from healer_common.errors import ConfigError
from healer_common.runtime import metrics
from healer_common.runtime.bus import Service, run_service
from healer_common.settings import RemediatorSettings
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.adapters.admission import Admission
from services.remediator.adapters.agent_coordination import AgentCoordinator
from services.remediator.adapters.approvals_http import ApprovalEndpoint
from services.remediator.adapters.clusters import ClusterClients
from services.remediator.adapters.coordinator import RemediationCoordinator
from services.remediator.adapters.execution import Execution
from services.remediator.adapters.handoffs import HandOffs
from services.remediator.adapters.learning import TrackRecord
from services.remediator.adapters.limit_store import LimitStore
from services.remediator.adapters.maintenance import Maintenance
from services.remediator.adapters.playbook_sources import PlaybookLibrary
from services.remediator.adapters.records import RecordWriter
from services.remediator.adapters.reporting import RunReporter
from services.remediator.adapters.runs import RunStore
from services.remediator.adapters.switches import Switches
from services.remediator.guards import GuardPolicy
from services.remediator.handlers import register


def check_action_names(cfg: RemediatorSettings) -> None:
    for field, names in (("approval_on_timeout", cfg.approval_on_timeout), ("approval_levels", cfg.approval_levels)):
        if unknown := sorted(set(names) - set(CATALOGUE)):
            raise ConfigError(
                f"{', '.join(unknown)} is not an action type; known: {', '.join(sorted(CATALOGUE))}",
                field=f"remediator.{field}",
            )


def _closer(clusters: ClusterClients) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        clusters.close()

    return close


def setup(svc: Service) -> None:
    cfg, cluster = svc.settings.remediator, svc.settings.cluster
    check_action_names(cfg)
    clusters = ClusterClients(svc.settings.collector.clusters_or(cluster), home=cluster.name)
    svc.on_stop(_closer(clusters))
    api = clusters.home
    library = PlaybookLibrary(CATALOGUE, cfg.playbook_paths, api, cluster=cfg.cluster_playbooks)
    guards = GuardPolicy.from_settings(cfg, cluster.own_namespace)
    runs, limits, switches = (
        RunStore(svc.redis, svc.keys, svc.instance),
        LimitStore(svc.redis, svc.keys),
        Switches(svc.redis, svc.keys),
    )
    http = httpx.AsyncClient()
    svc.on_stop(http.aclose)
    coordinator = RemediationCoordinator(
        svc=svc,
        clusters=clusters,
        library=library,
        execution=Execution(svc, clusters, http, guards, limits, switches, Maintenance(svc.redis, svc.keys, svc.clock)),
        admission=Admission(cfg, guards, runs, limits, switches, svc.clock),
        runs=runs,
        track=TrackRecord(svc.redis, svc.keys),
        reporter=RunReporter(svc, RecordWriter(api, cluster.own_namespace) if api is not None else None),
        handoffs=HandOffs(clusters, http, svc.settings.github),
    )
    svc.on_start(coordinator.reload)
    if coordinator.dry_run:
        why = "remediator.dry_run is set" if api is not None else "no cluster is configured"
        svc.log.warning("dry_run", reason=f"{why}: actions are described, never made")
    svc.detail["mode"] = "dry-run" if coordinator.dry_run else "live"
    svc.detail["clusters"] = ", ".join(clusters.names) or "none"
    svc.detail["playbooks"] = str(len(library.playbooks))
    for playbook in library.playbooks:  # a playbook that never ran reads 0, not nothing (the failure-rate rule)
        for state in ("succeeded", "failed"):
            metrics.REMEDIATIONS.labels(playbook.name, state)
    agents = AgentCoordinator(svc, api, guards, limits, switches, dry_run=coordinator.dry_run)
    ApprovalEndpoint(svc, runs).install()
    register(svc, coordinator, runs, agents)


def main() -> None:
    run_service("remediator", setup)
