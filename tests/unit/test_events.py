"""The CloudEvents contract of `healer.events.>`: what a user's system may send, and what it is told when wrong."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter

from healer_common.contract.codec import decode, encode
from healer_common.contract.events import (
    DEFAULT_CLUSTER,
    EVENT_ADAPTER,
    EVENT_TYPES,
    AlertmanagerWebhook,
    ChangeEvent,
    ConditionEvent,
    LogEvent,
    MetricBatchEvent,
    MetricEvent,
)
from healer_common.errors import InvalidMessage
from tests.support.samples import T0, cloudevent

RESOURCE = {"kind": "Pod", "namespace": "cto", "name": "rex-1"}
VALID_EXAMPLES: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "healer.metric.v1": (MetricEvent, {"name": "container_memory_working_set_bytes", "value": 5.1e8}),
    "healer.metrics.v1": (
        MetricBatchEvent,
        {
            "samples": [
                {"name": "node_cpu_ratio", "value": 0.93, "labels": {"node": "n1"}},
                {"name": "node_cpu_ratio", "value": 0.4, "labels": {"node": "n2"}, "time": "2026-01-05T08:59:00Z"},
            ]
        },
    ),
    "healer.log.v1": (LogEvent, {"line": "panic: runtime error", "level": "error", "labels": {"app": "rex"}}),
    "healer.condition.v1": (ConditionEvent, {"resource": RESOURCE, "reason": "OOMKilled", "message": "limit 512Mi"}),
    "healer.change.v1": (
        ChangeEvent,
        {"what": "deploy", "resource": {"kind": "Deployment", "namespace": "cto", "name": "rex"}, "from": "v1"},
    ),
}


def parse(body: dict[str, Any]) -> Any:
    return decode(EVENT_ADAPTER, json.dumps(body).encode())


def rejection(body: dict[str, Any]) -> str:
    with pytest.raises(InvalidMessage) as caught:
        parse(body)
    return str(caught.value)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_documented_event_type_parses_into_its_own_model(event_type: str) -> None:
    model, data = VALID_EXAMPLES[event_type]

    event = parse(cloudevent(event_type, data))

    assert isinstance(event, model)
    assert event.type == event_type
    assert event.time == T0


def test_the_examples_cover_every_event_type() -> None:
    assert set(VALID_EXAMPLES) == set(EVENT_TYPES)


def test_a_change_event_reads_from_and_writes_from_under_its_json_name() -> None:
    body = cloudevent("healer.change.v1", {"what": "deploy", "resource": RESOURCE, "from": "rex:1.4", "to": "rex:1.5"})

    event = parse(body)

    assert event.data.from_ == "rex:1.4"
    assert event.data.to == "rex:1.5"
    written = json.loads(encode(event))["data"]
    assert written["from"] == "rex:1.4"
    assert "from_" not in written


def test_a_change_of_an_unknown_kind_is_rejected() -> None:
    reason = rejection(cloudevent("healer.change.v1", {"what": "reboot", "resource": RESOURCE}))

    assert "data.what" in reason


def test_an_event_without_a_cluster_belongs_to_the_default_cluster() -> None:
    event = parse(cloudevent("healer.log.v1", {"line": "hello"}))

    assert event.cluster == DEFAULT_CLUSTER == "default"


def test_an_event_keeps_the_cluster_it_names() -> None:
    event = parse(cloudevent("healer.log.v1", {"line": "hello"}, cluster="prod-eu-1"))

    assert event.cluster == "prod-eu-1"


@pytest.mark.parametrize("cluster", ["", "Prod", "prod_eu", "-prod", "prod-", "prod.eu", "x" * 64])
def test_a_cluster_name_that_is_not_a_dns_label_is_rejected(cluster: str) -> None:
    reason = rejection(cloudevent("healer.log.v1", {"line": "hello"}, cluster=cluster))

    assert "cluster" in reason


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("partitionkey", "rex-1"),
        ("retries", 3),
        ("sampled", True),
        ("x" * 20, "twenty characters is the limit"),
    ],
)
def test_a_cloudevents_extension_with_a_valid_name_and_scalar_value_is_kept(name: str, value: Any) -> None:
    event = parse(cloudevent("healer.log.v1", {"line": "hello"}, **{name: value}))

    assert event.model_extra == {name: value}
    assert json.loads(encode(event))[name] == value


@pytest.mark.parametrize("name", ["TraceParent", "trace_parent", "trace-parent", "x" * 21])
def test_an_extension_with_a_bad_name_is_rejected_with_the_naming_rule(name: str) -> None:
    reason = rejection(cloudevent("healer.log.v1", {"line": "hello"}, **{name: "v"}))

    assert repr(name) in reason
    assert "lowercase letters and digits, at most 20 characters" in reason


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], 1.5, None])
def test_an_extension_with_a_non_scalar_value_is_rejected(value: Any) -> None:
    reason = rejection(cloudevent("healer.log.v1", {"line": "hello"}, myext=value))

    assert "extension attribute 'myext' must be a string, integer or boolean" in reason


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_a_metric_value_that_is_not_finite_is_rejected(raw: str) -> None:
    body = json.dumps(cloudevent("healer.metric.v1", {"name": "up", "value": 0})).replace(
        '"value": 0', f'"value": {raw}'
    )

    with pytest.raises(InvalidMessage, match=r"data\.value: .*must be a finite number"):
        decode(EVENT_ADAPTER, body.encode())


def test_a_non_finite_sample_inside_a_batch_is_rejected_with_its_position() -> None:
    samples = [{"name": "up", "value": 1}, {"name": "up", "value": "nan"}]

    reason = rejection(cloudevent("healer.metrics.v1", {"samples": samples}))

    assert "data.samples.1.value" in reason
    assert "finite" in reason


def test_an_empty_metric_batch_is_rejected() -> None:
    reason = rejection(cloudevent("healer.metrics.v1", {"samples": []}))

    assert "data.samples" in reason


def test_an_unknown_event_type_is_rejected_naming_the_allowed_types() -> None:
    reason = rejection(cloudevent("healer.metric.v2", {"name": "up", "value": 1}))

    assert "'healer.metric.v2'" in reason
    for allowed in EVENT_TYPES:
        assert repr(allowed) in reason


def test_an_event_of_another_cloudevents_version_is_rejected() -> None:
    reason = rejection(cloudevent("healer.log.v1", {"line": "x"}, specversion="0.3"))

    assert "specversion" in reason


def test_an_event_with_a_time_without_a_timezone_is_rejected() -> None:
    reason = rejection(cloudevent("healer.log.v1", {"line": "x"}, time="2026-01-05T09:00:00"))

    assert "time" in reason
    assert "timezone" in reason


def test_an_unknown_field_inside_data_is_rejected_rather_than_ignored() -> None:
    reason = rejection(cloudevent("healer.condition.v1", {"resource": RESOURCE, "reason": "OOMKilled", "resaon": 1}))

    assert "data.resaon" in reason


# Alertmanager webhooks ----------------------------------------------------------------------------------------

ALERTMANAGER_BODY: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="KubePodCrashLooping"}',
    "truncatedAlerts": 0,
    "receiver": "healer",
    "status": "firing",
    "groupLabels": {"alertname": "KubePodCrashLooping"},
    "commonLabels": {"alertname": "KubePodCrashLooping", "severity": "warning"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "KubePodCrashLooping", "namespace": "cto", "pod": "rex-1", "severity": "warning"},
            "annotations": {"summary": "rex-1 is crash looping"},
            "startsAt": "2026-01-05T09:00:00.000Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "4e7a1b4c2d3f5a6b",
        }
    ],
}


def test_an_alertmanager_webhook_parses_with_its_camelcase_fields() -> None:
    hook = decode(AlertmanagerWebhook, json.dumps(ALERTMANAGER_BODY).encode())

    assert hook.receiver == "healer"
    assert hook.group_labels == {"alertname": "KubePodCrashLooping"}
    assert hook.external_url == "http://alertmanager:9093"
    (alert,) = hook.alerts
    assert alert.starts_at == T0
    assert alert.generator_url == "http://prometheus:9090/graph"
    assert alert.fingerprint == "4e7a1b4c2d3f5a6b"


def test_alertmanager_zero_end_time_means_not_ended() -> None:
    hook = decode(AlertmanagerWebhook, json.dumps(ALERTMANAGER_BODY).encode())

    assert hook.alerts[0].ends_at is None


def test_alertmanager_real_end_time_is_kept() -> None:
    body = json.loads(json.dumps(ALERTMANAGER_BODY))
    body["alerts"][0].update(status="resolved", endsAt="2026-01-05T09:05:00Z")

    hook = decode(AlertmanagerWebhook, json.dumps(body).encode())

    assert hook.alerts[0].ends_at == T0 + dt.timedelta(minutes=5)


def test_an_alertmanager_webhook_without_alerts_is_rejected() -> None:
    with pytest.raises(InvalidMessage, match="alerts"):
        decode(AlertmanagerWebhook, json.dumps({**ALERTMANAGER_BODY, "alerts": []}).encode())


# Open-ended input ---------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
finite_json_values = st.recursive(  # what JSON can carry: no NaN, no infinities
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
near_miss_events = st.fixed_dictionaries(
    {
        "specversion": st.sampled_from(["1.0", "0.3", 1]),
        "id": st.text(max_size=5),
        "source": st.text(max_size=5),
        "type": st.sampled_from([*EVENT_TYPES, "healer.other.v1"]),
        "data": json_values,
    },
    optional={"cluster": st.text(max_size=8), "time": st.text(max_size=25), "ext": json_values},
)


def decodes_or_explains(model: type[BaseModel] | TypeAdapter[Any], body: bytes) -> bool:
    """True when the body validates or is refused with a reason; any other exception escapes and fails the test."""
    try:
        decode(model, body)
    except InvalidMessage as exc:
        return bool(str(exc))
    return True


@given(st.binary(max_size=300))
def test_arbitrary_bytes_either_validate_or_raise_invalid_message(body: bytes) -> None:
    assert decodes_or_explains(EVENT_ADAPTER, body)


@given(json_values | near_miss_events)
def test_arbitrary_json_either_validates_or_raises_invalid_message(value: Any) -> None:
    assert decodes_or_explains(EVENT_ADAPTER, json.dumps(value).encode())


@given(json_values | near_miss_events)
def test_arbitrary_json_as_an_alertmanager_webhook_either_validates_or_raises_invalid_message(value: Any) -> None:
    assert decodes_or_explains(AlertmanagerWebhook, json.dumps(value).encode())


RESERVED_ATTRIBUTES = {
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "data",
    "cluster",
}
label_keys = st.text(min_size=1, max_size=10)
labels = st.dictionaries(label_keys, st.text(max_size=10), max_size=3)
aware_times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds and adds the timezones
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001 - as above
    timezones=st.sampled_from(
        [dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(-dt.timedelta(hours=8))]
    ),
)
finite = st.floats(allow_nan=False, allow_infinity=False)
metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
resources = st.fixed_dictionaries(
    {"kind": st.sampled_from(["Pod", "Node", "Deployment"]), "name": st.text(min_size=1, max_size=20)},
    optional={"namespace": st.text(max_size=10), "container": st.text(max_size=10)},
)
payloads = st.one_of(
    st.tuples(
        st.just("healer.metric.v1"), st.fixed_dictionaries({"name": metric_names, "value": finite, "labels": labels})
    ),
    st.tuples(
        st.just("healer.metrics.v1"),
        st.fixed_dictionaries(
            {
                "samples": st.lists(
                    st.fixed_dictionaries({"name": metric_names, "value": finite}, optional={"time": aware_times}),
                    min_size=1,
                    max_size=3,
                )
            }
        ),
    ),
    st.tuples(
        st.just("healer.log.v1"), st.fixed_dictionaries({"line": st.text(min_size=1, max_size=50), "labels": labels})
    ),
    st.tuples(
        st.just("healer.condition.v1"),
        st.fixed_dictionaries({"resource": resources, "reason": st.text(min_size=1, max_size=20)}),
    ),
    st.tuples(
        st.just("healer.change.v1"),
        st.fixed_dictionaries(
            {
                "what": st.sampled_from(["deploy", "config", "flag", "scale", "commit", "merge"]),
                "resource": resources,
                "from": finite_json_values,
                "to": finite_json_values,
            }
        ),
    ),
)
valid_events = st.builds(
    lambda payload, event_id, time, cluster, extensions: EVENT_ADAPTER.validate_python(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "/gen",
            "type": payload[0],
            "data": payload[1],
            "time": time,
            "cluster": cluster,
            **extensions,
        }
    ),
    payloads,
    st.text(min_size=1, max_size=20),
    st.none() | aware_times,
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True),
    st.dictionaries(
        st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(lambda n: n not in RESERVED_ATTRIBUTES),
        st.text(max_size=10) | st.integers() | st.booleans(),
        max_size=2,
    ),
)


@given(valid_events)
def test_a_valid_event_survives_the_round_trip_through_json(event: Any) -> None:
    assert decode(EVENT_ADAPTER, encode(event)) == event
