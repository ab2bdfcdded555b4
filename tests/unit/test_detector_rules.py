"""Every catalogue rule as an SRE meets it, with the embedded defaults and a manual clock: quiet while trouble
is younger than its hold, fires once it has held, resolves when trouble ends, and does not flap when trouble
comes and goes. Each case is one rule's trouble and its end, as the collector reports them.
"""

from __future__ import annotations

import pytest

from healer_common.contract.alerts import CATALOGUE, Alert
from tests.support.detector_cases import CASES, Case
from tests.support.detector_harness import Detector


def troubled_for(detector: Detector, case: Case, seconds: float) -> list[Alert]:
    """Trouble reported every 15 s (as a collector's scrape would) for `seconds`."""
    alerts = detector.report(case.trouble)
    elapsed = 0.0
    while elapsed < seconds:
        step = min(15.0, seconds - elapsed)
        alerts += detector.advance(step)
        elapsed += step
        if step == 15.0:
            alerts += detector.report(case.trouble)
    return alerts


def recovered_for(detector: Detector, case: Case, seconds: float) -> list[Alert]:
    alerts = detector.report(case.recovery)
    elapsed = 0.0
    while elapsed < seconds:
        alerts += detector.advance(min(15.0, seconds - elapsed))
        elapsed += 15.0
        alerts += detector.report(case.recovery)
    return alerts


def of(alerts: list[Alert], case: Case) -> list[tuple[str, str]]:
    return [(a.alert_id, a.status) for a in alerts if a.alert_id == case.alert_id]


@pytest.mark.parametrize("case", [c for c in CASES if c.hold_s > 0], ids=str)
def test_trouble_younger_than_its_hold_stays_quiet(case: Case) -> None:
    detector = Detector()

    alerts = troubled_for(detector, case, case.hold_s - 10)

    assert of(alerts, case) == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_trouble_that_holds_fires_one_alert_naming_its_evidence(case: Case) -> None:
    detector = Detector()

    alerts = troubled_for(detector, case, case.hold_s + 16)

    assert of(alerts, case) == [(case.alert_id, "firing")]
    (alert,) = alerts
    assert alert.evidence, "an alert names what raised it"
    assert alert.labels["alert_id"] == case.alert_id
    assert alert.labels["alertname"] == CATALOGUE[case.alert_id].alertname, "a readable alertname, e.g. MemoryPressure"
    assert alert.annotations["summary"].startswith(alert.name)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_recovery_resolves_the_alert_it_fired(case: Case) -> None:
    detector = Detector()
    (fired,) = troubled_for(detector, case, case.hold_s + 16)

    alerts = recovered_for(detector, case, case.resolve_s + 16)

    assert of(alerts, case) == [(case.alert_id, "resolved")]
    assert alerts[0].fingerprint == fired.fingerprint
    assert alerts[0].starts_at == fired.starts_at
    assert detector.firing() == {}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_trouble_that_comes_and_goes_does_not_flap(case: Case) -> None:
    detector = Detector()
    troubled_for(detector, case, case.hold_s + 16)
    easing = case.hover or case.recovery

    alerts: list[Alert] = []
    for _ in range(24):  # four minutes of trouble reported and eased every 5 s
        alerts += detector.report(easing) + detector.advance(5) + detector.report(case.trouble) + detector.advance(5)
    settled = len(alerts)
    for _ in range(12):
        alerts += detector.report(easing) + detector.advance(5) + detector.report(case.trouble) + detector.advance(5)

    assert len(of(alerts, case)) <= 2, of(alerts, case)  # at most one resolution and its re-fire
    assert alerts[settled:] == [], "then quiet, whichever way it settled"


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("pvc filling", "PVC usage 91 % (limit 80 %) for 1 minute"),
        ("certificate expiring", "expires in 5 days (limit 14 days)"),
        ("slow queries", "p99 query latency 4 s (limit 1 s) for 1 minute"),
        ("queue backlog", "queue depth 5,000 (limit 1,000) for 1 minute"),
    ],
)
def test_a_summary_says_values_in_their_units(name: str, said: str) -> None:
    case = next(c for c in CASES if c.name == name)

    (alert,) = troubled_for(Detector(), case, case.hold_s + 16)

    assert alert.annotations["summary"].endswith(said), alert.annotations["summary"]
    assert "e+" not in alert.annotations["summary"]
