"""BullMQ's worker-loop wait, replaced: the same contract as `bullmq.worker.getCompleted`, with
each task's done callback added once for its life instead of on every call."""

from __future__ import annotations

import asyncio
from typing import Any

import bullmq.worker

from oee.adapters.queue import bullmq_completions
from oee.adapters.queue.bullmq_completions import TaskSet, get_completed


class CountingFuture(asyncio.Future[Any]):
    """A future that counts the done callbacks it was given."""

    added = 0

    def add_done_callback(self, fn: Any, *, context: Any = None) -> None:
        self.added += 1
        super().add_done_callback(fn, context=context)


def no_emit(*_: Any) -> None:
    raise AssertionError("nothing should be emitted")


async def test_waits_for_a_finished_task_and_returns_the_rest_pending() -> None:
    loop = asyncio.get_running_loop()
    slow: asyncio.Future[Any] = loop.create_future()
    fast: asyncio.Future[Any] = loop.create_future()
    loop.call_later(0.01, fast.set_result, "job-1")
    jobs, pending = await get_completed({slow, fast}, no_emit)
    assert jobs == ["job-1"]
    assert set(pending) == {slow}
    assert isinstance(pending, TaskSet)


async def test_a_fetch_that_found_no_job_is_dropped_and_a_failure_emitted() -> None:
    loop = asyncio.get_running_loop()
    empty: asyncio.Future[Any] = loop.create_future()
    broken: asyncio.Future[Any] = loop.create_future()
    empty.set_result(None)
    broken.set_exception(RuntimeError("boom"))
    emitted: list[tuple[Any, ...]] = []
    jobs, pending = await get_completed({empty, broken}, lambda *a: emitted.append(a))
    assert (jobs, set(pending)) == ([], set())
    assert [(name, str(error)) for name, error in emitted] == [("error", "boom")]


async def test_an_empty_set_returns_at_once() -> None:
    assert await get_completed(set(), no_emit) == ([], set())


async def test_as_the_worker_loop_uses_it_every_result_once_and_one_callback_per_task() -> None:
    """The loop's shape: add tasks to the returned set, pass it back, many times over."""
    loop = asyncio.get_running_loop()
    long_lived = CountingFuture(loop=loop)
    processing: set[asyncio.Future[Any]] = {long_lived}
    seen: list[int] = []
    for n in range(50):
        task = CountingFuture(loop=loop)
        loop.call_soon(task.set_result, n)
        processing.add(task)
        jobs, processing = await get_completed(processing, no_emit)
        seen += jobs
    assert seen == list(range(50))
    assert set(processing) == {long_lived}
    # asyncio.wait would have added (and removed) a callback on each of the 50 calls.
    assert long_lived.added == 1
    long_lived.set_result("last")
    assert (await get_completed(processing, no_emit))[0] == ["last"]


async def test_several_finishing_together_are_returned_together() -> None:
    loop = asyncio.get_running_loop()
    tasks = [loop.create_future() for _ in range(5)]
    for n, task in enumerate(tasks):
        loop.call_soon(task.set_result, n)
    await asyncio.sleep(0)
    jobs, pending = await get_completed(set(tasks), no_emit)
    assert sorted(jobs) == [0, 1, 2, 3, 4]
    assert not pending


def test_install_replaces_the_function_the_worker_loop_calls() -> None:
    original = bullmq.worker.getCompleted
    try:
        bullmq_completions.install()
        assert bullmq.worker.getCompleted is get_completed
    finally:
        bullmq.worker.getCompleted = original
