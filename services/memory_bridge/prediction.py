"""H10, predicted issue: current conditions matched against remembered patterns, and the alert that says so.

A pattern takes part only while its salience is above the prediction threshold (0.8 by default): a pattern
the analysis found strong, or found again and again, or whose predictions came true (each reinforces it).

    correlation, change   its trigger (an alert, or a change of some kind) happened recently in its namespace,
                          and what it predicts has not happened since: expected at trigger + median lag
    temporal              its weekday and hour (or hour, for a daily pattern) starts within the lead time

Failure, exhaustion and tuning insights inform answers and reports, not H10 (the detector predicts exhaustion
live). Pure: conditions, patterns and time are passed in.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import CATALOGUE, Alert, Evidence, alert_fingerprint
from healer_common.contract.memory import MemoryPattern, MemoryRecord, Prediction
from healer_common.contract.messages import stable_id
from services.memory_bridge.context import age
from services.memory_bridge.occurrences import Occurrence

GENERATOR = "memory-bridge"


def _correlated(
    record: MemoryRecord, pattern: MemoryPattern, salience: float, recent: list[Occurrence]
) -> Prediction | None:
    triggers = [o for o in recent if o.firing and o.key == pattern.trigger and pattern.namespace in (None, o.namespace)]
    if not triggers or pattern.predicts is None:
        return None
    trigger = max(triggers, key=lambda o: o.time)
    happened = any(
        o.firing
        and o.key == pattern.predicts
        and o.time >= trigger.time
        and o.namespace == (pattern.namespace or trigger.namespace)
        and pattern.service in (None, o.service)
        for o in recent
    )
    if happened:
        return None
    lag = dt.timedelta(seconds=pattern.lag_s or 0)
    return Prediction(
        predicts=pattern.predicts,
        namespace=pattern.namespace or trigger.namespace,
        service=pattern.service,
        cluster=trigger.cluster,
        confidence=pattern.probability,
        expected_at=trigger.time + lag,
        reason=(
            f"{trigger.key} in {trigger.namespace} at {trigger.time:%H:%M} ({trigger.summary or trigger.ref}); "
            f"remembered: {record.content}"
        )[:2048],
        prevention=pattern.prevention,
        memory_id=record.memory_id,
        salience=salience,
    )


def next_slot(pattern: MemoryPattern, now: dt.datetime) -> dt.datetime | None:
    """The next start of the pattern's hour (on its weekday, if it has one) at or after `now`'s hour."""
    if pattern.hour is None:
        return None
    start = now.replace(hour=pattern.hour, minute=0, second=0, microsecond=0)
    for days in range(8):
        slot = start + dt.timedelta(days=days)
        if slot >= now and (pattern.weekday is None or slot.weekday() == pattern.weekday):
            return slot
    return None


def _temporal(
    record: MemoryRecord, pattern: MemoryPattern, salience: float, now: dt.datetime, lead: dt.timedelta
) -> Prediction | None:
    slot = next_slot(pattern, now)
    if slot is None or slot - now > lead or pattern.predicts is None:
        return None
    return Prediction(
        predicts=pattern.predicts,
        namespace=pattern.namespace,
        service=pattern.service,
        confidence=pattern.probability,
        expected_at=slot,
        reason=f"in {age(now, slot)}: remembered: {record.content}"[:2048],
        prevention=pattern.prevention,
        memory_id=record.memory_id,
        salience=salience,
    )


def predict(
    patterns: list[tuple[MemoryRecord, float]],
    recent: list[Occurrence],
    now: dt.datetime,
    lead: dt.timedelta,
) -> list[Prediction]:
    """What the patterns (with their current salience) expect, given the recent occurrences; surest first."""
    found = []
    for record, salience in patterns:
        pattern = record.metadata.pattern
        if pattern is None:
            continue
        if pattern.kind in ("correlation", "change"):
            prediction = _correlated(record, pattern, salience, recent)
        elif pattern.kind == "temporal":
            prediction = _temporal(record, pattern, salience, now, lead)
        else:
            prediction = None
        if prediction is not None:
            found.append(prediction)
    return sorted(found, key=lambda p: p.confidence, reverse=True)


def predicted_alert(prediction: Prediction, default_cluster: str, now: dt.datetime) -> Alert:
    """The H10 alert that announces a prediction, with its prevention and confidence."""
    cluster = prediction.cluster or default_cluster
    where_labels = {"namespace": prediction.namespace, "service": prediction.service}
    identity = {"alertname": "H10", "predicts": prediction.predicts, "pattern": prediction.memory_id}
    identity.update({key: value for key, value in where_labels.items() if value})
    fingerprint = alert_fingerprint("H10", cluster, None, identity)
    when = f"at {prediction.expected_at:%a %H:%M} UTC" if prediction.expected_at else "soon"
    where = "/".join(p for p in (prediction.namespace, prediction.service) if p) or cluster
    name = CATALOGUE[prediction.predicts].name if prediction.predicts in CATALOGUE else prediction.predicts
    summary = f"predicted {prediction.predicts} ({name}) in {where} {when}, confidence {prediction.confidence:.0%}"
    return Alert(
        event_id=stable_id("H10", fingerprint, "firing", prediction.expected_at),
        correlation_id=fingerprint,
        alert_id="H10",
        status="firing",
        severity="warning",
        fingerprint=fingerprint,
        cluster=cluster,
        namespace=prediction.namespace,
        labels={**identity, "severity": "warning", "cluster": cluster, "predicted": "true"},
        annotations={
            "summary": summary,
            "description": prediction.reason,
            "prevention": prediction.prevention or "no known prevention yet",
            "confidence": f"{prediction.confidence:.2f}",
            **({"expected_at": prediction.expected_at.isoformat()} if prediction.expected_at else {}),
        },
        starts_at=now,
        evidence=[Evidence(kind="memory", summary=prediction.reason, ref=prediction.memory_id, time=now)],
        generator=GENERATOR,
        time=now,
    )


def resolved(alert: Alert, now: dt.datetime, outcome: str) -> Alert:
    """The same H10 resolved: the prediction `came true` or `did not happen` in its window."""
    return alert.evolve(
        event_id=stable_id(alert.event_id, "resolved"),
        status="resolved",
        ends_at=now,
        annotations={**alert.annotations, "outcome": outcome},
        time=now,
    )
