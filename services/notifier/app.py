"""Composes the notifier: settings -> channels -> dispatcher -> flow -> handlers, and the daily digest."""

from __future__ import annotations

import aiohttp
import httpx

from healer_common.runtime import metrics
from healer_common.runtime.bus import Service, run_service
from healer_common.settings import NotifierSettings
from services.notifier.adapters.digest_job import DigestJob
from services.notifier.adapters.dispatch import Channel, Dispatcher
from services.notifier.adapters.escalation_store import EscalationStore
from services.notifier.adapters.flow import NotifierFlow
from services.notifier.adapters.incident_book import IncidentBook
from services.notifier.adapters.journal import Journal
from services.notifier.adapters.sent_log import SentLog
from services.notifier.channels.console import ConsoleChannel
from services.notifier.channels.github import GitHubChannel, github_http
from services.notifier.channels.pagerduty import PagerDutyChannel
from services.notifier.channels.slack import SlackChannel, slack_client
from services.notifier.channels.slack_roots import SlackRoots
from services.notifier.channels.slack_webhook import SlackWebhookChannel
from services.notifier.channels.smtp import SmtpServer
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.handlers import register

DIGEST_CHECK_S = 30.0


def _channels(svc: Service, cfg: NotifierSettings) -> list[Channel]:
    """The configured channels, in the order every notification tries them."""
    http = httpx.AsyncClient(timeout=cfg.timeout_s)
    svc.on_stop(http.aclose)
    channels: list[Channel] = [ConsoleChannel()] if cfg.console else []
    if cfg.webhook_url:
        secret = cfg.webhook_secret.get_secret_value() if cfg.webhook_secret else None
        channels.append(WebhookChannel(cfg.webhook_url, secret, http))
    if cfg.slack_token:
        session = aiohttp.ClientSession()
        svc.on_stop(session.close)
        client = slack_client(cfg.slack_token.get_secret_value(), cfg.slack_api_url, session, cfg.timeout_s)
        channels.append(SlackChannel(client, cfg.slack_channel, SlackRoots(svc.redis, svc.keys)))
    elif cfg.slack_webhook_url:
        svc.log.warning("slack_without_threads", why="only an incoming webhook is set (no slack_token)")
        channels.append(SlackWebhookChannel(cfg.slack_webhook_url.get_secret_value(), http))
    if cfg.pagerduty_routing_key:
        key = cfg.pagerduty_routing_key.get_secret_value()
        channels.append(PagerDutyChannel(cfg.pagerduty_events_url, key, http))
    if cfg.github_token and cfg.github_repo:
        github = github_http(cfg.github_api_url, cfg.github_token.get_secret_value(), cfg.timeout_s)
        svc.on_stop(github.aclose)
        channels.append(
            GitHubChannel(
                github,
                cfg.github_repo,
                redis=svc.redis,
                keys=svc.keys,
                clock=svc.clock,
                family_window_s=cfg.github_family_window_s,
            )
        )
    return channels


def _digest(svc: Service, cfg: NotifierSettings, journal: Journal) -> None:
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
        if (mail := await job.tick(svc.clock.now())) is not None:
            await svc.audit("digest", "sent", target=",".join(cfg.digest_to), reason=mail.subject)


def setup(svc: Service) -> None:
    cfg = svc.settings.notifier
    channels = _channels(svc, cfg)
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
        book=IncidentBook(svc.redis, svc.keys),
        escalations=EscalationStore(svc.redis, svc.keys),
        journal=journal,
        clock=svc.clock,
    )
    register(svc, flow)
    _digest(svc, cfg, journal)


def main() -> None:
    run_service("notifier", setup)
