"""The reflector loop against a scripted API server that does what kmock's emulator does not: resource versions,
BOOKMARK events, a watch that ends, and `410 Gone`. The loop resumes each watch from the last version it saw
(a bookmark's included) and lists again only when the server says the version is gone."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import kmock
import pytest
from kubernetes import client

from healer_common.settings.collector import KubernetesSourceSettings, RetrySettings
from healer_common.testing import HttpPeer, eventually
from services.collector.sources.kube_watch import RESOURCES, Changed, Listed, ResourceWatch, WatchNews

pytestmark = pytest.mark.integration


def pod(name: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "cto", "resourceVersion": version}, "status": {"phase": "Running"}}


def stream(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


class ScriptedApiServer:
    """Answers GET /api/v1/pods as a real API server would along one script: list, watch, bookmark, 410, list."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    def pods(self, request: kmock.Request) -> bytes:
        watching = request.params.get("watch") == "true"
        version = request.params.get("resourceVersion")
        self.asked.append(("watch" if watching else "list", version))
        if not watching:
            return self._list(first=len([kind for kind, _ in self.asked if kind == "list"]) == 1)
        if version == "100":
            bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "150"}}}
            return stream({"type": "ADDED", "object": pod("b", "101")}, bookmark)
        if version == "150":
            gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}
            return stream({"type": "ERROR", "object": gone})
        return stream()  # after the relist: quiet, the watch ends and resumes from 200

    @staticmethod
    def _list(*, first: bool) -> bytes:
        items = [pod("a", "90")] if first else [pod("a", "90"), pod("b", "101"), pod("c", "180")]
        meta = {"resourceVersion": "100" if first else "200"}
        return json.dumps({"kind": "PodList", "metadata": meta, "items": items}).encode()


async def test_watches_resume_from_the_last_version_and_relist_only_when_it_is_gone(http_peer: HttpPeer) -> None:
    server = ScriptedApiServer()
    http_peer.handler["get /api/v1/pods"] << server.pods
    news: list[WatchNews] = []
    lock = threading.Lock()

    def deliver(item: WatchNews) -> None:
        with lock:
            news.append(item)

    api = client.ApiClient(client.Configuration(host=http_peer.url))
    settings = KubernetesSourceSettings(read_timeout_s=5, connect_timeout_s=2)
    watch = ResourceWatch(api, RESOURCES["pods"], settings, RetrySettings(backoff_s=0.05), deliver)
    done = watch.start(asyncio.get_running_loop())
    try:
        await eventually(lambda: ("watch", "200") in server.asked, timeout=30, what="the watch after the relist")
    finally:
        watch.interrupt()
        await asyncio.wait([done], timeout=10)
        api.close()  # type: ignore[no-untyped-call]

    assert server.asked[:5] == [("list", None), ("watch", "100"), ("watch", "150"), ("list", None), ("watch", "200")]
    with lock:
        seen = [
            (type(n).__name__, n.type if isinstance(n, Changed) else len(n.items))
            for n in news
            if isinstance(n, Listed | Changed)
        ]
    assert seen[:3] == [("Listed", 1), ("Changed", "ADDED"), ("Listed", 3)]
