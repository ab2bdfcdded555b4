"""The daily digest, composed without I/O: the 24 hours' incidents, the remediations and how they ended, and
the predictions that came true; and when the next digest is due. The notifier's digest tick (digest_job.py)
reads the journal (journal.py) and sends what this returns by e-mail.

A prediction is an alert labelled `predicted="true"` (a trend crossing soon, or H10, a remembered failure
pattern). It came true when a real (unpredicted) alert later fired on the same resource: of the same alert
id, or of any id for H10, which predicts by resemblance rather than by id.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from healer_common.contract.incidents import AlertSummary, Incident
from healer_common.contract.remediations import Remediation
from healer_common.durations import format_duration

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Day:
    """What the journal holds for a digest: latest incidents and runs, predicted and real alerts first seen."""

    incidents: list[Incident]
    runs: list[Remediation]
    predicted: list[AlertSummary]
    fired: list[AlertSummary]


@dataclass(frozen=True)
class Prediction:
    alert: AlertSummary
    came_true_by: AlertSummary | None


def due_window(now: dt.datetime, at: str) -> tuple[dt.date, dt.datetime, dt.datetime] | None:
    """(day, start, end) of the digest due by `now`: the one ending today at `at` (UTC), once that has passed."""
    hour, minute = (int(part) for part in at.split(":"))
    end = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if now < end:
        return None
    return end.date(), end - DAY, end


def in_window(incident: Incident, start: dt.datetime, end: dt.datetime) -> bool:
    """Open at some point of the window: opened before its end and not resolved before its start."""
    return incident.opened_at < end and (incident.resolved_at is None or incident.resolved_at >= start)


def predictions(predicted: list[AlertSummary], fired: list[AlertSummary]) -> list[Prediction]:
    """Each prediction with the real alert that fulfilled it, if one did (a predicted alert and its real
    counterpart share a fingerprint: the fingerprint ignores the `predicted` label)."""
    real = sorted(fired, key=lambda a: a.starts_at)
    found = [Prediction(p, next((a for a in real if _fulfils(p, a)), None)) for p in predicted]
    return sorted(found, key=lambda p: p.alert.starts_at)


def _fulfils(predicted: AlertSummary, actual: AlertSummary) -> bool:
    if actual.starts_at < predicted.starts_at:
        return False
    if predicted.fingerprint == actual.fingerprint:
        return True
    same_target = predicted.resource is not None and predicted.resource == actual.resource
    return same_target and predicted.alert_id in {actual.alert_id, "H10"}


def compose(day: Day, start: dt.datetime, end: dt.datetime) -> Mail:
    day_incidents = sorted((i for i in day.incidents if in_window(i, start, end)), key=lambda i: i.opened_at)
    day_runs = sorted((r for r in day.runs if start <= r.started_at < end), key=lambda r: r.started_at)
    guesses = predictions([p for p in day.predicted if start <= p.starts_at < end], day.fired)
    resolved = sum(1 for i in day_incidents if i.state == "resolved")
    healed = sum(1 for r in day_runs if r.state == "succeeded")
    true = sum(1 for p in guesses if p.came_true_by is not None)
    subject = (
        f"Healer digest {end.date().isoformat()}: {len(day_incidents)} incident(s), "
        f"{len(day_runs)} remediation(s), {true} prediction(s) came true"
    )
    sections = [
        (f"Incidents ({len(day_incidents)}, {resolved} resolved)", [_incident_line(i) for i in day_incidents]),
        (f"Remediations ({len(day_runs)}, {healed} succeeded)", [_run_line(r) for r in day_runs]),
        (f"Predictions ({len(guesses)}, {true} came true)", [_prediction_line(p) for p in guesses]),
    ]
    window = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    return Mail(subject, _text(window, sections), _html(subject, window, sections))


def _incident_line(incident: Incident) -> str:
    state = "resolved" if incident.resolved_at else "open"
    if incident.resolved_at:
        state += f" after {_minutes(incident.resolved_at - incident.opened_at)}"
    return (
        f"{incident.opened_at:%H:%M} [{incident.severity}] {incident.title} "
        f"({incident.incident_id}, {', '.join(incident.alert_ids)}; {state})"
    )


def _run_line(run: Remediation) -> str:
    mode = ", dry run" if run.dry_run else ""
    return (
        f"{run.started_at:%H:%M} {run.playbook} on {run.target or run.cluster}: {run.state}{mode} ({run.incident_id})"
    )


def _prediction_line(prediction: Prediction) -> str:
    said = f"{prediction.alert.starts_at:%H:%M} {prediction.alert.alert_id} predicted on {prediction.alert.resource}"
    if prediction.came_true_by is None:
        return f"{said}: has not happened"
    lead = _minutes(prediction.came_true_by.starts_at - prediction.alert.starts_at)
    return f"{said}: came true {lead} later ({prediction.came_true_by.alert_id})"


def _minutes(span: dt.timedelta) -> str:
    """`15m`, `1h5m`: to the minute, which is what a day's digest needs."""
    return format_duration(60 * round(span.total_seconds() / 60), parts=2)


def _text(window: str, sections: list[tuple[str, list[str]]]) -> str:
    parts = [f"What Healer saw and did, {window}."]
    for heading, lines in sections:
        parts.append(f"\n{heading}\n" + ("\n".join(f"  - {line}" for line in lines) if lines else "  (none)"))
    return "\n".join(parts) + "\n"


def _html(subject: str, window: str, sections: list[tuple[str, list[str]]]) -> str:
    body = [f"<h1>{html.escape(subject)}</h1>", f"<p>What Healer saw and did, {html.escape(window)}.</p>"]
    for heading, lines in sections:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines) or "<li>(none)</li>"
        body.append(f"<h2>{html.escape(heading)}</h2><ul>{items}</ul>")
    return "<html><body>" + "".join(body) + "</body></html>"
