"""The daily digest: the day's incidents, remediations and how they ended, predictions that came true, and
when it is due.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import Alert
from healer_common.contract.incidents import AlertSummary
from services.notifier.digest import Day, compose, due_window, predictions
from tests.support.samples import T0, alert, incident, pod, remediation

END = T0.replace(hour=8)  # digest at 08:00 UTC covers 08:00 the day before to 08:00 today
START = END - dt.timedelta(days=1)


def summary(fired: Alert) -> AlertSummary:
    return incident(fired).alerts[0]


def predicted(alert_id: str, minutes: int, name: str = "rex-1") -> AlertSummary:
    fired = alert(alert_id, resource=pod(name), starts_at=START + dt.timedelta(minutes=minutes))
    return summary(fired.evolve(labels={**fired.labels, "predicted": "true"}))


def real(alert_id: str, minutes: int, name: str = "rex-1") -> AlertSummary:
    return summary(alert(alert_id, resource=pod(name), starts_at=START + dt.timedelta(minutes=minutes)))


def at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def test_the_digest_is_due_once_its_time_of_day_has_passed() -> None:
    assert due_window(END - dt.timedelta(seconds=1), "08:00") is None
    assert due_window(END + dt.timedelta(hours=3), "08:00") == (END.date(), START, END)


def test_the_digest_lists_the_days_incidents_and_how_each_ended() -> None:
    opened = incident(alert("H8", starts_at=at(60))).evolve(incident_id="inc-open", opened_at=at(60))
    healed = incident(alert("H4", starts_at=at(120))).evolve(
        incident_id="inc-healed", state="resolved", opened_at=at(120), resolved_at=at(135)
    )
    old = incident(alert("H1", starts_at=at(-120))).evolve(
        incident_id="inc-old", state="resolved", opened_at=at(-120), resolved_at=at(-60)
    )

    mail = compose(Day([opened, healed, old], [], [], []), START, END)

    assert mail.subject.startswith(f"Healer digest {END.date()}: 2 incident(s)")
    assert "Incidents (2, 1 resolved)" in mail.text
    assert "(inc-open, H8; open)" in mail.text
    assert "(inc-healed, H4; resolved after 15m)" in mail.text
    assert "inc-old" not in mail.text, "resolved before the window: yesterday's digest had it"
    assert "<li>" in mail.html
    assert "inc-healed" in mail.html


def test_the_digest_lists_remediations_with_their_outcome() -> None:
    run = remediation("succeeded").evolve(started_at=at(61), time=at(62))
    failed = remediation("failed").evolve(remediation_id="rem-2", started_at=at(90), time=at(91))

    mail = compose(Day([], [run, failed], [], []), START, END)

    assert "Remediations (2, 1 succeeded)" in mail.text
    assert "restart-pod on pod cto/rex-1: succeeded (inc-1)" in mail.text
    assert "restart-pod on pod cto/rex-1: failed (inc-1)" in mail.text


def test_a_prediction_came_true_when_the_real_alert_fired_on_the_same_resource_later() -> None:
    guesses = [predicted("H2", 10), predicted("H2", 20, name="rex-9")]
    fired = [real("H2", 40)]

    found = predictions(guesses, fired)

    assert [(p.alert.resource.name, p.came_true_by is not None) for p in found] == [("rex-1", True), ("rex-9", False)]  # type: ignore[union-attr]
    mail = compose(Day([], [], guesses, fired), START, END)
    assert "Predictions (2, 1 came true)" in mail.text
    assert "H2 predicted on pod cto/rex-1: came true 30m later (H2)" in mail.text
    assert "1 prediction(s) came true" in mail.subject


def test_a_memory_prediction_comes_true_by_any_alert_on_its_resource() -> None:
    assert predictions([predicted("H10", 5)], [real("H8", 50)])[0].came_true_by is not None
    assert predictions([predicted("H10", 5)], [real("H8", 50, name="tess-1")])[0].came_true_by is None


def test_an_alert_that_fired_before_the_prediction_does_not_fulfil_it() -> None:
    assert predictions([predicted("H2", 10)], [real("H2", 5)])[0].came_true_by is None
