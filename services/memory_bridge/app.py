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
from services.memory_bridge.bridge import MemoryBridge
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


def setup(svc: Service) -> None:
    backend = open_backend(svc)
    svc.on_stop(backend.close)
    bridge = MemoryBridge(backend, svc.clock, svc.settings.memory)
    recent = RecentActivity(svc.settings.memory.recent_window_s, svc.clock.now())
    foresight = Foresight(bridge, recent, svc.settings.memory, svc.settings.cluster.name)
    register(svc, bridge, foresight, IdleAnalysis(svc.settings, foresight))


def main() -> None:
    run_service("memory-bridge", setup)
