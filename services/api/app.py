"""Composes the API: settings -> the alert view's follower -> reads (JetStream, Redis, memory-bridge) and
writes (the bus, Redis) -> the live feed -> routes, bus watches and the dashboard's files."""

from __future__ import annotations

from healer_common.contract.views import DashboardView
from healer_common.runtime.bus import Service, run_service
from services.api.adapters.alert_follow import AlertFollow
from services.api.adapters.live import LiveFeed
from services.api.adapters.reads import BusReads
from services.api.adapters.writes import Writes
from services.api.dashboard import compose
from services.api.handlers import register


def setup(svc: Service) -> None:
    follow = AlertFollow(svc)
    reads = BusReads(svc, follow)

    async def dashboard() -> DashboardView:
        return compose(await reads.observed(), svc.settings.api.recent_alerts)

    feed = LiveFeed(dashboard, svc.settings.api.refresh_s)

    async def start() -> None:
        svc.detail["dashboard"] = f"{svc.http.url}/"
        await follow.start()
        await feed.start()

    svc.on_start(start)
    svc.on_stop(feed.stop)
    svc.on_stop(follow.stop)
    register(svc, reads, Writes(svc, reads), feed)


def main() -> None:
    run_service("api", setup)
