"""Composes the notifier: settings -> channels -> dispatcher -> handlers."""

from __future__ import annotations

import httpx

from healer_common.bus import Service, run_service
from services.notifier.channels.console import ConsoleChannel
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.dispatch import Channel, Dispatcher
from services.notifier.handlers import register
from services.notifier.sent_log import SentLog


def setup(svc: Service) -> None:
    cfg = svc.settings.notifier
    http = httpx.AsyncClient(timeout=cfg.timeout_s)
    svc.on_stop(http.aclose)
    channels: list[Channel] = []
    if cfg.console:
        channels.append(ConsoleChannel())
    if cfg.webhook_url:
        secret = cfg.webhook_secret.get_secret_value() if cfg.webhook_secret else None
        channels.append(WebhookChannel(cfg.webhook_url, secret, http))
    svc.detail["channels"] = ",".join(c.name for c in channels) or "none"
    register(svc, Dispatcher(svc, channels, SentLog(svc.redis, svc.keys)))


def main() -> None:
    run_service("notifier", setup)
