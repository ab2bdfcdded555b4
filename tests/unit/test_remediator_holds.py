"""Maintenance windows hold the remediator: which silence or inhibition holds an action, and when it stops."""

from __future__ import annotations

import datetime as dt

from healer_cli.silence import new_silence
from services.remediator.holds import hold_reason
from tests.support.samples import T0

POD = {"alertname": "H8", "namespace": "cto", "pod": "rex-1", "cluster": "default"}


def test_a_silence_that_holds_remediation_holds_what_it_matches_until_it_ends() -> None:
    window = new_silence([], "2h", "scheduled maintenance", "ana", T0)
    during, after = T0 + dt.timedelta(minutes=30), T0 + dt.timedelta(hours=2)

    reason = hold_reason([window], POD, [], during)

    assert reason == f"held by silence {window.silence_id}: scheduled maintenance (until {after:%Y-%m-%d %H:%M:%S} UTC)"
    assert hold_reason([window], POD, [], after) is None


def test_a_notify_only_silence_or_one_elsewhere_holds_nothing() -> None:
    mute = new_silence([], "2h", "noisy", "ana", T0, hold_remediation=False)
    elsewhere = new_silence([], "2h", "payments upgrade", "ana", T0, namespace="payments")

    assert hold_reason([mute, elsewhere], POD, [], T0 + dt.timedelta(minutes=1)) is None


def test_the_longest_holding_silence_is_named_and_an_inhibition_holds_too() -> None:
    short = new_silence(["pod=rex-1"], "10m", "restarting the node", "ana", T0)
    long = new_silence(["namespace=cto"], "1h", "cto upgrade", "bo", T0)
    now = T0 + dt.timedelta(minutes=1)

    assert str(hold_reason([short, long], POD, [], now)).startswith(f"held by silence {long.silence_id}: cto upgrade")
    assert hold_reason([], POD, ["node NotReady mutes its pods: fp1"], now) == (
        "held by inhibition node NotReady mutes its pods: fp1: its source alert is firing"
    )
