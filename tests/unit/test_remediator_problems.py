"""One incident, several problems: an OOM loop and a bad image grouped under one Argo CD Application are two
problems, each answered by its own playbook and verified by its own alerts; a down node's muted pods wait for
their node; a pod's successor stays the same problem."""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import CATALOGUE as CATALOGUE_IDS
from healer_common.contract.alerts import Alert
from healer_common.contract.incidents import AlertSummary
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.adapters.playbook_sources import builtin_playbooks
from services.remediator.problems import problem_key, problem_view, problems
from tests.support.samples import T0, alert, incident, pod

BUILTIN = builtin_playbooks(CATALOGUE)


def of(alert_id: str, name: str, deployment: str, *, at: float = 0.0, status: str = "firing") -> Alert:
    severity = CATALOGUE_IDS[alert_id].severity  # H4 is a warning, H8 critical, as the detector raises them
    fired = alert(alert_id, resource=pod(name), starts_at=T0 + dt.timedelta(seconds=at), severity=severity)
    labels = {**fired.labels, "deployment": deployment, "application": "cto-agents"}
    return fired.evolve(labels=labels, status=status, fingerprint=f"{alert_id}-{name}-fp")


def test_an_oom_loop_and_a_bad_image_in_one_incident_each_get_their_own_playbook() -> None:
    both = incident(of("H4", "cleo-api-1", "cleo-api"), of("H8", "rex-worker-1", "rex-worker", at=30))

    found = problems(both, BUILTIN, T0 + dt.timedelta(minutes=1))

    assert [(p.key, p.playbook.name if p.playbook else None) for p in found] == [
        ("deployment/cto/rex-worker", "oom-restart-then-scale"),  # critical first
        ("deployment/cto/cleo-api", "bad-image-rollback"),
    ]


def test_each_run_sees_only_its_problem_resolved_when_its_own_alerts_are() -> None:
    rex = of("H8", "rex-worker-1", "rex-worker", at=30, status="resolved")
    both = incident(of("H4", "cleo-api-1", "cleo-api"), rex)

    view = problem_view(both, "deployment/cto/rex-worker")

    assert [a.alert_id for a in view.alerts] == ["H8"]
    assert view.state == "resolved", "the OOM loop healed, though the image still fails"
    assert problem_view(both, "deployment/cto/cleo-api").state == "opened"


def test_a_down_nodes_muted_pods_start_nothing_and_a_successor_pod_is_the_same_problem() -> None:
    first, successor = alert("H8", resource=pod("rex-1abc-x1")), alert("H8", resource=pod("rex-1abc-x9"))
    muted = AlertSummary.model_validate(
        {**incident(of("A2", "batch-1", "batch-runner")).alerts[0].model_dump(), "inhibited_by": ["node down: x"]}
    )
    held = incident(first, successor).model_copy(update={"alerts": [*incident(first, successor).alerts, muted]})

    found = problems(held, BUILTIN, T0)

    assert problem_key(held.alerts[0]) == problem_key(held.alerts[1]) == "pods/H8/cto"
    assert [p.key for p in found] == ["pods/H8/cto"], "the muted batch pod waits for its node"


def test_an_oom_killed_pod_in_crashloopbackoff_from_the_same_second_is_answered_as_an_oom_loop() -> None:
    """The kubelet reports the OOM kill and the back-off in one status: both alerts start in the same second,
    the crash loop's first by fingerprint. The OOM's playbook answers; the crash loop's restart would have
    put the Deployment in cooldown and left the OOM loop unanswered."""
    oom = of("H8", "rex-worker-1", "rex-worker")
    crashing = of("A7", "rex-worker-1", "rex-worker")
    crashing = crashing.evolve(severity="warning", labels={**crashing.labels, "restarts": "1", "severity": "warning"})
    loop = incident(crashing, oom)
    assert loop.alerts[0].alert_id == "A7", "the tie the test is about: the crash loop sorts first"

    found = problems(loop, BUILTIN, T0 + dt.timedelta(seconds=1))

    assert [(p.key, p.primary.alert_id, p.playbook.name if p.playbook else None) for p in found] == [
        ("deployment/cto/rex-worker", "H8", "oom-restart-then-scale")
    ]
    alone = problems(incident(crashing), BUILTIN, T0 + dt.timedelta(seconds=1))
    assert [p.playbook.name if p.playbook else None for p in alone] == ["crashloop-restart"]
