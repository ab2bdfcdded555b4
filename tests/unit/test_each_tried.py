"""A batch handler's rule (runtime/batches.py): every step of a wave is tried, and the first failure is raised
only after all of them ended, as it is, so a Retryable still makes the batch wait."""

from __future__ import annotations

import asyncio

import pytest

from healer_common.errors import Retryable
from healer_common.runtime.batches import each_tried


async def test_every_step_runs_and_the_first_failure_is_raised_as_it_is() -> None:
    done: list[str] = []

    async def step(name: str, fails: Exception | None = None) -> None:
        await asyncio.sleep(0.01 if fails is None else 0)
        if fails is not None:
            raise fails
        done.append(name)

    with pytest.raises(Retryable, match="nats down"):
        await each_tried([step("a"), step("b", Retryable("nats down")), step("c", ValueError("bad")), step("d")])

    assert sorted(done) == ["a", "d"], "the steps after a failure still ran"


async def test_nothing_failed_nothing_raised() -> None:
    await each_tried([asyncio.sleep(0), asyncio.sleep(0)])
    await each_tried([])
