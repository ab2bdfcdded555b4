"""`healer silence` refuses what it cannot mean before touching any server, saying what is wrong."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from healer_cli.main import app
from healer_cli.silence import new_silence
from tests.support.samples import T0


def test_a_silence_is_built_from_what_the_user_typed() -> None:
    silence = new_silence(['node="worker-3"', "alertname=~H.*"], "1h30m", "kernel upgrade", "ana", T0)

    assert silence.ends_at - silence.starts_at == dt.timedelta(minutes=90)
    assert silence.matches({"node": "worker-3", "alertname": "MemoryPressure", "alert_id": "H8"})
    assert not silence.matches({"node": "worker-4", "alertname": "MemoryPressure", "alert_id": "H8"})
    assert silence.describe() == 'node="worker-3" alert_id=~"H.*" by ana: kernel upgrade', "ids live in alert_id"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--duration", "2x", "--reason", "r", "node=n1"], "'2x' is not a duration"),
        (["--duration", "2h", "--reason", "r", "node~n1"], "bad matcher 'node~n1'"),
        (["add", "--duration", "2h", "--reason", "r", 'pod=~"("'], "is not a valid regular expression"),
    ],
)
def test_a_bad_duration_or_matcher_is_refused_with_the_reason(args: list[str], complaint: str) -> None:
    result = CliRunner().invoke(app, ["silence", *args])

    assert result.exit_code == 2
    assert complaint in result.output


def test_a_silence_needs_a_reason() -> None:
    result = CliRunner().invoke(app, ["silence", "--duration", "2h", "node=n1"])

    assert result.exit_code == 2
    assert "--reason" in result.output


def test_a_silence_without_matchers_is_a_maintenance_window_over_everything() -> None:
    window = new_silence([], "2h", "scheduled maintenance", "ana", T0)
    in_cto = new_silence([], "2h", "cto upgrade", "ana", T0, namespace="cto")
    mute_only = new_silence(["alert_id=H0"], "2h", "noisy", "ana", T0, hold_remediation=False)

    assert window.matches({"alertname": "H8", "namespace": "payments"})
    assert window.hold_remediation
    assert window.describe() == "everything by ana: scheduled maintenance"
    assert in_cto.matches({"namespace": "cto"})
    assert not in_cto.matches({"namespace": "payments"})
    assert mute_only.describe() == 'alert_id="H0" (notifications only; healing goes on) by ana: noisy'
