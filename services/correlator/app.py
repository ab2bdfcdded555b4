"""Composes the correlator: settings -> grouping, timing, inhibition, ranking and size config -> Redis stores
and the per-cluster leases -> the Correlator -> handlers.
"""

from __future__ import annotations

import datetime as dt

from healer_common.runtime.bus import Service, run_service
from healer_common.runtime.leadership import Leases
from healer_common.runtime.silence_store import SilenceStore
from healer_common.settings import CorrelatorSettings
from services.correlator.adapters.change_store import ChangeStore
from services.correlator.adapters.correlation import Correlator, CorrelatorConfig, Stores
from services.correlator.adapters.incident_store import IncidentStore
from services.correlator.adapters.inhibitor_store import InhibitorStore
from services.correlator.adapters.link_store import LinkStore
from services.correlator.cooccurrence import LinkThresholds
from services.correlator.grouping import GroupingPolicy
from services.correlator.handlers import register
from services.correlator.notify_timing import NotifyTiming
from services.correlator.revision import Limits


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


def config_of(cfg: CorrelatorSettings) -> CorrelatorConfig:
    thresholds = LinkThresholds(
        cfg.cooccurrence_min_support, cfg.cooccurrence_min_confidence, cfg.cooccurrence_min_lift
    )
    return CorrelatorConfig(
        policy=GroupingPolicy(
            tuple(cfg.group_by), frozenset(cfg.topology), thresholds, _seconds(cfg.topology_window_s)
        ),
        timing=NotifyTiming(
            _seconds(cfg.group_wait_s), _seconds(cfg.group_interval_s), _seconds(cfg.repeat_interval_s)
        ),
        rules=list(cfg.inhibit_rules),
        thresholds=thresholds,
        change_window=_seconds(cfg.change_window_s),
        tick=_seconds(cfg.tick_s),
        limits=Limits(cfg.revision_alerts, cfg.revision_max_bytes, cfg.label_value_max),
    )


def setup(svc: Service) -> None:
    cfg = svc.settings.correlator
    redis, keys = svc.redis, svc.keys
    stores = Stores(
        incidents=IncidentStore(redis, keys),
        links=LinkStore(redis, keys, _seconds(cfg.cooccurrence_window_s)),
        changes=ChangeStore(redis, keys),
        inhibitors=InhibitorStore(redis, keys),
        silences=SilenceStore(redis, keys),
    )
    leases = Leases(redis, keys, svc.instance)
    correlator = Correlator(svc, config_of(cfg), stores, leases, cfg.lease_ttl_s)
    svc.on_start(correlator.on_start)
    register(svc, correlator)


def main() -> None:
    run_service("correlator", setup)
