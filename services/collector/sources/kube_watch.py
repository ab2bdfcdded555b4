"""List and watch one kind of Kubernetes object with the official client, in a thread of its own.

The reflector pattern, as client-go does it: list (in pages) and remember the list's resourceVersion; watch
from it with bookmarks, remembering the version of every event; when a watch ends (its server-side timeout,
a silence longer than the read timeout, a dropped connection) watch again from the last version; on
`410 Gone` (the version is too old) list again. The official client is synchronous, so each kind runs in a
thread and hands what it sees to the event loop; `interrupt()` cuts a blocking read at shutdown.

Raw JSON, not the client's models: deserialising 2,000 pods into model objects costs more than the rest of
the collector together, and trackers read plain dicts. kmock's emulator lists with resourceVersion "..." and
replays every object as ADDED on each watch; the trackers' transition memory makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from healer_common.settings.collector import KubernetesSourceSettings, RetrySettings
from services.collector.backoff import Backoff
from services.collector.observations import Json

ABSENT_RETRY_S = 60.0  # a kind the server does not serve (a CRD not installed) is looked for again this often


@dataclass(frozen=True)
class KubeResource:
    name: str
    group: str
    version: str
    field_selector: str | None = None


RESOURCES = {
    r.name: r
    for r in (
        KubeResource("pods", "", "v1"),
        KubeResource("events", "", "v1"),
        KubeResource("nodes", "", "v1"),
        KubeResource("persistentvolumeclaims", "", "v1"),
        KubeResource("services", "", "v1"),
        KubeResource("endpoints", "", "v1"),
        KubeResource("secrets", "", "v1", field_selector="type=kubernetes.io/tls"),
        KubeResource("deployments", "apps", "v1"),
        KubeResource("replicasets", "apps", "v1"),
        KubeResource("certificates", "cert-manager.io", "v1"),
        KubeResource("coderuns", "agents.platform", "v1"),
        KubeResource("applications", "argoproj.io", "v1alpha1"),
    )
}


@dataclass(frozen=True)
class Listed:
    resource: str
    items: list[Json]


@dataclass(frozen=True)
class Changed:
    resource: str
    type: str
    obj: Json


@dataclass(frozen=True)
class Contact:
    resource: str
    outcome: Literal["reached", "unreachable", "degraded"]
    error: str | None = None


WatchNews = Listed | Changed | Contact


class Gone(Exception):
    """The watch's resourceVersion is too old (410): list again."""


def list_function(api: client.ApiClient, resource: KubeResource) -> Callable[..., Any]:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    typed: dict[str, Callable[..., Any]] = {
        "pods": core.list_pod_for_all_namespaces,
        "events": core.list_event_for_all_namespaces,
        "nodes": core.list_node,
        "persistentvolumeclaims": core.list_persistent_volume_claim_for_all_namespaces,
        "services": core.list_service_for_all_namespaces,
        "endpoints": core.list_endpoints_for_all_namespaces,
        "secrets": core.list_secret_for_all_namespaces,
        "deployments": apps.list_deployment_for_all_namespaces,
        "replicasets": apps.list_replica_set_for_all_namespaces,
    }
    if resource.name in typed:
        return typed[resource.name]
    custom = client.CustomObjectsApi(api)
    return functools.partial(custom.list_cluster_custom_object, resource.group, resource.version, resource.name)


def json_lines(chunks: Iterable[bytes]) -> Iterator[Json]:
    """The JSON objects of a watch stream, one per line, whatever the chunking."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)
    if buffer.strip():
        yield json.loads(buffer)


class ResourceWatch:
    """One kind's list-and-watch loop; `run()` blocks its thread until `interrupt()`."""

    def __init__(
        self,
        api: client.ApiClient,
        resource: KubeResource,
        settings: KubernetesSourceSettings,
        retry: RetrySettings,
        deliver: Callable[[WatchNews], None],
    ) -> None:
        self.resource = resource
        self._list_call = list_function(api, resource)
        self._settings = settings
        self._backoff = Backoff(retry)
        self._deliver = deliver
        self._stopping = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._version: str | None = None

    def interrupt(self) -> None:
        self._stopping.set()
        if (response := self._response) is not None:
            response.shutdown()

    def start(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """Run in a daemon thread of its own (a read blocked past shutdown must not hold the process); the
        future is done when the thread is."""
        done: asyncio.Future[None] = loop.create_future()

        def finished() -> None:
            if not done.done():
                done.set_result(None)

        def run() -> None:
            try:
                self.run()
            finally:
                with contextlib.suppress(RuntimeError):  # the loop closed before this read gave up
                    loop.call_soon_threadsafe(finished)

        threading.Thread(target=run, name=f"watch-{self.resource.name}", daemon=True).start()
        return done

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._version is None:
                    self._list()
                self._watch()
                self._backoff.reset()
            except Gone:
                self._version = None
            except ApiException as exc:
                self._refused(exc)
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                if not self._stopping.is_set():
                    self._deliver(Contact(self.resource.name, "unreachable", _describe(exc)))
                    self._stopping.wait(self._backoff.next())

    def _refused(self, exc: ApiException) -> None:
        name, status = self.resource.name, exc.status
        if status == 410:
            self._version = None
        elif status == 404:  # not served here (no such CRD): none of them, and no error
            self._deliver(Contact(name, "reached"))
            self._deliver(Listed(name, []))
            self._stopping.wait(ABSENT_RETRY_S)
        else:
            outcome: Literal["unreachable", "degraded"] = "degraded" if status == 403 else "unreachable"
            self._deliver(Contact(name, outcome, f"{name}: HTTP {status} {exc.reason}"))
            self._stopping.wait(self._backoff.next())

    def _call(self, **params: Any) -> urllib3.BaseHTTPResponse:
        timeouts = (self._settings.connect_timeout_s, self._settings.read_timeout_s)
        if self.resource.field_selector:
            params["field_selector"] = self.resource.field_selector
        response: urllib3.BaseHTTPResponse = self._list_call(
            _preload_content=False, _request_timeout=timeouts, **params
        )
        return response

    def _list(self) -> None:
        items: list[Json] = []
        token: str | None = None
        while True:
            self._response = response = self._call(limit=self._settings.page_size, _continue=token)
            try:
                page = json.loads(response.data)
            finally:
                self._response = None
            items += page.get("items") or []
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                break
        self._deliver(Contact(self.resource.name, "reached"))
        self._deliver(Listed(self.resource.name, items))
        self._version = str(meta.get("resourceVersion") or "")

    def _watch(self) -> None:
        self._response = response = self._call(
            watch=True,
            resource_version=self._version or None,
            allow_watch_bookmarks=True,
            timeout_seconds=self._settings.watch_timeout_s,
        )
        self._deliver(Contact(self.resource.name, "reached"))
        try:
            for event in json_lines(response.stream(amt=None, decode_content=True)):
                self._on_event(event)
        except urllib3.exceptions.ReadTimeoutError:
            pass  # a watch silent longer than read_timeout_s: resume it from the last version
        finally:
            self._response = None
            response.release_conn()

    def _on_event(self, event: Json) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone(obj.get("message"))
            raise ApiException(status=obj.get("code"), reason=obj.get("message"))
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind != "BOOKMARK":
            self._deliver(Changed(self.resource.name, str(kind), obj))
        if version:
            self._version = str(version)


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return f"{type(exc).__name__}: {reason or exc}"[:500]
