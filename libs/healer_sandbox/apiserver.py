"""The sandbox's Kubernetes API over HTTP: a `kmock.KubernetesEmulator` whose object handling is replaced by
the store (store.py), so that it behaves as the official client, informers and kubectl expect.

kmock gives the HTTP server plumbing, request parsing (resource, namespace, name, subresource, action) and
API discovery from its bundled resource table. This class answers every resource request itself: list
(label and field selectors, `limit`/`continue` pages), watch (from a resourceVersion, with 410 Gone when too
old, `timeoutSeconds`), get, create, replace (PUT, with resourceVersion preconditions), patch (merge,
strategic merge, JSON patch), delete (finalizers, cascading to dependents or orphaning them), delete
collection, `dryRun=All`, and the subresources `status`, `scale`, `eviction` and pods' `log`. Errors are
Status objects with the codes and reasons of the real API server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
from collections.abc import Callable
from typing import Any

import attrs
import kmock
from aiohttp import web

from healer_common.clock import Clock, SystemClock
from healer_sandbox import kinds
from healer_sandbox.patching import PatchError, apply_patch
from healer_sandbox.selectors import Matcher, SelectorError, field_matcher, label_matcher
from healer_sandbox.store import ApiError, ObjectStore, WatchEvent, meta

HEALTH_PATHS = ("/healthz", "/readyz", "/livez")
MAX_WATCH_S = 1800.0
KEPT_REQUESTS = 200  # kmock records every request; the sandbox runs for hours, so it keeps only the last few
PodLogs = Callable[[str, str, str | None, int | None], list[str]]


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status)


def _scale(obj: dict[str, Any]) -> dict[str, Any]:
    """The `scale` subresource's view of a Deployment or ReplicaSet (autoscaling/v1 Scale)."""
    metadata = meta(obj)
    labels = (obj.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: metadata[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 1)},
        "status": {
            "replicas": obj.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


def _success(name: str, kind: str, code: int = 200) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "kind": kind},
        "code": code,
    }


def _resource_list(payload: dict[str, Any], resource: kmock.resource) -> dict[str, Any]:
    """kmock's APIResourceList, corrected as kubectl needs it: the core group's groupVersion is `v1`, and
    subresources (`pods/log`, `deployments/scale`) carry no short names or categories of their own."""
    entries = [
        {**entry, "shortNames": [], "categories": []} if "/" in entry["name"] else entry
        for entry in payload["resources"]
    ]
    return {**payload, "groupVersion": f"{resource.group}/{resource.version}".lstrip("/"), "resources": entries}


def _continue_token(namespace: str | None, name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([namespace, name]).encode()).decode()


def _after_token(token: str) -> tuple[str, str]:
    try:
        namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise ApiError(400, "BadRequest", f"continue key is not valid: {token!r}") from None
    return (namespace or "", name)


