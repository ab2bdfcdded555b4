"""Composes the notifier: settings -> channels -> dispatcher -> flow -> handlers, the daily digest, and the
optional push of every alert to the team's Alertmanager."""

from __future__ import annotations

import httpx

from healer_common.runtime import metrics
from healer_common.runtime.bus import Service, run_service
from healer_common.runtime.leadership import Leadership, elect
from healer_common.settings import NotifierSettings
from services.notifier.adapters.alertmanager import AlertmanagerPush
from services.notifier.adapters.digest_job import DigestJob
from services.notifier.adapters.dispatch import Dispatcher
from services.notifier.adapters.escalation_store import EscalationStore
from services.notifier.adapters.flow import NotifierFlow
from services.notifier.adapters.incident_book import IncidentBook
from services.notifier.adapters.journal import Journal
from services.notifier.adapters.sent_log import SentLog
from services.notifier.channels.catalogue import build_channels, channel_settings, ready_channels
from services.notifier.channels.kind import ChannelContext
from services.notifier.channels.pagerduty import PagerDutySettings
from services.notifier.channels.smtp import SmtpServer
from services.notifier.handlers import register, register_alertmanager

DIGEST_CHECK_S = 30.0


def _alertmanager(svc: Service, cfg: NotifierSettings, http: httpx.AsyncClient, timers: Leadership) -> None:
    if cfg.alertmanager_url is None:
        svc.detail["alertmanager"] = "off (set notifier.alertmanager_url)"
        return
    svc.detail["alertmanager"] = cfg.alertmanager_url
    push = AlertmanagerPush(
        cfg.alertmanager_url, http, redis=svc.redis, keys=svc.keys, clock=svc.clock, resend_s=cfg.alertmanager_resend_s
    )
    register_alertmanager(svc, push, cfg.alertmanager_resend_s, timers)


def _digest(svc: Service, cfg: NotifierSettings, journal: Journal, timers: Leadership) -> None:
    server = SmtpServer.from_settings(cfg)
    if server is None or not cfg.digest_to:
        svc.detail["digest"] = "off (set smtp_host and digest_to)"
        return
    job = DigestJob(
        journal,
        redis=svc.redis,
        keys=svc.keys,
        server=server,
        sender=cfg.digest_from,
        recipients=cfg.digest_to,
        at=cfg.digest_at,
    )
    svc.detail["digest"] = f"daily at {cfg.digest_at} UTC to {len(cfg.digest_to)} recipient(s)"

    @svc.every(DIGEST_CHECK_S)
    async def send_digest() -> None:
        if timers.leading and (mail := await job.tick(svc.clock.now(), timers.check)) is not None:
            await svc.audit("digest", "sent", target=",".join(cfg.digest_to), reason=mail.subject)


def setup(svc: Service) -> None:
    cfg = svc.settings.notifier
    ready = ready_channels(cfg)
    http = httpx.AsyncClient(timeout=cfg.timeout_s)
    svc.on_stop(http.aclose)
    channels = build_channels(ready, ChannelContext(svc, http, cfg.timeout_s))
    svc.detail["channels"] = ",".join(c.name for c in channels) or "none"
    for channel in channels:  # a channel that never failed says so (0), rather than saying nothing
        for outcome in ("delivered", "failed"):
            metrics.NOTIFICATIONS.labels(channel.name, outcome)
    deepest = max((len(policy.levels) for policy in cfg.escalations.values()), default=1)
    for level in range(1, deepest + 1):
        metrics.ESCALATIONS.labels(str(level))
    sent = SentLog(svc.redis, svc.keys)
    dispatcher = Dispatcher(channels, sent, policy=cfg.delivery, clock=svc.clock, audit=svc.audit, log=svc.log)
    journal = Journal(svc.redis, svc.keys)
    flow = NotifierFlow(
        svc,
        cfg=cfg,
        dispatcher=dispatcher,
        book=IncidentBook(svc.redis, svc.keys, svc.instance),
        escalations=EscalationStore(svc.redis, svc.keys),
        journal=journal,
        clock=svc.clock,
    )
    pagerduty = channel_settings(cfg)["pagerduty"]
    assert isinstance(pagerduty, PagerDutySettings)
    timers = elect(svc, "notifier/timers")  # escalations, the digest and the Alertmanager resend run in one place
    register(svc, flow, pagerduty.webhook_secret, timers)
    _digest(svc, cfg, journal, timers)
    _alertmanager(svc, cfg, http, timers)


def main() -> None:
    run_service("notifier", setup)
