"""Alerts in the shape Alertmanager users know (schema version 2), with the links people need, and the way
today's subscribers migrate: every reader accepts version 1, and `alerts.schema_version: 1` keeps publishing it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from healer_common.contract.alerts import CATALOGUE, Alert, linked
from healer_common.contract.codec import decode
from healer_common.errors import ConfigError, InvalidMessage
from healer_common.runtime.wire import on_the_wire
from healer_common.settings import AlertsSettings, load_settings
from tests.support.samples import T0, alert

RUNBOOK = "https://wiki.example.com/runbooks/{alertname}"
GENERATOR = "https://grafana.example.com/d/healer?var-cluster={cluster}&var-fp={fingerprint}"

V1 = {
    "schema_version": 1,
    "event_id": "1a3c79ffb2213766ba2ad4dba9784c23",
    "alert_id": "H8",
    "status": "firing",
    "severity": "critical",
    "fingerprint": "b665f93aa2432593",
    "cluster": "default",
    "namespace": "cto",
    "resource": {"kind": "Pod", "namespace": "cto", "name": "rex-1", "container": None},
    "labels": {"alertname": "H8", "severity": "critical", "cluster": "default", "namespace": "cto", "pod": "rex-1"},
    "annotations": {"summary": "memory pressure: pod cto/rex-1 reported OOMKilled"},
    "starts_at": "2026-11-25T09:00:00Z",
    "ends_at": None,
    "evidence": [],
    "generator": "detector",
    "correlation_id": "b665f93aa2432593",
    "time": "2026-11-25T09:00:00.120000Z",
}


def test_an_alert_is_published_in_alertmanagers_v2_shape_with_its_links() -> None:
    body, headers = on_the_wire(alert("H8"), AlertsSettings(runbook_url=RUNBOOK, generator_url=GENERATOR))
    sent = json.loads(body)

    assert sent["schema_version"] == 2
    assert sent["labels"]["alertname"] == "MemoryPressure"
    assert sent["labels"]["alert_id"] == "H8"
    assert sent["startsAt"] == T0.isoformat().replace("+00:00", "Z")
    assert sent["endsAt"] is None
    assert sent["annotations"]["runbook_url"] == "https://wiki.example.com/runbooks/MemoryPressure"
    assert sent["generatorURL"].startswith("https://grafana.example.com/d/healer?var-cluster=default&var-fp=")
    assert {"status", "fingerprint", "labels", "annotations"} <= set(sent)
    assert headers["Healer-Schema"] == "Alert.v2"


@pytest.mark.parametrize("alert_id", list(CATALOGUE))
def test_every_catalogue_alert_has_a_readable_alertname(alert_id: str) -> None:
    name = CATALOGUE[alert_id].alertname

    assert name.isidentifier()
    assert name[0].isupper()
    assert name != alert_id


def test_a_version_1_alert_is_read_as_version_2() -> None:
    read = decode(Alert, json.dumps(V1).encode())

    assert read.schema_version == 2
    assert (read.labels["alertname"], read.labels["alert_id"]) == ("MemoryPressure", "H8")
    assert read.starts_at == T0.replace(month=11, day=25, hour=9)
    assert read.fingerprint == V1["fingerprint"]


def test_version_1_is_published_while_subscribers_migrate_and_reads_back_the_same() -> None:
    original = alert("H8")

    body, headers = on_the_wire(original, AlertsSettings(schema_version=1))
    sent: dict[str, Any] = json.loads(body)

    assert headers["Healer-Schema"] == "Alert.v1"
    assert sent["schema_version"] == 1
    assert sent["labels"]["alertname"] == "H8", "version 1 subscribers match alertname on the catalogue id"
    assert "alert_id" not in sent["labels"]
    assert {"starts_at", "ends_at"} <= set(sent)
    assert not {"startsAt", "endsAt", "generatorURL"} & set(sent)
    assert set(sent) == set(V1), "exactly the fields a version 1 model (extra=forbid) accepts"
    assert decode(Alert, body).labels == original.labels, "read back, it is the version 2 alert again"


def test_an_external_alert_keeps_its_own_alertname_and_links() -> None:
    external = Alert(
        alert_id="EXT",
        status="firing",
        severity="warning",
        fingerprint="0123456789abcdef",
        cluster="default",
        labels={"alertname": "KubePodCrashLooping"},
        annotations={"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"},
        generator_url="http://prometheus:9090/graph?g0.expr=...",
        starts_at=T0,
    )

    sent = linked(external, runbook_url=RUNBOOK, generator_url=GENERATOR)

    assert sent.labels["alertname"] == "KubePodCrashLooping"
    assert sent.labels["alert_id"] == "EXT"
    assert sent.annotations["runbook_url"].startswith("https://runbooks.prometheus-operator.dev")
    assert sent.generator_url == "http://prometheus:9090/graph?g0.expr=..."
    assert sent.as_v1()["labels"]["alertname"] == "KubePodCrashLooping"


def test_a_link_template_with_an_unknown_field_is_refused_at_load() -> None:
    with pytest.raises(ConfigError, match=r"alerts.runbook_url: .*uses 'alert'; the fields are alert_id, alertname"):
        load_settings(alerts={"runbook_url": "https://wiki/{alert}"})


def test_an_alert_of_an_unknown_schema_version_is_refused_naming_it() -> None:
    with pytest.raises(InvalidMessage, match="schema_version: Input should be 2"):
        decode(Alert, json.dumps({**V1, "schema_version": 3}).encode())
