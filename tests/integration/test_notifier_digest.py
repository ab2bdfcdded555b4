"""The daily digest by e-mail: the notifier journals what it hears on the bus, and the day's digest, sent over
SMTP to a local aiosmtpd server, lists the day's incidents, remediations and outcomes, once per day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.message
import email.policy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from healer_common.contract.streams import NOTIFIER_INCIDENTS, NOTIFIER_REMEDIATIONS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.testing import ServiceRunner, consumer_drained, eventually
from services.notifier.adapters.digest_job import DigestJob
from services.notifier.adapters.journal import Journal
from services.notifier.channels.smtp import SmtpServer
from tests.support.samples import T0, alert, incident, pod, remediation

pytestmark = pytest.mark.integration
DIGEST_TIME = (T0 + dt.timedelta(days=1)).replace(hour=8, minute=30)  # the digest of Jan 5 08:00 .. Jan 6 08:00


class Mailbox:
    """An aiosmtpd handler that keeps what it was sent."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, hostname="healer-test"), "127.0.0.1", 0)
    yield mailbox, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


async def publish_the_day(bus: BusClient) -> None:
    oom = incident(alert("H8", resource=pod("rex-1"), starts_at=at(0)))
    await bus.publish(oom.evolve(incident_id="inc-oom", title="memory pressure: pod cto/rex-1 OOMKilled"))
    pull = incident(alert("H4", severity="warning", resource=pod("cleo-2"), starts_at=at(60)))
    pull = pull.evolve(incident_id="inc-pull", title="image pull failures: pod cto/cleo-2", opened_at=at(60))
    await bus.publish(pull)
    await bus.publish(pull.evolve(state="resolved", revision=2, resolved_at=at(75), time=at(75), event_id="pull-2"))
    old = incident(alert("H1", starts_at=at(-3000))).evolve(incident_id="inc-old", opened_at=at(-3000), time=at(-3000))
    await bus.publish(old.evolve(title="ArgoCD sync drift, two days ago"))
    await bus.publish(remediation("succeeded").evolve(incident_id="inc-oom", started_at=at(1), time=at(2)))


async def test_the_daily_digest_lists_the_days_incidents_and_remediations_once(
    services: ServiceRunner, bus: BusClient, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    services.start("notifier")
    await services.wait_running("notifier")
    await publish_the_day(bus)
    await eventually(lambda: consumer_drained(bus, NOTIFIER_INCIDENTS), what="incidents journaled")
    await eventually(lambda: consumer_drained(bus, NOTIFIER_REMEDIATIONS), what="remediations journaled")

    redis = connect_redis(services.settings)
    keys = KeySpace(services.settings.redis.key_prefix)
    server = SmtpServer("127.0.0.1", port, "none", None, None, 10.0)
    job = DigestJob(
        Journal(redis, keys), redis=redis, keys=keys, server=server, sender="healer@example.com",
        recipients=["sre@example.com"], at="08:00",
    )  # fmt: skip
    try:
        assert await job.tick(DIGEST_TIME - dt.timedelta(hours=1)) is None, "not due before 08:00"
        sent = await job.tick(DIGEST_TIME)
        again = await job.tick(DIGEST_TIME + dt.timedelta(hours=2))
    finally:
        await redis.aclose()

    assert sent is not None
    assert again is None, "one digest a day"
    (mail,) = mailbox.messages
    assert mailbox.recipients == [["sre@example.com"]]
    assert mail["Subject"] == "Healer digest 2026-01-06: 2 incident(s), 1 remediation(s), 0 prediction(s) came true"
    text = _part(mail, "text/plain")
    assert "memory pressure: pod cto/rex-1 OOMKilled (inc-oom, H8; open)" in text
    assert "image pull failures: pod cto/cleo-2 (inc-pull, H4; resolved after 15m)" in text
    assert "restart-pod on pod cto/rex-1: succeeded (inc-oom)" in text
    assert "inc-old" not in text
    assert "inc-pull" in _part(mail, "text/html")


def _part(mail: email.message.EmailMessage, kind: str) -> str:
    body: Any = mail.get_body(preferencelist=(kind.split("/")[1],))
    assert body is not None, f"no {kind} part"
    return str(body.get_content())
