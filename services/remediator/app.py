"""Composes the remediator: settings -> cluster client, guards, pending store -> coordinator -> handlers."""

from __future__ import annotations

from healer_common.bus import Service, run_service
from healer_common.kube import api_client
from services.remediator.coordinator import RemediationCoordinator, RemediationPolicy
from services.remediator.guards import GuardPolicy
from services.remediator.handlers import register
from services.remediator.pending import PendingVerifications


def setup(svc: Service) -> None:
    cfg = svc.settings.remediator
    api = api_client(svc.settings.cluster)
    policy = RemediationPolicy(
        dry_run=cfg.dry_run,
        verify_window_s=cfg.verify_window_s,
        memory_timeout_s=cfg.memory_timeout_s,
        guards=GuardPolicy(svc.settings.cluster.own_namespace, tuple(cfg.protected_name_prefixes), cfg.exclude_label),
    )
    coordinator = RemediationCoordinator(svc, api, policy, PendingVerifications(svc.redis, svc.keys))
    if coordinator.dry_run:
        why = "remediator.dry_run is set" if api is not None else "no cluster is configured"
        svc.log.warning("dry_run", reason=f"{why}: actions are described, never made")
    svc.detail["mode"] = "dry-run" if coordinator.dry_run else "live"
    register(svc, coordinator)


def main() -> None:
    run_service("remediator", setup)
