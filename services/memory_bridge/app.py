"""Composes memory-bridge: settings -> backend (OpenMemory when configured, else the embedded store) ->
bridge -> handlers and periodic tasks.
"""

from __future__ import annotations

from healer_common.bus import Service, run_service
from services.memory_bridge.bridge import MemoryBridge
from services.memory_bridge.embedded_store import EmbeddedStore
from services.memory_bridge.handlers import register
from services.memory_bridge.recent import RecentActivity


def setup(svc: Service) -> None:
    settings = svc.settings.memory
    backend = EmbeddedStore(settings.store_path)
    svc.detail["backend"] = f"embedded:{settings.store_path}"
    svc.on_stop(backend.close)
    bridge = MemoryBridge(backend, svc.clock, settings)
    recent = RecentActivity(settings.recent_window_s, svc.clock.now())
    register(svc, bridge, recent)


def main() -> None:
    run_service("memory-bridge", setup)
