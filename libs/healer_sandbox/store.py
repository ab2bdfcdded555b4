"""The sandbox's object store: every object the API serves, with the bookkeeping a real API server does.

It keeps objects in kmock's `ObjectsArray` (one current version each, so memory stays flat over a long
run), reads them from a plain index beside it (kmock's versioned views cost microseconds a read, and the
control loops read every pod every tick), and adds what kmock leaves out: a cluster-wide resourceVersion,
uids, generations, finalizers and deletionTimestamp, garbage collection of dependents through
ownerReferences, a bounded history of watch events (so a watch resumes from a resourceVersion, or gets
410 Gone when it is too old), and a fan-out of every change to the live watchers. Both the HTTP API
(apiserver.py) and the sandbox's own controllers write through here, so a watcher sees the sandbox's
changes exactly like the ones made by clients.

Stored objects are never modified in place: every write stores a new dict, so a dict handed to a watcher
or a reader stays a snapshot. Readers must not mutate what they get.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import kmock

from healer_common.clock import Clock
from healer_sandbox.patching import merge_patch
from healer_sandbox.units import rfc3339

ObjectKey = tuple[kmock.resource, str | None, str]
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what the API server draws generateName suffixes from


class ApiError(Exception):
    """A failure the API answers with a Status object: `code` and `reason` as the real API server names them."""

    def __init__(self, code: int, reason: str, message: str, *, kind: str = "", name: str = "") -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.kind, self.name = code, reason, message, kind, name

    def status(self) -> dict[str, Any]:
        details = {k: v for k, v in (("name", self.name), ("kind", self.kind)) if v}
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": details,
            "code": self.code,
        }


def not_found(resource: kmock.resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.plural} "{name}" not found', kind=resource.plural or "", name=name)


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    resource: kmock.resource
    type: str  # ADDED, MODIFIED, DELETED
    object: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"type": self.type, "object": self.object}


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = obj.get("metadata") or {}
    return found


class ObjectStore:
    def __init__(
        self, objects: kmock.ObjectsArray, resources: kmock.ResourcesArray, clock: Clock, history: int
    ) -> None:
        self._objects = objects
        self.resources = resources
        self.clock = clock
        self.rv = 1
        self._log: deque[WatchEvent] = deque(maxlen=history)
        self._compacted_rv = 0
        self._watchers: dict[kmock.resource, set[asyncio.Queue[WatchEvent]]] = defaultdict(set)
        self._owned: dict[str, set[ObjectKey]] = defaultdict(set)
        self._keys: dict[kmock.resource, dict[ObjectKey, None]] = defaultdict(dict)  # per resource, in order
        self._current: dict[ObjectKey, dict[str, Any]] = {}  # what _objects holds, as plain dicts
        self.listeners: list[Callable[[WatchEvent], None]] = []

    # reading ---------------------------------------------------------------------------------------------
    def get(self, resource: kmock.resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self._current.get((resource, namespace, name))

    def require(self, resource: kmock.resource, namespace: str | None, name: str) -> dict[str, Any]:
        found = self.get(resource, namespace, name)
        if found is None:
            raise not_found(resource, name)
        return found

    def items(self, resource: kmock.resource, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Every object of a resource (in one namespace, or all when None), in insertion order."""
        for key in list(self._keys.get(resource, ())):
            if (namespace is None or key[1] == namespace) and key in self._current:
                yield self._current[key]

    def count(self, resource: kmock.resource) -> int:
        return len(self._keys.get(resource, ()))

    def owned_by(self, uid: str) -> list[tuple[ObjectKey, dict[str, Any]]]:
        """The objects whose ownerReferences name `uid` (a controller's pods, a deployment's replicasets)."""
        return [(key, self._current[key]) for key in list(self._owned.get(uid, ())) if key in self._current]

    def namespaced(self, resource: kmock.resource) -> bool:
        return resource not in self.resources or self.resources[resource].namespaced is not False

    def kind(self, resource: kmock.resource) -> str:
        info = self.resources.get(resource, None)
        kind = info.kind if isinstance(info, kmock.ResourceInfo) else None
        return kind or (resource.plural or "").capitalize()

    def has_status(self, resource: kmock.resource) -> bool:
        return resource in self.resources and "status" in self.resources[resource].subresources

    # writing ---------------------------------------------------------------------------------------------
    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _emit(self, resource: kmock.resource, kind: str, obj: dict[str, Any], rv: int) -> None:
        event = WatchEvent(rv, resource, kind, obj)
        if len(self._log) == self._log.maxlen:
            self._compacted_rv = self._log[0].rv
        self._log.append(event)
        for queue in self._watchers.get(resource, ()):
            queue.put_nowait(event)
        for listener in self.listeners:
            listener(event)

    def _index(self, key: ObjectKey, obj: dict[str, Any] | None, old: dict[str, Any] | None) -> None:
        if obj is None:
            self._keys[key[0]].pop(key, None)
        else:
            self._keys[key[0]][key] = None
        for ref in meta(old or {}).get("ownerReferences") or []:
            self._owned[ref.get("uid", "")].discard(key)
        for ref in meta(obj or {}).get("ownerReferences") or []:
            self._owned[ref.get("uid", "")].add(key)

    def create(self, resource: kmock.resource, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Store a new object, filling what the API server fills (name from generateName, uid, timestamps)."""
        metadata = dict(meta(obj))
        if not metadata.get("name") and metadata.get("generateName"):
            suffix = "".join(random.choice(NAME_ALPHABET) for _ in range(5))
            metadata["name"] = f"{metadata['generateName']}{suffix}"
        name = metadata.get("name")
        if not name:
            raise ApiError(422, "Invalid", "metadata.name: Required value: name or generateName is required")
        namespace = metadata.get("namespace") if self.namespaced(resource) else None
        key = (resource, namespace, name)
        if key in self._current:
            raise ApiError(409, "AlreadyExists", f'{resource.plural} "{name}" already exists', name=name)
        rv = self.rv + 1
        metadata.update(
            uid=metadata.get("uid") or str(uuid.uuid4()),
            resourceVersion=str(rv),
            creationTimestamp=rfc3339(self.clock.now()),
            generation=1,
        )
        metadata.pop("deletionTimestamp", None)
        stored = {**obj, "metadata": metadata}
        stored.setdefault("kind", self.kind(resource))
        stored.setdefault("apiVersion", f"{resource.group}/{resource.version}".lstrip("/"))
        if dry_run:
            return stored
        self._next_rv()
        self._objects[key] = self._current[key] = stored
        self._index(key, stored, None)
        self._emit(resource, "ADDED", stored, rv)
        return stored

    def write(
        self, resource: kmock.resource, new: dict[str, Any], *, expect_rv: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """Replace an existing object with `new` (its metadata.name/namespace say which); bumps resourceVersion,
        and generation when the spec changed. A write that clears the last finalizer of an object being
        deleted completes the deletion."""
        namespace = meta(new).get("namespace") if self.namespaced(resource) else None
        name = meta(new).get("name", "")
        old = self.require(resource, namespace, name)
        old_meta = meta(old)
        if expect_rv and expect_rv != old_meta.get("resourceVersion"):
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {resource.plural} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                name=name,
            )
        metadata = {**meta(new), "uid": old_meta.get("uid"), "creationTimestamp": old_meta.get("creationTimestamp")}
        generation = int(old_meta.get("generation", 1))
        metadata["generation"] = generation + 1 if new.get("spec") != old.get("spec") else generation
        if old_meta.get("deletionTimestamp"):
            metadata["deletionTimestamp"] = old_meta["deletionTimestamp"]
        rv = self.rv + 1
        metadata["resourceVersion"] = str(rv)
        stored = {**new, "metadata": metadata}
        if dry_run:
            return stored
        if metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
            return self._remove(resource, (resource, namespace, name), stored)
        self._next_rv()
        key = (resource, namespace, name)
        self._objects[key] = self._current[key] = stored
        self._index(key, stored, old)
        self._emit(resource, "MODIFIED", stored, rv)
        return stored

    def patch(
        self, resource: kmock.resource, namespace: str | None, name: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """The sandbox's own updates: a recursive merge of `changes` (None removes a key), then `write`."""
        current = self.require(resource, namespace, name)
        return self.write(resource, merge_patch(current, changes))

    def delete(
        self, resource: kmock.resource, namespace: str | None, name: str, *, orphan: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        """Delete an object; with finalizers it is only marked (deletionTimestamp) until they are removed.
        Its dependents (ownerReferences) are deleted too, unless `orphan`."""
        key = (resource, namespace if self.namespaced(resource) else None, name)
        current = self.require(*key)
        metadata = meta(current)
        if dry_run:
            return current
        if metadata.get("finalizers"):
            if metadata.get("deletionTimestamp"):
                return current
            marked = {**metadata, "deletionTimestamp": rfc3339(self.clock.now()), "deletionGracePeriodSeconds": 0}
            return self.write(resource, {**current, "metadata": marked})
        return self._remove(resource, key, current, orphan=orphan)

    def _remove(
        self, resource: kmock.resource, key: ObjectKey, last: dict[str, Any], *, orphan: bool = False
    ) -> dict[str, Any]:
        rv = self._next_rv()
        gone = {**last, "metadata": {**meta(last), "resourceVersion": str(rv)}}
        del self._objects[key], self._current[key]
        self._index(key, None, last)
        self._emit(resource, "DELETED", gone, rv)
        uid = meta(last).get("uid", "")
        for dependent_key, dependent in self.owned_by(uid):
            if orphan:
                refs = [r for r in meta(dependent).get("ownerReferences") or [] if r.get("uid") != uid]
                self.write(dependent_key[0], {**dependent, "metadata": {**meta(dependent), "ownerReferences": refs}})
            elif dependent_key in self._current:
                self.delete(*dependent_key)
        self._owned.pop(uid, None)
        return gone

    # watching --------------------------------------------------------------------------------------------
    def subscribe(self, resource: kmock.resource) -> asyncio.Queue[WatchEvent]:
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        self._watchers[resource].add(queue)
        return queue

    def unsubscribe(self, resource: kmock.resource, queue: asyncio.Queue[WatchEvent]) -> None:
        self._watchers[resource].discard(queue)

    def watcher_count(self) -> int:
        return sum(len(queues) for queues in self._watchers.values())

    def events_since(self, resource: kmock.resource, rv: int) -> list[WatchEvent]:
        """The retained events of a resource after `rv`; ApiError 410 when events after it were dropped."""
        if rv < self._compacted_rv:
            raise ApiError(410, "Expired", f"too old resource version: {rv} ({self._compacted_rv})")
        return [e for e in self._log if e.rv > rv and e.resource == resource]