@attrs.define(kw_only=True)
class KubeApiServer(kmock.KubernetesEmulator):
    clock: Clock = attrs.field(factory=SystemClock)
    history: int = 20_000
    bookmark_s: float = 60.0  # a watcher that allows bookmarks gets one after this long without an event
    pod_logs: PodLogs | None = None
    on_change: Callable[[str, str], None] | None = None  # (method, path) after every change a client makes
    store: ObjectStore = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        kinds.declare(self.resources)
        self.store = ObjectStore(self.objects, self.resources, self.clock, self.history)

    async def _handle(self, request: kmock.Request) -> web.StreamResponse:
        if len(self._requests) > 2 * KEPT_REQUESTS:
            del self._requests[:-KEPT_REQUESTS]
        try:
            return await self._route(request)
        except ApiError as exc:
            return _json(exc.status(), exc.code)
        except SelectorError as exc:
            return _json(ApiError(400, "BadRequest", str(exc)).status(), 400)
        except PatchError as exc:
            reason = "UnsupportedMediaType" if exc.status == 415 else "Invalid"
            return _json(ApiError(exc.status, reason, str(exc)).status(), exc.status)

    async def _route(self, request: kmock.Request) -> web.StreamResponse:
        resource = request.resource
        if request.url.path in HEALTH_PATHS:
            return web.Response(text="ok")
        if resource is None or resource.plural is None:
            return await self._discovery(request)
        if resource not in self.resources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        method = str(request.method.value).upper()
        if method == "GET":
            return await self._read(request, resource)
        write, status = self._write_action(method, request)
        return self._changed(request, write(request, resource), status)

    def _write_action(
        self, method: str, request: kmock.Request
    ) -> tuple[Callable[[kmock.Request, kmock.resource], dict[str, Any]], int]:
        """Which write a request asks for, and the status code of its success."""
        named = request.name is not None
        if method == "POST" and (not named or request.subresource == "eviction"):
            return (self._evict if named else self._create), 201
        if method in {"PUT", "PATCH"} and named:
            return (lambda r, res: self._update(r, res, method)), 200
        if method == "DELETE":
            return self._delete, 200
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {request.url.path}")

    def _changed(self, request: kmock.Request, payload: dict[str, Any], status: int) -> web.Response:
        if self.on_change is not None and not self._dry_run(request):
            self.on_change(str(request.method.value).upper(), request.url.path)
        return _json(payload, status)

    async def _discovery(self, request: kmock.Request) -> web.StreamResponse:
        """API discovery, answered by kmock's scaffold from its resource table."""
        resource = request.resource
        if resource is not None and resource.version is not None:
            listed = await self._serve_version(request)
            assert isinstance(listed, dict)  # kmock's scaffold answers discovery with plain JSON
            return _json(_resource_list(listed, resource))
        if resource is not None and resource.group:
            return _json(await self._serve_group(request))
        paths = {
            "/": self._serve_root,
            "/api": self._serve_api,
            "/apis": self._serve_apis,
            "/version": self._serve_server_version,
        }
        serve = paths.get(request.url.path.rstrip("/") or "/")
        if serve is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return _json(await serve(request))

    # reading ---------------------------------------------------------------------------------------------
    def _namespace(self, request: kmock.Request, resource: kmock.resource) -> str | None:
        return request.namespace if self.store.namespaced(resource) else None

    def _matcher(self, request: kmock.Request) -> Matcher:
        by_label = label_matcher(request.params.get("labelSelector"))
        by_field = field_matcher(request.params.get("fieldSelector"))
        if request.name is not None:  # a watch on one object
            by_name = field_matcher(f"metadata.name={request.name}")
            return lambda obj: by_name(obj) and by_label(obj) and by_field(obj)
        return lambda obj: by_label(obj) and by_field(obj)

    async def _read(self, request: kmock.Request, resource: kmock.resource) -> web.StreamResponse:
        if request.params.get("watch") in {"true", "1"}:
            return await self._watch(request, resource)
        if request.name is None:
            return _json(self._list(request, resource))
        obj = self.store.require(resource, self._namespace(request, resource), request.name)
        if request.subresource == "scale":
            return _json(_scale(obj))
        if request.subresource == "log":
            return self._log(request, obj)
        return _json(obj)

    def _list(self, request: kmock.Request, resource: kmock.resource) -> dict[str, Any]:
        matches = self._matcher(request)
        found = [o for o in self.store.items(resource, self._namespace(request, resource)) if matches(o)]
        found.sort(key=lambda o: (meta(o).get("namespace") or "", meta(o).get("name", "")))
        if token := request.params.get("continue"):
            after = _after_token(token)
            found = [o for o in found if (meta(o).get("namespace") or "", meta(o).get("name", "")) > after]
        list_meta: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        limit = int(request.params.get("limit") or 0)
        if 0 < limit < len(found):
            last = meta(found[limit - 1])
            list_meta["continue"] = _continue_token(last.get("namespace"), last["name"])
            list_meta["remainingItemCount"] = len(found) - limit
            found = found[:limit]
        version = f"{resource.group}/{resource.version}".lstrip("/")
        return {
            "kind": f"{self.store.kind(resource)}List",
            "apiVersion": version,
            "metadata": list_meta,
            "items": found,
        }

    def _log(self, request: kmock.Request, pod: dict[str, Any]) -> web.Response:
        tail = request.params.get("tailLines")
        lines = (
            self.pod_logs(
                meta(pod)["namespace"], meta(pod)["name"], request.params.get("container"), int(tail) if tail else None
            )
            if self.pod_logs
            else []
        )
        return web.Response(text="".join(f"{line}\n" for line in lines), content_type="text/plain")

    def _watch_start(
        self, request: kmock.Request, resource: kmock.resource, matches: Matcher
    ) -> tuple[list[dict[str, Any]], int]:
        """What a new watch sends first: the current objects as ADDED (no resourceVersion, or "0"), else the
        retained events after the given resourceVersion, or one ERROR event (410 Gone) when it is too old."""
        since = request.params.get("resourceVersion") or "0"
        if since == "0":
            namespace = self._namespace(request, resource)
            current = [o for o in self.store.items(resource, namespace) if matches(o)]
            return [{"type": "ADDED", "object": o} for o in current], self.store.rv
        try:
            replay = self.store.events_since(resource, int(since))
        except ValueError:
            raise ApiError(400, "BadRequest", f"invalid resource version {since!r}") from None
        except ApiError as gone:
            return [{"type": "ERROR", "object": gone.status()}], -1
        return [e.wire() for e in replay if self._visible(request, resource, e, matches=matches)], self.store.rv

    def _visible(
        self, request: kmock.Request, resource: kmock.resource, event: WatchEvent, *, matches: Matcher
    ) -> bool:
        namespace = self._namespace(request, resource)
        return (namespace is None or meta(event.object).get("namespace") == namespace) and matches(event.object)

    async def _watch(self, request: kmock.Request, resource: kmock.resource) -> web.StreamResponse:
        matches = self._matcher(request)
        timeout = min(float(request.params.get("timeoutSeconds") or MAX_WATCH_S), MAX_WATCH_S)
        queue = self.store.subscribe(resource)  # before the snapshot: nothing falls between the two
        try:
            first, start_rv = self._watch_start(request, resource, matches)
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            assert request._raw_request is not None
            await response.prepare(request._raw_request)
            with contextlib.suppress(ConnectionError):
                for event in first:
                    await response.write(json.dumps(event).encode() + b"\n")
                if start_rv >= 0:
                    visible = functools.partial(self._visible, request, resource, matches=matches)
                    deadline = asyncio.get_running_loop().time() + timeout
                    wants_bookmarks = request.params.get("allowWatchBookmarks") in {"true", "1"}
                    bookmark = functools.partial(self._bookmark, resource) if wants_bookmarks else None
                    await self._follow(response, queue, start_rv, deadline=deadline, visible=visible, bookmark=bookmark)
            return response
        finally:
            self.store.unsubscribe(resource, queue)

    async def _follow(
        self,
        response: web.StreamResponse,
        queue: asyncio.Queue[WatchEvent],
        start_rv: int,
        *,
        deadline: float,
        visible: Callable[[WatchEvent], bool],
        bookmark: Callable[[], dict[str, Any]] | None,
    ) -> None:
        """Stream the changes after `start_rv` that the watcher may see, until the deadline (timeoutSeconds);
        after `bookmark_s` without one, a BOOKMARK with the current resourceVersion (if the watcher allows)."""
        loop = asyncio.get_running_loop()
        quiet_until = loop.time() + self.bookmark_s
        while (now := loop.time()) < deadline:
            wait = (min(deadline, quiet_until) if bookmark else deadline) - now
            try:
                change = await asyncio.wait_for(queue.get(), max(0.0, wait))
            except TimeoutError:
                if bookmark is not None and loop.time() >= quiet_until:
                    await response.write(json.dumps(bookmark()).encode() + b"\n")
                    quiet_until = loop.time() + self.bookmark_s
                continue
            if change.rv > start_rv and visible(change):
                await response.write(json.dumps(change.wire()).encode() + b"\n")
                quiet_until = loop.time() + self.bookmark_s

    def _bookmark(self, resource: kmock.resource) -> dict[str, Any]:
        """A BOOKMARK event: nothing changed for this watcher up to the current resourceVersion."""
        version = f"{resource.group}/{resource.version}".lstrip("/")
        metadata = {"resourceVersion": str(self.store.rv)}
        return {
            "type": "BOOKMARK",
            "object": {"kind": self.store.kind(resource), "apiVersion": version, "metadata": metadata},
        }

    # writing ---------------------------------------------------------------------------------------------
    def _body(self, request: kmock.Request) -> Any:
        if request.data is None and request.body:
            try:
                return json.loads(request.body)
            except ValueError:
                raise ApiError(400, "BadRequest", "the request body is not JSON") from None
        return request.data

    def _object_body(self, request: kmock.Request) -> dict[str, Any]:
        body = self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        return body

    def _dry_run(self, request: kmock.Request) -> bool:
        return request.params.get("dryRun") == "All"

    def _create(self, request: kmock.Request, resource: kmock.resource) -> dict[str, Any]:
        body = self._object_body(request)
        metadata = dict(meta(body))
        namespace = self._namespace(request, resource)
        if namespace is not None:
            if metadata.get("namespace") not in (None, namespace):
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            metadata["namespace"] = namespace
        return self.store.create(resource, {**body, "metadata": metadata}, dry_run=self._dry_run(request))

    def _update(self, request: kmock.Request, resource: kmock.resource, method: str) -> dict[str, Any]:
        assert request.name is not None
        current = self.store.require(resource, self._namespace(request, resource), request.name)
        body = self._body(request)
        sub = request.subresource
        if sub == "scale":
            base = _scale(current)
            scaled = apply_patch(base, body, self._content_type(request), builtin=True) if method == "PATCH" else body
            replicas = int((scaled or {}).get("spec", {}).get("replicas", base["spec"]["replicas"]))
            updated = self.store.write(resource, {**current, "spec": {**current.get("spec", {}), "replicas": replicas}})
            return _scale(updated)
        if method == "PATCH":
            new = apply_patch(current, body, self._content_type(request), builtin=kinds.builtin(resource))
            expect = None
        else:
            new = self._object_body(request)
            expect = meta(new).get("resourceVersion")
            if meta(new).get("name") != request.name:
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        new = {**new, "metadata": {**meta(new), "name": request.name, "namespace": meta(current).get("namespace")}}
        if sub == "status":
            new = {**current, "metadata": {**meta(current)}, "status": new.get("status")}
        elif self.store.has_status(resource) and "status" in current:
            new = {**new, "status": current["status"]}
        return self.store.write(resource, new, expect_rv=expect, dry_run=self._dry_run(request))

    def _content_type(self, request: kmock.Request) -> str:
        return str(request.headers.get("Content-Type") or request.headers.get("content-type") or "")

    def _delete(self, request: kmock.Request, resource: kmock.resource) -> dict[str, Any]:
        body = self._body(request) if request.body else None
        options = body if isinstance(body, dict) else {}
        policy = request.params.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
        dry_run = self._dry_run(request) or "All" in (options.get("dryRun") or [])
        namespace = self._namespace(request, resource)
        if request.name is None:
            matches = self._matcher(request)
            doomed = [meta(o)["name"] for o in self.store.items(resource, namespace) if matches(o)]
            gone = [
                self.store.delete(resource, namespace, n, orphan=policy == "Orphan", dry_run=dry_run) for n in doomed
            ]
            version = f"{resource.group}/{resource.version}".lstrip("/")
            return {"kind": f"{self.store.kind(resource)}List", "apiVersion": version, "metadata": {}, "items": gone}
        return self.store.delete(resource, namespace, request.name, orphan=policy == "Orphan", dry_run=dry_run)

    def _evict(self, request: kmock.Request, resource: kmock.resource) -> dict[str, Any]:
        """The Eviction API: no PodDisruptionBudget blocks it in the sandbox, so the pod is deleted and its
        controller starts a replacement on a schedulable node."""
        if resource != kinds.PODS or request.name is None:
            raise ApiError(404, "NotFound", "eviction is a subresource of pods")
        self.store.delete(resource, request.namespace, request.name, dry_run=self._dry_run(request))
        return _success(request.name, "pods", 201)
