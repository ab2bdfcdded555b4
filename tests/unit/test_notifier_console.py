"""The console channel of the embedded default: one readable line per notification."""

from __future__ import annotations

import io

import pytest

from healer_common.contract.alerts import Severity
from services.notifier.channels.console import ConsoleChannel
from services.notifier.render import for_incident, for_remediation
from tests.support.samples import incident, remediation


async def test_a_notification_is_one_line_with_time_mark_title_and_text() -> None:
    out = io.StringIO()
    notification = for_incident(incident())

    await ConsoleChannel(out).send(notification)

    assert out.getvalue() == f"09:00:00 !! {notification.title} — {notification.text}\n"


@pytest.mark.parametrize(("severity", "mark"), [("critical", "!!"), ("warning", "! "), ("info", "  ")])
async def test_the_mark_shows_the_severity(severity: Severity, mark: str) -> None:
    out = io.StringIO()

    await ConsoleChannel(out).send(for_remediation(remediation()).evolve(severity=severity))

    assert out.getvalue()[9:11] == mark


async def test_each_notification_gets_its_own_line() -> None:
    out = io.StringIO()
    channel = ConsoleChannel(out)

    await channel.send(for_incident(incident()))
    await channel.send(for_remediation(remediation()))

    assert len(out.getvalue().splitlines()) == 2


async def test_the_console_writes_to_standard_output_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    await ConsoleChannel().send(for_remediation(remediation()))

    assert "Remediation restart-pod on pod cto/rex-1 succeeded" in capsys.readouterr().out
