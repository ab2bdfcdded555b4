"""Composes the correlator: settings -> grouping policy and incident store -> handlers."""

from __future__ import annotations

from healer_common.bus import Service, run_service
from services.correlator.grouping import GroupingPolicy
from services.correlator.handlers import register
from services.correlator.incident_store import IncidentStore


def setup(svc: Service) -> None:
    policy = GroupingPolicy(group_by=tuple(svc.settings.correlator.group_by))
    register(svc, policy, IncidentStore(svc.redis, svc.keys))


def main() -> None:
    run_service("correlator", setup)
