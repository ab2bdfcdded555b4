"""Services and their Endpoints: a Service whose selector picks no ready pod is `EndpointsEmpty` (H5).

Only Services with a selector count (without one, Endpoints are managed by hand), and not ExternalName ones.
The two kinds arrive on separate watches in any order, so both feed one `ServiceEndpoints`, which reports on
the Service whenever either side changes; `EndpointsReady` is the recovery.
"""

from __future__ import annotations

import datetime as dt

from services.collector.observations import Emission, Json, ObjectKey, Observation, object_key, observe
from services.collector.sources.tracker import Tracker
from services.collector.transitions import TransitionMemory


def ready_addresses(endpoints: Json) -> int:
    return sum(len(subset.get("addresses") or []) for subset in endpoints.get("subsets") or [])


def selects_pods(service: Json) -> bool:
    spec = service.get("spec") or {}
    return bool(spec.get("selector")) and spec.get("type") != "ExternalName"


class ServiceEndpoints:
    def __init__(self) -> None:
        self._selecting: set[ObjectKey] = set()
        self._ready: dict[ObjectKey, int] = {}
        self._memory = TransitionMemory()

    def service(self, key: ObjectKey, selecting: bool) -> list[Observation]:
        """A Service was seen (or removed: `selecting` False)."""
        if selecting:
            self._selecting.add(key)
        else:
            self._selecting.discard(key)
        return self.evaluate(key)

    def endpoints(self, key: ObjectKey, ready: int | None) -> list[Observation]:
        """The Endpoints of a Service were seen with `ready` addresses (or removed: None)."""
        if ready is None:
            self._ready.pop(key, None)
        else:
            self._ready[key] = ready
        return self.evaluate(key)

    def service_keys(self) -> list[ObjectKey]:
        return list(self._selecting)

    def endpoints_keys(self) -> list[ObjectKey]:
        return list(self._ready)

    def evaluate(self, key: ObjectKey) -> list[Observation]:
        if key not in self._selecting or key not in self._ready:
            self._memory.forget(key)
            return []
        ready = self._ready[key]
        labels = {"namespace": key[0], "service": key[1]}
        if ready:
            state = observe("Service", key, "EndpointsReady", labels=labels, message=f"{ready} ready endpoint(s)")
        else:
            message = f"service {key[0]}/{key[1]} selects no ready pod"
            state = observe("Service", key, "EndpointsEmpty", labels=labels, message=message)
        return self._memory.changes(key, [state])

    def services_side(self) -> ServicesSide:
        return ServicesSide(self)

    def endpoints_side(self) -> EndpointsSide:
        return EndpointsSide(self)


class ServicesSide(Tracker):
    """The Services watch's view of `ServiceEndpoints`."""

    def __init__(self, state: ServiceEndpoints) -> None:
        self._state = state

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        del now
        return Emission(conditions=self._state.service(object_key(obj), selects_pods(obj)))

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        return Emission(conditions=self._state.service(key, selecting=False))

    def keys(self) -> list[ObjectKey]:
        return self._state.service_keys()


class EndpointsSide(Tracker):
    """The Endpoints watch's view of `ServiceEndpoints`."""

    def __init__(self, state: ServiceEndpoints) -> None:
        self._state = state

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        del now
        return Emission(conditions=self._state.endpoints(object_key(obj), ready_addresses(obj)))

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        return Emission(conditions=self._state.endpoints(key, None))

    def keys(self) -> list[ObjectKey]:
        return self._state.endpoints_keys()
