"""The loop-pass batcher behind group commit, without a database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from oee.adapters.store._batcher import Batcher


class Recorder:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail

    async def flush(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await asyncio.sleep(0)  # a write takes at least one pass
        if self.fail is not None:
            raise self.fail
        return [ValueError(str(i)) if i < 0 else i * 10 for i in items]


async def test_one_pass_is_one_batch_and_each_caller_gets_its_outcome() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_items=100)
    results = await asyncio.gather(*(batcher.submit(i) for i in (1, -2, 3)), return_exceptions=True)
    assert recorder.batches == [[1, -2, 3]]
    assert results[0] == 10
    assert isinstance(results[1], ValueError)
    assert results[2] == 30


async def test_callers_woken_by_a_batch_form_the_next_one() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_items=100)

    async def twice(i: int) -> int:
        return await batcher.submit(i) + await batcher.submit(i + 100)

    assert await asyncio.gather(*(twice(i) for i in range(4))) == [
        i * 10 + (i + 100) * 10 for i in range(4)
    ]
    assert recorder.batches == [[0, 1, 2, 3], [100, 101, 102, 103]]


async def test_a_full_batch_goes_at_once() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_items=2)
    await asyncio.gather(*(batcher.submit(i) for i in range(5)))
    assert recorder.batches == [[0, 1], [2, 3], [4]]


async def test_a_failed_flush_fails_every_caller_with_its_error() -> None:
    batcher: Batcher[int, int] = Batcher(Recorder(OSError("down")).flush, max_items=10)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
    assert [str(r) for r in results] == ["down"] * 3
    assert all(isinstance(r, OSError) for r in results)


async def test_a_cancelled_caller_leaves_the_others_their_outcome() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_items=10)
    first = asyncio.ensure_future(batcher.submit(1))
    second = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == 20
    with pytest.raises(asyncio.CancelledError):
        await first
    assert recorder.batches == [[1, 2]]  # still written: the write was already on its way


async def test_wait_idle_writes_a_batch_held_open_by_its_window() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_items=10, window_s=60)
    pending = asyncio.ensure_future(batcher.submit(7))
    await asyncio.sleep(0)
    await asyncio.wait_for(batcher.wait_idle(), 5)
    assert await pending == 70
