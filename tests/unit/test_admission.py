"""Admission control: the pure policy, and `Admission` over a live loop and queue."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from oee.adapters.queue.memory import MemoryQueue
from oee.services.admission import (
    PROCESS_RETRY_AFTER_S,
    QUEUE_RETRY_AFTER_S,
    Admission,
    AdmissionLimits,
    Load,
    Overloaded,
    refusal,
)

LIMITS = AdmissionLimits(
    max_queue_wait_s=30, max_queue_depth=1000, max_submits_in_flight=256, max_loop_lag_s=1.0
)


def test_a_load_within_every_limit_is_admitted() -> None:
    assert refusal(Load(1000, 30.0, 30.0, 255, 1.0), LIMITS) is None


@pytest.mark.parametrize(
    ("load", "words", "retry_after"),
    [
        (Load(queue_wait_s=31), "wait 31 s", QUEUE_RETRY_AFTER_S),
        (Load(queue_depth=1001), "1001 orders are queued", QUEUE_RETRY_AFTER_S),
        (Load(submits_in_flight=256), "256 submits", PROCESS_RETRY_AFTER_S),
        (Load(loop_lag_s=1.5), "1500 ms behind", PROCESS_RETRY_AFTER_S),
    ],
)
def test_each_limit_refuses_with_its_reason_and_retry_after(
    load: Load, words: str, retry_after: int
) -> None:
    refused = refusal(load, LIMITS)
    assert refused is not None
    assert refused.code == "OVERLOADED"
    assert words in refused.message
    assert refused.retry_after_s == retry_after


def test_a_limit_set_to_none_is_never_applied() -> None:
    off = AdmissionLimits(None, None, None, None)
    assert refusal(Load(10**6, 10**6, 10**6, 10**6, 10**6), off) is None


def test_the_queue_refusal_comes_first() -> None:
    refused = refusal(Load(2000, 60.0, 60.0, 300, 5.0), LIMITS)
    assert refused is not None
    assert refused.retry_after_s == QUEUE_RETRY_AFTER_S


async def test_submits_in_flight_are_counted_and_released() -> None:
    admission = Admission(MemoryQueue(), AdmissionLimits(max_submits_in_flight=2), now)
    try:
        with admission.admit(), admission.admit():
            assert admission.load().submits_in_flight == 2
            with pytest.raises(Overloaded), admission.admit():
                pass
        assert admission.load().submits_in_flight == 0
        assert admission.refused == 1
        with admission.admit():  # room again
            pass
    finally:
        await admission.close()


async def test_the_queue_is_read_in_the_background_and_refuses_once_it_is_behind() -> None:
    queue = MemoryQueue()
    clock = [now()]
    admission = Admission(
        queue,
        AdmissionLimits(max_queue_wait_s=30, max_queue_depth=3),
        lambda: clock[0],
        refresh_s=0.05,
    )
    try:
        await queue.enqueue("a")
        with admission.admit():  # nothing read yet: admitted, and the watcher starts
            pass
        clock[0] += timedelta(seconds=31)
        await _until(lambda: admission.load().queue_wait_s > 30)
        with pytest.raises(Overloaded, match="wait 31 s"), admission.admit():
            pass
    finally:
        await admission.close()


async def test_a_blocked_loop_is_seen_as_lag() -> None:
    admission = Admission(MemoryQueue(), AdmissionLimits(max_loop_lag_s=0.2), now)
    try:
        with admission.admit():
            pass
        await asyncio.sleep(0.15)
        time.sleep(0.5)  # noqa: ASYNC251  # the loop is stuck: the next submit must see it
        with pytest.raises(Overloaded, match="ms behind"), admission.admit():
            pass
        await asyncio.sleep(0.3)  # the loop catches up: admitted again
        with admission.admit():
            pass
    finally:
        await admission.close()


def now() -> datetime:
    return datetime.now(UTC)


async def _until(condition: object, within: float = 2.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


def test_a_queue_that_will_take_too_long_to_drain_refuses_before_its_head_waited() -> None:
    refused = refusal(Load(queue_wait_s=5, queue_drain_s=45), LIMITS)
    assert refused is not None
    assert "wait 45 s" in refused.message


async def test_the_drain_time_is_depth_over_the_recent_pace_of_the_workers() -> None:
    queue = MemoryQueue()
    admission = Admission(queue, AdmissionLimits(max_queue_wait_s=30), now, refresh_s=0.05)
    started = asyncio.Event()

    async def slow(order_id: str) -> None:
        started.set()
        await asyncio.Event().wait()

    try:
        for n in range(101):
            await queue.enqueue(f"o{n}")
        await queue.consume(slow, concurrency=1)  # one taken in 5 s: 0.2/s for 100 left
        await asyncio.wait_for(started.wait(), 2)
        with admission.admit():
            pass
        await _until(lambda: admission.load().queue_drain_s > 0)
        assert admission.load().queue_drain_s == pytest.approx(500)
        with pytest.raises(Overloaded, match="wait 500 s"), admission.admit():
            pass
    finally:
        await admission.close()
        await queue.close()
