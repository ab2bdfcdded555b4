"""Which playbook answers an incident, and params filled in from the incident."""

from __future__ import annotations

import datetime as dt

import pytest

from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.adapters.playbook_sources import builtin_playbooks
from services.remediator.matching import TemplateError, choose_playbook, render_params
from services.remediator.playbooks import Playbook, compile_playbook
from tests.support.samples import T0, alert, incident, pod

BUILTIN = builtin_playbooks(CATALOGUE)


def custom(name: str, trigger: dict[str, object], priority: int = 0) -> Playbook:
    document = {
        "apiVersion": "healer.platform/v1",
        "kind": "RemediationPlaybook",
        "metadata": {"name": name},
        "spec": {"priority": priority, "trigger": trigger, "actions": [{"type": "notify"}]},
    }
    return compile_playbook(document, CATALOGUE, "test")


@pytest.mark.parametrize(
    ("alert_id", "kind", "expected"),
    [
        ("H8", "Pod", "oom-restart-then-scale"),
        ("H8", "Node", "node-memory-pressure"),
        ("A7", "Pod", "failing-pod-restart"),
        ("H1", "Application", "argocd-drift-resync"),
        ("H2", "PersistentVolumeClaim", "pvc-cleanup"),
        ("H3", "Secret", "certificate-renewed-restart"),
        ("H3", "Certificate", "certificate-expiring"),
        ("H4", "Pod", "bad-image-rollback"),
        ("H7", "Deployment", "queue-backlog-scale"),
    ],
)
def test_the_builtin_playbook_for_each_kind_of_incident(alert_id: str, kind: str, expected: str) -> None:
    target = ResourceRef(kind=kind, namespace=None if kind == "Node" else "cto", name="x-1")

    chosen = choose_playbook(incident(alert(alert_id, resource=target)), BUILTIN)

    assert chosen is not None
    assert chosen.name == expected


def test_an_incident_on_a_kind_no_playbook_acts_on_gets_none() -> None:
    assert choose_playbook(incident(alert("H1", resource=pod())), BUILTIN) is None


def test_the_primary_alert_decides_not_the_others() -> None:
    first = alert("H4", resource=pod("web-1"))
    later = alert("H8", resource=pod("rex-1"), starts_at=T0 + dt.timedelta(minutes=1))

    chosen = choose_playbook(incident(later, first), BUILTIN)

    assert chosen is not None
    assert chosen.name == "bad-image-rollback"


def test_a_higher_priority_wins_and_on_a_tie_the_earlier_source_wins() -> None:
    low, high, tie = (
        custom("low", {"alerts": ["H8"]}),
        custom("high", {"alerts": ["H8"]}, 20),
        custom("tie", {"alerts": ["H8"]}, 20),
    )

    assert choose_playbook(incident(alert("H8")), [low, *BUILTIN]) == BUILTIN[0]
    assert choose_playbook(incident(alert("H8")), [high, tie, *BUILTIN]) == high


def test_label_and_metric_conditions_must_all_hold() -> None:
    hot = custom(
        "hot",
        {
            "alerts": ["H2"],
            "labels": {"tier": "db"},
            "conditions": [{"metric": "usage_percent", "operator": ">=", "value": 90}],
        },
    )
    base = alert("H2")

    def with_labels(**labels: str) -> Incident:
        return incident(base.evolve(labels={**base.labels, **labels}))

    assert choose_playbook(with_labels(tier="db", usage_percent="93"), [hot]) is hot
    assert choose_playbook(with_labels(tier="db", usage_percent="85"), [hot]) is None
    assert choose_playbook(with_labels(tier="web", usage_percent="93"), [hot]) is None
    assert choose_playbook(with_labels(tier="db", usage_percent="lots"), [hot]) is None


def test_a_severity_floor_ignores_milder_alerts() -> None:
    critical_only = custom("critical-only", {"alerts": ["H8"], "severity": "critical"})

    assert choose_playbook(incident(alert("H8", severity="warning")), [critical_only]) is None
    assert choose_playbook(incident(alert("H8", severity="critical")), [critical_only]) is critical_only


def test_params_are_filled_from_the_incident() -> None:
    params = {
        "database": "{labels.database}",
        "message": "{title} on {target.namespace}/{target.name} ({alert})",
        "by": 2,
    }

    rendered = render_params(params, title="DB slow", alert="H6", target=pod(), labels={"database": "orders"})

    assert rendered == {"database": "orders", "message": "DB slow on cto/rex-1 (H6)", "by": 2}


def test_a_param_naming_a_label_the_alert_lacks_is_an_error() -> None:
    with pytest.raises(TemplateError, match=r"\{labels.database\} names nothing this incident has"):
        render_params({"database": "{labels.database}"}, title="t", alert="H6", target=pod(), labels={"pod": "x"})
