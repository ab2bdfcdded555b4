"""Composes memory-bridge: settings -> backend (OpenMemory when OPENMEMORY_URL is set, else the embedded
store) -> bridge, current conditions and foresight -> handlers and the idle-time analysis.
"""

from __future__ import annotations

from healer_common.errors import HealerError
from healer_common.runtime.bus import Service, run_service
from services.memory_bridge.adapters.embedded_store import EmbeddedStore
from services.memory_bridge.adapters.idle import IdleAnalysis
from services.memory_bridge.adapters.openmemory_client import OpenMemoryClient
from services.memory_bridge.adapters.openmemory_store import OpenMemoryStore
from services.memory_bridge.backend import MemoryBackend
from services.memory_bridge.bridge import MemoryBridge, SharedSource
from services.memory_bridge.foresight import Foresight
from services.memory_bridge.handlers import register
from services.memory_bridge.recent import RecentActivity


def open_backend(svc: Service) -> MemoryBackend:
    settings = svc.settings.memory
    if not settings.openmemory_url:
        svc.detail["backend"] = f"embedded:{settings.store_path}"
        return EmbeddedStore(settings.store_path)
    key = settings.openmemory_api_key
    client = OpenMemoryClient(
        settings.openmemory_url,
        key.get_secret_value() if key else None,
        timeout_s=settings.openmemory_timeout_s,
        retries=settings.openmemory_retries,
        user_id=settings.openmemory_user_id,
    )
    store = OpenMemoryStore(client, svc.clock)
    svc.detail["backend"] = f"openmemory:{settings.openmemory_url}"

    async def check() -> None:
        """Say which OpenMemory this is; an unreachable one is reported, not fatal (answers carry the error)."""
        try:
            health = await store.health()
        except HealerError as exc:
            svc.log.warning("openmemory_unavailable", url=settings.openmemory_url, error=str(exc))
        else:
            svc.log.info("openmemory", version=health.get("version"), tier=health.get("tier"))

    svc.on_start(check)
    return store


def open_shared(svc: Service) -> tuple[SharedSource, ...]:
    """Other agents' memories, each its own store or OpenMemory tenant, opened to be searched only."""
    settings, found = svc.settings.memory, []
    for shared in settings.shared:
        backend: MemoryBackend
        if shared.store_path is not None:
            backend = EmbeddedStore(shared.store_path)
        else:
            url = shared.openmemory_url or settings.openmemory_url
            if url is None:
                svc.log.warning(
                    "shared_memory_skipped", agent=shared.agent, reason="no store_path and no OpenMemory URL"
                )
                continue
            key = shared.openmemory_api_key
            client = OpenMemoryClient(
                url,
                key.get_secret_value() if key else None,
                timeout_s=settings.openmemory_timeout_s,
                retries=settings.openmemory_retries,
                user_id=shared.openmemory_user_id,
            )
            backend = OpenMemoryStore(client, svc.clock)
        svc.on_stop(backend.close)
        found.append(SharedSource(shared.agent, shared.weight, backend))
    if found:
        svc.detail["shared memory"] = ", ".join(f"{s.agent} x{s.weight:g}" for s in found)
    return tuple(found)


def setup(svc: Service) -> None:
    backend = open_backend(svc)
    svc.on_stop(backend.close)
    bridge = MemoryBridge(backend, svc.clock, svc.settings.memory, open_shared(svc))
    recent = RecentActivity(svc.settings.memory.recent_window_s, svc.clock.now())
    foresight = Foresight(bridge, recent, svc.settings.memory, svc.settings.cluster.name)
    register(svc, bridge, foresight, IdleAnalysis(svc.settings, foresight))


def main() -> None:
    run_service("memory-bridge", setup)
