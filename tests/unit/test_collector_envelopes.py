"""What the collector puts on the bus: valid CloudEvents of the event contract, on
`healer.events.<source>.<kind>.<partition>`, each naming its cluster, everything about one object in one
partition; metric samples batched per partition; a change or a log line read twice stored once."""

from __future__ import annotations

import datetime as dt
import json

from healer_common.contract.events import EVENT_ADAPTER, ChangeData, LogData, MetricSample, ResourceRef
from healer_common.contract.partitions import partition_of
from healer_common.contract.subjects import SubjectSpace
from services.collector.envelopes import BATCH, envelopes
from services.collector.observations import ChangeRecord, Emission, LogRecord, observe

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
SPACE = SubjectSpace("healer")
PARTITIONS = 12
OBJECTS = (("Pod", "rex-1"), ("PersistentVolumeClaim", "data-0"))


def emission() -> Emission:
    condition = observe(
        "Pod", ("cto", "rex-1"), "OOMKilled", labels={"namespace": "cto", "pod": "rex-1"}, container="rex"
    )
    change = ChangeData(
        what="deploy", resource=ResourceRef(kind="Deployment", namespace="cto", name="api"), from_="v1", to="v2"
    )
    log = LogData(line="no such host", level="error", labels={"namespace": "cto"})
    pvc = {"namespace": "cto", "persistentvolumeclaim": "data-0"}
    samples = [MetricSample(name="pvc_usage_ratio", value=i / 10_000, labels=pvc) for i in range(BATCH + 1)]
    samples.append(MetricSample(name="memory_usage_ratio", value=0.5, labels={"namespace": "cto", "pod": "rex-1"}))
    return Emission(
        conditions=[condition],
        samples=samples,
        changes=[ChangeRecord(change, "Deployment/cto/api/deploy/v1->v2")],
        logs=[LogRecord(log, NOW, "loki/abc")],
    )


def test_every_emission_becomes_valid_cloudevents_naming_the_cluster_on_the_source_s_subjects() -> None:
    published = list(envelopes(SPACE, "prod-eu-1", "kubernetes", emission(), NOW, partitions=PARTITIONS))

    pod, volume = (partition_of(f"prod-eu-1/{kind}/cto/{name}", PARTITIONS) for kind, name in OBJECTS)
    logs_at = partition_of("prod-eu-1/namespace=cto", PARTITIONS)
    assert [e.subject for e in published if e.kind != "metrics"] == [
        f"healer.events.kubernetes.condition.{pod}",
        "healer.events.kubernetes.change",  # the detector's intake forwards it as a change
        f"healer.events.kubernetes.log.{logs_at}",
    ]
    metrics = [e.subject for e in published if e.kind == "metrics"]
    assert set(metrics) == {f"healer.events.kubernetes.metrics.{p}" for p in (pod, volume)}
    assert len(metrics) == (2 if pod == volume else 3), "at most BATCH samples a batch, batched per partition"
    events = [EVENT_ADAPTER.validate_json(e.body) for e in published]
    assert {e.cluster for e in events} == {"prod-eu-1"}
    assert len({e.headers["Nats-Msg-Id"] for e in published}) == len(published)
    assert json.loads(published[1].body)["data"]["from"] == "v1"
    samples = [len(json.loads(e.body)["data"]["samples"]) for e in published if e.kind == "metrics"]
    assert sum(samples) == BATCH + 2, "every sample once"


def test_a_pod_s_condition_and_its_series_share_a_partition() -> None:
    published = list(envelopes(SPACE, "prod-eu-1", "kubernetes", emission(), NOW, partitions=PARTITIONS))

    condition = next(e for e in published if e.kind == "condition")
    memory = [e for e in published if e.kind == "metrics" and b"memory_usage_ratio" in e.body]
    assert [m.subject.rsplit(".", 1)[1] for m in memory] == [condition.subject.rsplit(".", 1)[1]]


def test_a_change_or_a_line_read_twice_has_the_same_id_so_the_stream_keeps_one() -> None:
    first = {
        e.kind: e.headers["Nats-Msg-Id"]
        for e in envelopes(SPACE, "prod", "kubernetes", emission(), NOW, partitions=PARTITIONS)
    }
    second = {
        e.kind: e.headers["Nats-Msg-Id"]
        for e in envelopes(SPACE, "prod", "kubernetes", emission(), NOW, partitions=PARTITIONS)
    }

    assert first["change"] == second["change"]
    assert first["log"] == second["log"]
    assert first["condition"] != second["condition"], "a transition is new by construction; its id is its own"
