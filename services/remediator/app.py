"""Composes the remediator: settings -> cluster client, playbooks, Redis state, guards and limits -> the
coordinator -> handlers and the approvals endpoint.
"""

from __future__ import annotations

import httpx

from healer_common.errors import ConfigError
from healer_common.runtime.bus import Service, run_service
from healer_common.runtime.kube import api_client
from healer_common.settings import RemediatorSettings
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.adapters.admission import Admission
from services.remediator.adapters.approvals_http import ApprovalEndpoint
from services.remediator.adapters.coordinator import RemediationCoordinator
from services.remediator.adapters.execution import Execution
from services.remediator.adapters.learning import TrackRecord
from services.remediator.adapters.limit_store import LimitStore
from services.remediator.adapters.playbook_sources import PlaybookLibrary
from services.remediator.adapters.records import RecordWriter
from services.remediator.adapters.reporting import RunReporter
from services.remediator.adapters.runs import RunStore
from services.remediator.adapters.switches import Switches
from services.remediator.guards import GuardPolicy
from services.remediator.handlers import register


def check_action_names(cfg: RemediatorSettings) -> None:
    if unknown := sorted(set(cfg.approval_on_timeout) - set(CATALOGUE)):
        raise ConfigError(
            f"{', '.join(unknown)} is not an action type; known: {', '.join(sorted(CATALOGUE))}",
            field="remediator.approval_on_timeout",
        )


def setup(svc: Service) -> None:
    cfg, cluster = svc.settings.remediator, svc.settings.cluster
    check_action_names(cfg)
    api = api_client(cluster)
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
        api=api,
        library=library,
        execution=Execution(svc, api, http, guards, limits, switches),
        admission=Admission(cfg, guards, runs, limits, switches, svc.clock),
        runs=runs,
        track=TrackRecord(svc.redis, svc.keys),
        reporter=RunReporter(svc, RecordWriter(api, cluster.own_namespace) if api is not None else None),
    )
    svc.on_start(coordinator.reload)
    if coordinator.dry_run:
        why = "remediator.dry_run is set" if api is not None else "no cluster is configured"
        svc.log.warning("dry_run", reason=f"{why}: actions are described, never made")
    svc.detail["mode"] = "dry-run" if coordinator.dry_run else "live"
    svc.detail["playbooks"] = str(len(library.playbooks))
    ApprovalEndpoint(svc, runs).install()
    register(svc, coordinator)


def main() -> None:
    run_service("remediator", setup)
