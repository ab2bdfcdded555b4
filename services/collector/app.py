"""Composes the collector: settings -> HTTP ingest (and, per cluster, its sources) -> the bus."""

from __future__ import annotations

from healer_common.bus import Service, run_service
from services.collector.ingest import Ingest


def setup(svc: Service) -> None:
    Ingest(svc).install()
    svc.detail["ingest"] = "POST /events/{source}, POST /alertmanager"


def main() -> None:
    run_service("collector", setup)
