"""Which playbook answers an incident: chosen by the primary (earliest) alert's id and its target's kind."""

from __future__ import annotations

import datetime as dt

import pytest

from healer_common.events import ResourceRef
from services.remediator.playbooks import BUILTIN, Action, Playbook, choose_playbook
from tests.unit.samples import T0, alert, incident, pod


@pytest.mark.parametrize("alert_id", ["H8", "A7", "A2"])
def test_a_failing_pod_is_answered_by_restarting_it(alert_id: str) -> None:
    playbook = choose_playbook(incident(alert(alert_id)))

    assert playbook is not None
    assert playbook.name == "restart-pod"
    assert [(a.type, a.safe) for a in playbook.actions] == [("restart_pod", True)]


def test_an_alert_no_playbook_covers_gets_none() -> None:
    assert choose_playbook(incident(alert("H3"))) is None


def test_a_matching_alert_on_another_kind_of_target_gets_none() -> None:
    on_node = alert("H8", resource=ResourceRef(kind="Node", name="n1"))

    assert choose_playbook(incident(on_node)) is None


def test_an_alert_without_a_target_gets_none() -> None:
    assert choose_playbook(incident(alert("H8").evolve(resource=None))) is None


def test_the_primary_alert_decides_not_the_others() -> None:
    first = alert("H3", resource=pod("cert-1"))
    second = alert("H8", resource=pod("rex-1"), starts_at=T0 + dt.timedelta(minutes=1))

    assert choose_playbook(incident(second, first)) is None
    assert choose_playbook(incident(first.evolve(starts_at=T0 + dt.timedelta(minutes=5)), second)) is not None


def test_the_first_matching_playbook_in_the_table_wins() -> None:
    gentle = Playbook("evict", frozenset({"H8"}), "Pod", (Action("evict_pod", safe=True),), "evict")
    table = (gentle, *BUILTIN)

    assert choose_playbook(incident(alert("H8")), table) is gentle
    assert choose_playbook(incident(alert("A7")), table) is BUILTIN[0]
