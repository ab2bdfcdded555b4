"""Failure signatures from logs: each stream's lines are mined into templates (log_templates.py); a template
matching a catalogue id's pattern (`detector.logs.signatures`: connection refused -> H5, pool exhausted
-> H6, queue full -> H7, out of memory -> H8) is that alert's failure signature, and `burst_count` of its
lines within `window_s` fire the alert for the stream; `quiet_s` without one resolves it.

Streams are keyed by cluster and the stream's `app`, `pod` or `namespace` label, each with its own miner (a
stream has one header shape); at most `max_streams`, the oldest forgotten first. Pure; evaluation.py feeds
it log events and the timer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from healer_common.contract.alerts import CATALOGUE, Alert, Evidence, alert_fingerprint
from healer_common.contract.events import LogEvent, ResourceRef
from healer_common.durations import spoken_duration
from healer_common.settings.detector import LogSettings
from services.detector.log_templates import LogTemplates
from services.detector.raising import firing_alert, resolved_alert

STREAM_LABELS = ("app", "pod", "namespace")


@dataclass
class Signature:
    alert_id: str
    template: str
    seen: deque[float] = field(default_factory=deque)
    alert: Alert | None = None
    example: str = ""


@dataclass
class Stream:
    miner: LogTemplates
    labels: dict[str, str]
    signatures: dict[int, Signature | None] = field(default_factory=dict)


class LogSignatures:
    def __init__(self, cfg: LogSettings) -> None:
        self._cfg = cfg
        self._patterns = [(alert_id, re.compile(p)) for alert_id, p in cfg.signatures.items()]
        self._streams: OrderedDict[str, Stream] = OrderedDict()

    def observe(self, event: LogEvent, now: dt.datetime) -> list[Alert]:
        labels = event.data.labels
        key = event.cluster + "/" + next((f"{k}={labels[k]}" for k in STREAM_LABELS if k in labels), event.source)
        stream = self._stream(key, labels)
        template = stream.miner.add(event.data.line)
        if template.template_id not in stream.signatures or template.new:
            stream.signatures[template.template_id] = self._classify(template.text)
        signature = stream.signatures[template.template_id]
        if signature is None:
            return []
        when = (event.time or now).timestamp()
        signature.seen.append(when)
        signature.example = event.data.line[:512]
        while signature.seen and signature.seen[0] < when - self._cfg.window_s:
            signature.seen.popleft()
        if signature.alert is None and len(signature.seen) >= self._cfg.burst_count:
            signature.alert = self._firing(event.cluster, stream, signature, template.text, now)
            return [signature.alert]
        return []

    def tick(self, now: dt.datetime) -> list[Alert]:
        """Resolve the signatures that went quiet."""
        alerts = []
        for stream in self._streams.values():
            for signature in stream.signatures.values():
                if signature is None or signature.alert is None or not signature.seen:
                    continue
                last = signature.seen[-1]
                if now.timestamp() - last >= self._cfg.quiet_s:
                    ended = dt.datetime.fromtimestamp(last, dt.UTC)
                    evidence = Evidence(kind="log", summary=f"no such line for {spoken_duration(self._cfg.quiet_s)}")
                    cause = f"logs-quiet-{last}"
                    alerts.append(
                        resolved_alert(signature.alert, ends_at=ended, evidence=evidence, cause=cause, now=now)
                    )
                    signature.alert = None
                    signature.seen.clear()
        return alerts

    def _stream(self, key: str, labels: dict[str, str]) -> Stream:
        stream = self._streams.get(key)
        if stream is None:
            if len(self._streams) >= self._cfg.max_streams:
                self._streams.popitem(last=False)
            miner = LogTemplates(self._cfg.similarity, self._cfg.depth, self._cfg.variable_after)
            stream = self._streams[key] = Stream(miner, dict(labels))
        self._streams.move_to_end(key)
        return stream

    def _classify(self, template: str) -> Signature | None:
        for alert_id, pattern in self._patterns:
            if pattern.search(template):
                return Signature(alert_id, template)
        return None

    def _firing(self, cluster: str, stream: Stream, signature: Signature, template: str, now: dt.datetime) -> Alert:
        labels = stream.labels
        resource = _resource(labels)
        identity = {**labels, "signature": template[:256]}
        fingerprint = alert_fingerprint(signature.alert_id, cluster, resource, identity)
        count, window = len(signature.seen), spoken_duration(self._cfg.window_s)
        where = str(resource) if resource else labels.get("namespace", cluster)
        first = dt.datetime.fromtimestamp(signature.seen[0], dt.UTC)
        return firing_alert(
            alert_id=signature.alert_id,
            severity=CATALOGUE[signature.alert_id].severity,
            fingerprint=fingerprint,
            cluster=cluster,
            resource=resource,
            labels={**labels, "signature": template[:256]},
            summary=f"{CATALOGUE[signature.alert_id].name}: {where} logged {count}x in {window}: {template[:200]}",
            description=f"failure signature `{template[:500]}`, e.g. {signature.example}",
            starts_at=first,
            evidence=[
                Evidence(kind="log", summary=signature.example or template[:2_048], ref=template[:2_048], time=first)
            ],
            cause=f"logs-{signature.seen[-1]}",
            now=now,
        )


def _resource(labels: dict[str, str]) -> ResourceRef | None:
    if pod := labels.get("pod"):
        return ResourceRef(kind="Pod", namespace=labels.get("namespace"), name=pod, container=labels.get("container"))
    if app := labels.get("app"):
        return ResourceRef(kind="Deployment", namespace=labels.get("namespace"), name=app)
    return None
