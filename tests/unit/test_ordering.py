"""Per-key ordering: handlers of one key run one at a time in arrival order; other keys are not held up."""

from __future__ import annotations

import asyncio

from healer_common.runtime.ordering import KeyedSequencer


class Trace:
    """Records when each handler starts and ends, and holds each one until the test lets it go."""

    def __init__(self, sequencer: KeyedSequencer) -> None:
        self.sequencer = sequencer
        self.log: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def handle(self, key: str, name: str) -> None:
        gate = self.gates.setdefault(name, asyncio.Event())
        async with self.sequencer.turn(key):
            self.log.append(f"start {name}")
            await gate.wait()
            self.log.append(f"end {name}")

    def release(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()


async def settle() -> None:
    """Let every runnable task run until all of them are blocked again."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_the_same_key_is_handled_strictly_in_order_even_when_the_first_takes_longer() -> None:
    trace = Trace(KeyedSequencer())
    first = asyncio.create_task(trace.handle("pod/rex-1", "oom"))
    second = asyncio.create_task(trace.handle("pod/rex-1", "ready"))
    await settle()

    assert trace.log == ["start oom"]  # the quick second handler waits for the slow first
    trace.release("ready")
    await settle()
    assert trace.log == ["start oom"]
    trace.release("oom")
    await asyncio.wait_for(asyncio.gather(first, second), timeout=5)

    assert trace.log == ["start oom", "end oom", "start ready", "end ready"]


async def test_different_keys_run_concurrently() -> None:
    trace = Trace(KeyedSequencer())
    tasks = [asyncio.create_task(trace.handle(f"pod/{name}", name)) for name in ("a", "b", "c")]
    await settle()

    assert sorted(trace.log) == ["start a", "start b", "start c"]
    for name in ("c", "b", "a"):
        trace.release(name)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)


async def test_many_handlers_of_one_key_keep_their_arrival_order() -> None:
    sequencer = KeyedSequencer()
    order: list[int] = []

    async def handle(n: int) -> None:
        async with sequencer.turn("k"):
            await asyncio.sleep(0.001 * (20 - n))  # earlier ones take longer
            order.append(n)

    await asyncio.wait_for(asyncio.gather(*(handle(n) for n in range(20))), timeout=5)

    assert order == list(range(20))


async def test_keys_are_forgotten_once_their_handlers_finish() -> None:
    sequencer = KeyedSequencer()
    trace = Trace(sequencer)
    tasks = [asyncio.create_task(trace.handle(key, f"{key}-{i}")) for key in ("a", "b") for i in range(2)]
    await settle()

    assert len(sequencer) == 2
    for name in list(trace.gates):
        trace.release(name)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)

    assert len(sequencer) == 0


async def test_a_failing_handler_releases_its_key_to_the_next() -> None:
    sequencer = KeyedSequencer()
    handled: list[str] = []

    async def fail() -> None:
        async with sequencer.turn("k"):
            raise RuntimeError("handler bug")

    async def succeed() -> None:
        async with sequencer.turn("k"):
            handled.append("next")

    results = await asyncio.wait_for(asyncio.gather(fail(), succeed(), return_exceptions=True), timeout=5)

    assert isinstance(results[0], RuntimeError)
    assert handled == ["next"]
    assert len(sequencer) == 0


async def test_a_waiter_cancelled_in_the_queue_does_not_let_the_next_one_jump_ahead() -> None:
    sequencer = KeyedSequencer()
    trace = Trace(sequencer)
    first = asyncio.create_task(trace.handle("k", "first"))
    cancelled = asyncio.create_task(trace.handle("k", "cancelled"))
    third = asyncio.create_task(trace.handle("k", "third"))
    await settle()

    cancelled.cancel()
    await settle()
    assert trace.log == ["start first"]  # third still waits for first

    trace.release("first")
    trace.release("third")
    await asyncio.wait_for(asyncio.gather(first, third), timeout=5)
    assert cancelled.cancelled()
    assert trace.log == ["start first", "end first", "start third", "end third"]
    assert len(sequencer) == 0
