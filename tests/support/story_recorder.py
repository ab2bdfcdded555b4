"""Everything a newcomer's `make run` publishes, from its first second: alerts, incidents and remediations with
the time since `healer up` started, recorded by a thread of its own so that several tests of one module can
read the same run (each test function has its own event loop; this recorder outlives them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import nats

from healer_common.runtime.servers import port_in_use

SUBJECTS = ("healer.alerts.*", "healer.incidents.*", "healer.remediations.*")


@dataclass
class Seen:
    at_s: float
    subject: str
    body: dict[str, Any]


@dataclass
class StoryRecorder:
    nats_port: int
    started: float = field(default_factory=time.monotonic)
    seen: list[Seen] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> StoryRecorder:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._record()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    async def _record(self) -> None:
        deadline = time.monotonic() + 120
        while not port_in_use(self.nats_port) and time.monotonic() < deadline and not self._stop.is_set():
            await asyncio.sleep(0.2)
        nc = await nats.connect(f"nats://127.0.0.1:{self.nats_port}", max_reconnect_attempts=-1)

        async def on_message(msg: Any) -> None:
            entry = Seen(time.monotonic() - self.started, msg.subject, json.loads(msg.data))
            with self._lock:
                self.seen.append(entry)

        for subject in SUBJECTS:
            await nc.subscribe(subject, cb=on_message)
        while not self._stop.is_set():
            await asyncio.sleep(0.2)
        with contextlib.suppress(Exception):
            await nc.close()

    def of(self, family: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.subject.startswith(f"healer.{family}.")]

    def elapsed(self) -> float:
        return time.monotonic() - self.started
