"""Composes memory-bridge: settings -> store -> handlers."""

from __future__ import annotations

from healer_common.bus import Service, run_service
from services.memory_bridge.handlers import register
from services.memory_bridge.simple_store import SimpleMemoryStore


def setup(svc: Service) -> None:
    store = SimpleMemoryStore(svc.settings.memory.store_path, svc.clock)

    async def close() -> None:
        store.close()

    svc.on_stop(close)
    svc.detail["backend"] = f"embedded:{svc.settings.memory.store_path}"
    register(svc, store)


def main() -> None:
    run_service("memory-bridge", setup)
