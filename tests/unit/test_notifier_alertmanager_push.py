"""What the notifier posts to a team's Alertmanager: postable alerts as Prometheus sends them, firing ones
valid for four resend periods, resolved ones with their real end, and label names Alertmanager accepts."""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import linked
from services.notifier.alertmanager_push import label_name, postable
from tests.support.samples import T0, alert

NOW = T0 + dt.timedelta(minutes=5)


def test_a_firing_alert_is_posted_valid_for_four_resend_periods() -> None:
    firing = linked(alert("H8"), runbook_url="https://wiki/{alertname}", generator_url="healer://{alert_id}")

    body = postable(firing, NOW, resend_s=60)

    assert body["startsAt"] == "2026-01-05T09:00:00Z"
    assert body["endsAt"] == "2026-01-05T09:09:00Z"
    assert (body["labels"]["alertname"], body["labels"]["alert_id"]) == ("MemoryPressure", "H8")
    assert body["annotations"]["runbook_url"] == "https://wiki/MemoryPressure"
    assert body["generatorURL"] == "healer://H8"


def test_a_resolved_alert_is_posted_with_its_real_end() -> None:
    resolved = alert("H8").evolve(status="resolved", ends_at=T0 + dt.timedelta(minutes=2))

    assert postable(resolved, NOW, resend_s=60)["endsAt"] == "2026-01-05T09:02:00Z"


def test_label_names_alertmanager_refuses_are_written_as_it_accepts_and_empty_ones_left_out() -> None:
    labelled = alert("H8").evolve(
        labels={**alert("H8").labels, "task-id": "42", "app.kubernetes.io/name": "x", "team": ""}
    )

    labels = postable(labelled, NOW, resend_s=60)["labels"]

    assert labels["task_id"] == "42"
    assert labels["app_kubernetes_io_name"] == "x"
    assert "team" not in labels
    assert label_name("9lives") == "_9lives"
