"""Healer's domain metrics, one catalogue for every service (each serves them on `/metrics`), named by
Prometheus's conventions and with bounded labels: catalogue ids, severities, playbooks, action types,
channels, clusters and sources, services and durable consumers; never a pod, incident or run id.

What every service publishes is counted where it is published (`Service.publish` calls `published`), so
no service counts its own alerts or runs by hand:

    Alert                      healer_alerts_total{alert_id, severity, status}; an H10's resolution also
                               healer_predictions_total{outcome="came_true"|"did_not_happen"}, its firing
                               outcome="raised"
    Remediation (final state)  healer_remediations_total{playbook, state}, one per run;
                               healer_remediation_actions_total{playbook, action, outcome}, one per step;
                               healer_memory_informed_remediations_total{outcome} when memory informed it
                               (its hit rate: succeeded / all)

The rest is set where it is known: the runner (consumer lag, dead letters waiting), the correlator (open
incidents, active alerts), the remediator (approvals waiting), the notifier (deliveries, escalation levels),
the collector (sources up), memory-bridge (records, query latency). deploy/grafana and deploy/prometheus
query these names; tests/integration/test_prometheus_assets.py checks every query returns data.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

from healer_common.contract.alerts import SEVERITY_RANK, Alert
from healer_common.contract.messages import Message
from healer_common.contract.remediations import Remediation

BUILD = Gauge("healer_build_info", "Always 1; the service and its version", ["service", "version"])
CONSUMER_LAG = Gauge(
    "healer_consumer_lag_messages",
    "Messages of a durable consumer not yet delivered or not yet acked",
    ["service", "consumer"],
)
DLQ_DEPTH = Gauge("healer_dlq_messages", "Dead letters a service left on its DLQ subject (kept 14 days)", ["service"])
ALERTS = Counter(
    "healer_alerts_total", "Alerts published, by catalogue id, severity and status", ["alert_id", "severity", "status"]
)
ACTIVE_ALERTS = Gauge("healer_alerts_active", "Alerts firing in open incidents", ["severity"])
OPEN_INCIDENTS = Gauge("healer_incidents_open", "Open incidents", ["severity"])
REMEDIATIONS = Counter(
    "healer_remediations_total", "Remediation runs finished, by playbook and final state", ["playbook", "state"]
)
ACTIONS = Counter(
    "healer_remediation_actions_total",
    "Steps of finished runs, by playbook, action type and outcome",
    ["playbook", "action", "outcome"],
)
APPROVALS_WAITING = Gauge("healer_approvals_waiting", "Remediation runs waiting for a person's answer")
NOTIFICATIONS = Counter(
    "healer_notifications_total", "Deliveries to a channel, by outcome (delivered or failed)", ["channel", "outcome"]
)
ESCALATIONS = Counter("healer_escalations_total", "Escalation levels fired, by level reached", ["level"])
SOURCE_UP = Gauge("healer_source_up", "1 when a collector source can read its system", ["cluster", "source"])
MEMORY_RECORDS = Gauge("healer_memory_records", "Memories held, by type", ["type"])
MEMORY_QUERY_SECONDS = Histogram(
    "healer_memory_query_seconds",
    "Time memory-bridge takes to answer a query",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MEMORY_INFORMED = Counter(
    "healer_memory_informed_remediations_total",
    "Finished runs that memory informed, by outcome (succeeded, failed, ...): the memory hit rate",
    ["outcome"],
)
PREDICTIONS = Counter("healer_predictions_total", "H10 predictions: raised, came_true or did_not_happen", ["outcome"])
_FINAL_SEEN = 10_000


class _Seen:
    """The last few thousand finished runs counted, so a run republished in its final state counts once."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first(self, key: str) -> bool:
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > _FINAL_SEEN:
            self._ids.popitem(last=False)
        return True


_finished = _Seen()


def prepare(service: str, version: str) -> None:
    """Every label set a dashboard reads exists from the start (at 0), so a query never comes back empty just
    because nothing happened yet."""
    BUILD.labels(service, version).set(1)
    DLQ_DEPTH.labels(service)
    for severity in SEVERITY_RANK:
        ACTIVE_ALERTS.labels(severity)
        OPEN_INCIDENTS.labels(severity)
    for outcome in ("raised", "came_true", "did_not_happen"):
        PREDICTIONS.labels(outcome)
    for outcome in ("succeeded", "failed"):
        MEMORY_INFORMED.labels(outcome)


def published(message: Message) -> None:
    match message:
        case Alert():
            ALERTS.labels(message.alert_id, message.severity, message.status).inc()
            if message.alert_id == "H10":
                outcome = message.annotations.get("outcome", "") if not message.firing else "raised"
                PREDICTIONS.labels(outcome.replace(" ", "_") or "did_not_happen").inc()
        case Remediation() if message.final and _finished.first(message.remediation_id):
            REMEDIATIONS.labels(message.playbook, message.state).inc()
            for step in message.steps:
                ACTIONS.labels(message.playbook, step.action, step.outcome).inc()
            if message.memory_ids:
                MEMORY_INFORMED.labels(message.state).inc()


def open_counts(incidents: Mapping[str, int], alerts: Mapping[str, int]) -> None:
    """The correlator's open incidents and the alerts firing in them, by severity."""
    for severity in SEVERITY_RANK:
        OPEN_INCIDENTS.labels(severity).set(incidents.get(severity, 0))
        ACTIVE_ALERTS.labels(severity).set(alerts.get(severity, 0))
