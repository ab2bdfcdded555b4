"""Memory looking ahead: each new alert or change updates the current conditions, and the remembered patterns
they match become H10 alerts, raised once per pattern and target. An H10 is resolved when what it predicted
happens ("came true": the pattern is reinforced, so predictions that keep coming true keep their salience)
or when its window passes without it ("did not happen": the pattern is left to decay).

memory-bridge's handlers publish what this returns; it holds no broker. Patterns are read from memory at
most once a minute (OpenMemory's reads are not free), and again right after an analysis stored new ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from healer_common.contract.alerts import Alert
from healer_common.contract.memory import MemoryRecord, Prediction, PredictionRequest
from healer_common.settings import MemorySettings
from services.memory_bridge.bridge import MemoryBridge
from services.memory_bridge.occurrences import Occurrence
from services.memory_bridge.prediction import predict, predicted_alert, resolved
from services.memory_bridge.recent import RecentActivity

PATTERN_TTL = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class OpenPrediction:
    prediction: Prediction
    alert: Alert
    expires_at: dt.datetime

    def fulfilled_by(self, occurrence: Occurrence) -> bool:
        p = self.prediction
        return (
            occurrence.firing
            and occurrence.key == p.predicts
            and p.namespace in (None, occurrence.namespace)
            and p.service in (None, occurrence.service)
        )


class Foresight:
    def __init__(self, bridge: MemoryBridge, recent: RecentActivity, settings: MemorySettings, cluster: str) -> None:
        self.bridge = bridge
        self.recent = recent
        self.settings = settings
        self.cluster = cluster
        self.open: dict[str, OpenPrediction] = {}
        self._announced: dict[str, dt.datetime] = {}
        self._patterns: list[tuple[MemoryRecord, float]] = []
        self._loaded_at: dt.datetime | None = None

    def forget_patterns(self) -> None:
        """Read patterns again at the next use (an analysis has just stored some)."""
        self._loaded_at = None

    async def _current_patterns(self, now: dt.datetime) -> list[tuple[MemoryRecord, float]]:
        if self._loaded_at is None or now - self._loaded_at > PATTERN_TTL:
            self._patterns = await self.bridge.patterns(self.settings.prediction_salience)
            self._loaded_at = now
        return self._patterns

    async def predictions(self, request: PredictionRequest) -> list[Prediction]:
        """What memory expects now for a namespace, service or cluster (`healer predict`)."""
        now = self.bridge.clock.now()
        recent = self.recent.current(now, namespace=request.namespace, cluster=request.cluster)
        lead = dt.timedelta(seconds=self.settings.prediction_lead_s)
        found = predict(await self._current_patterns(now), recent, now, lead)
        return [
            p
            for p in found
            if request.namespace in (None, p.namespace)
            and request.service in (None, p.service)
            and request.cluster in (None, p.cluster or self.cluster)
        ]

    def _raise(self, predictions: list[Prediction], now: dt.datetime) -> list[Alert]:
        """H10s for predictions not already open, and not already announced for the same expected time."""
        raised = []
        grace = dt.timedelta(seconds=self.settings.correlation_window_s)
        for prediction in predictions:
            alert = predicted_alert(prediction, self.cluster, now)
            if alert.fingerprint in self.open or alert.event_id in self._announced:
                continue
            expires_at = (prediction.expected_at or now) + grace
            self.open[alert.fingerprint] = OpenPrediction(prediction, alert, expires_at)
            self._announced[alert.event_id] = expires_at + self.recent.window
            raised.append(alert)
        return raised

    async def observe(self, occurrence: Occurrence) -> list[Alert]:
        """Take in an alert or change: H10s it fulfils are resolved, H10s it triggers are raised."""
        now = self.bridge.clock.now()
        if not self.recent.note(occurrence, now):
            return []
        fulfilled = [o for o in self.open.values() if o.fulfilled_by(occurrence)]
        for done in fulfilled:
            del self.open[done.alert.fingerprint]
        if fulfilled:
            await self.bridge.reinforce([o.prediction.memory_id for o in fulfilled])
            self.forget_patterns()
        request = PredictionRequest(namespace=occurrence.namespace, cluster=occurrence.cluster)
        return [resolved(o.alert, now, "came true") for o in fulfilled] + self._raise(
            await self.predictions(request), now
        )

    async def tick(self) -> list[Alert]:
        """Resolve lapsed predictions; raise those that time alone brings (weekly and daily patterns)."""
        now = self.bridge.clock.now()
        lapsed = [o for o in self.open.values() if o.expires_at < now]
        for gone in lapsed:
            del self.open[gone.alert.fingerprint]
        self._announced = {event_id: until for event_id, until in self._announced.items() if until >= now}
        return [resolved(o.alert, now, "did not happen") for o in lapsed] + self._raise(
            await self.predictions(PredictionRequest()), now
        )
