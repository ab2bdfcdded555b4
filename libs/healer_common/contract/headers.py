"""The headers of everything published on the bus, and the one rule for its `Nats-Msg-Id`.

JetStream drops a publish whose `Nats-Msg-Id` it stored within the stream's duplicate window, which is what
makes a retried or redelivered publish harmless. That only works if the id says what a message *is*, never
when it was sent, and if every publisher derives it the same way; so it is derived here and only here:

    a Healer message (alert, incident, remediation, audit ...)   its `event_id`, which its producer derives
                                                                  from the input (`messages.stable_id`)
    a CloudEvent                                                  hash(subject family, `source`, `id`): the
                                                                  spec makes source + id an event's identity;
                                                                  the family keeps an event forwarded to
                                                                  another family of the same stream (a change,
                                                                  events -> changes) from being dropped as a
                                                                  copy of itself; an event in a partition
                                                                  (partitions.py) counts the partition in its
                                                                  family, for the same reason
    an Alertmanager webhook                                       hash(family, receiver, each alert's
                                                                  fingerprint or labels, status, start, end)

The bus (`runtime.bus.Service`, `runtime.busclient.BusClient`) publishes through `headers_for` and
`event_headers`; nothing else writes a `Nats-Msg-Id`.
"""

from __future__ import annotations

from healer_common.contract.alerts import Alert
from healer_common.contract.events import AlertmanagerWebhook, CloudEvent
from healer_common.contract.incidents import Incident
from healer_common.contract.messages import Message, stable_id
from healer_common.contract.remediations import Remediation
from healer_common.contract.subjects import SubjectSpace

MSG_ID = "Nats-Msg-Id"
JSON = "application/json"
STRUCTURED = "application/cloudevents+json"
"""A CloudEvent in structured mode (cloudevent_modes.py reads the other modes)."""


def msg_id(family: str, item: Message | CloudEvent | AlertmanagerWebhook) -> str:
    """The `Nats-Msg-Id` of `item` published on a subject of `family` (`events`, `changes`, `alerts` ...)."""
    match item:
        case Message():
            return item.event_id
        case AlertmanagerWebhook():
            alerts = sorted(
                (a.fingerprint or stable_id(sorted(a.labels.items())), a.status, a.starts_at, a.ends_at)
                for a in item.alerts
            )
            return stable_id(family, "alertmanager", item.receiver, alerts)
        case _:
            return stable_id(family, item.source, item.id)


def headers_for(message: Message) -> dict[str, str]:
    """Headers that let consumers route and filter without parsing the body."""
    headers = {
        MSG_ID: msg_id("", message),
        "Healer-Schema": f"{type(message).__name__}.v{message.schema_version}",
    }
    if message.correlation_id:
        headers["Healer-Correlation-Id"] = message.correlation_id
    match message:
        case Alert():
            headers.update(
                {
                    "Healer-Alert-Id": message.alert_id,
                    "Healer-Status": message.status,
                    "Healer-Severity": message.severity,
                    "Healer-Cluster": message.cluster,
                    "Healer-Namespace": message.namespace or "",
                    "Healer-Target": message.target,
                    "Healer-Fingerprint": message.fingerprint,
                }
            )
        case Incident():
            headers.update(
                {
                    "Healer-Incident-Id": message.incident_id,
                    "Healer-Severity": message.severity,
                    "Healer-Cluster": message.cluster,
                    "Healer-Namespace": message.namespace or "",
                }
            )
        case Remediation():
            headers.update({"Healer-Remediation-Id": message.remediation_id, "Healer-Incident-Id": message.incident_id})
    return headers


def event_headers(space: SubjectSpace, subject: str, event: CloudEvent | AlertmanagerWebhook) -> dict[str, str]:
    """Headers of a CloudEvent (structured mode: `application/cloudevents+json`) or an Alertmanager webhook
    (plain JSON) published on `subject`."""
    content_type = JSON if isinstance(event, AlertmanagerWebhook) else STRUCTURED
    family = space.tokens(subject)[0]
    if (partition := space.partition_of(subject)) is not None:
        family = f"{family}.{partition}"  # the intake's copy in a partition is not a duplicate of what it read
    return {MSG_ID: msg_id(family, event), "content-type": content_type}
