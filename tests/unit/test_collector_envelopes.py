"""What the collector puts on the bus: valid CloudEvents of the event contract, on `healer.events.<source>.<kind>`,
each naming its cluster; metric samples batched; a change or a log line read twice stored once."""

from __future__ import annotations

import datetime as dt
import json

from healer_common.contract.events import EVENT_ADAPTER, ChangeData, LogData, MetricSample, ResourceRef
from healer_common.contract.subjects import SubjectSpace
from services.collector.envelopes import BATCH, envelopes
from services.collector.observations import ChangeRecord, Emission, LogRecord, observe

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
SPACE = SubjectSpace("healer")


def emission() -> Emission:
    condition = observe(
        "Pod", ("cto", "rex-1"), "OOMKilled", labels={"namespace": "cto", "pod": "rex-1"}, container="rex"
    )
    change = ChangeData(
        what="deploy", resource=ResourceRef(kind="Deployment", namespace="cto", name="api"), from_="v1", to="v2"
    )
    log = LogData(line="no such host", level="error", labels={"namespace": "cto"})
    samples = [MetricSample(name="pvc_usage_ratio", value=i / 10_000, labels={"n": str(i)}) for i in range(BATCH + 1)]
    return Emission(
        conditions=[condition],
        samples=samples,
        changes=[ChangeRecord(change, "Deployment/cto/api/deploy/v1->v2")],
        logs=[LogRecord(log, NOW, "loki/abc")],
    )


def test_every_emission_becomes_valid_cloudevents_naming_the_cluster_on_the_source_s_subjects() -> None:
    published = list(envelopes(SPACE, "prod-eu-1", "kubernetes", emission(), NOW))

    assert [e.subject for e in published] == [
        "healer.events.kubernetes.condition",
        "healer.events.kubernetes.change",
        "healer.events.kubernetes.metrics",
        "healer.events.kubernetes.metrics",
        "healer.events.kubernetes.log",
    ]
    events = [EVENT_ADAPTER.validate_json(e.body) for e in published]
    assert {e.cluster for e in events} == {"prod-eu-1"}
    assert [e.type for e in events] == [
        "healer.condition.v1",
        "healer.change.v1",
        "healer.metrics.v1",
        "healer.metrics.v1",
        "healer.log.v1",
    ]
    assert len({e.headers["Nats-Msg-Id"] for e in published}) == len(published)
    assert json.loads(published[1].body)["data"]["from"] == "v1"
    assert [len(json.loads(e.body)["data"]["samples"]) for e in published[2:4]] == [BATCH, 1]


def test_a_change_or_a_line_read_twice_has_the_same_id_so_the_stream_keeps_one() -> None:
    first = {e.kind: e.headers["Nats-Msg-Id"] for e in envelopes(SPACE, "prod", "kubernetes", emission(), NOW)}
    second = {e.kind: e.headers["Nats-Msg-Id"] for e in envelopes(SPACE, "prod", "kubernetes", emission(), NOW)}

    assert first["change"] == second["change"]
    assert first["log"] == second["log"]
    assert first["condition"] != second["condition"], "a transition is new by construction; its id is its own"
