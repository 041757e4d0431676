"""`StreamReads`: store reads shared by every stream of a process, few in the database at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from oee.api.stream_reads import StreamReads
from oee.domain.events import OrderEvent
from oee.domain.orders import Order

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Log:
    """An event log whose reads wait until released, counting how many run at once."""

    def __init__(self, events: int = 5) -> None:
        self.events = {"a": [OrderEvent("a", s, "routing", T0, 1) for s in range(1, events + 1)]}
        self.reads: list[tuple[str, int]] = []
        self.running = self.most_running = 0
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def read(self, order_id: str, after: int) -> list[OrderEvent]:
        self.reads.append((order_id, after))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.release.wait()
            if self.fail is not None:
                raise self.fail
            return [e for e in self.events.get(order_id, []) if e.seq > after]
        finally:
            self.running -= 1

    async def order(self, order_id: str) -> Order | None:
        self.reads.append((order_id, -1))
        await self.release.wait()
        return None


def seqs(events: list[OrderEvent]) -> list[int]:
    return [e.seq for e in events]


async def test_callers_before_the_read_is_issued_share_it() -> None:
    log = Log()
    shared = StreamReads(log.read, log.order)
    callers = [asyncio.ensure_future(shared.events("a", after)) for after in (3, 1, 2) * 100]
    await asyncio.sleep(0)
    log.release.set()
    results = await asyncio.gather(*callers)
    assert log.reads == [("a", 1)]  # one read, from the lowest seq asked for
    assert [seqs(r) for r in results[:3]] == [[4, 5], [2, 3, 4, 5], [3, 4, 5]]


async def test_a_caller_after_the_read_was_issued_gets_a_read_of_its_own() -> None:
    # It may need an event committed after that read began: joining it could leave a gap.
    log = Log()
    shared = StreamReads(log.read, log.order)
    first = asyncio.ensure_future(shared.events("a", 0))
    await asyncio.sleep(0.01)  # issued, waiting on the database
    log.events["a"].append(OrderEvent("a", 6, "confirmed", T0, 1))
    second = asyncio.ensure_future(shared.events("a", 0))
    await asyncio.sleep(0)
    log.release.set()
    assert len(await first) in (5, 6)
    assert seqs(await second) == [1, 2, 3, 4, 5, 6]
    assert len(log.reads) == 2


async def test_only_a_few_reads_run_at_once_and_the_rest_wait_their_turn() -> None:
    log = Log()
    shared = StreamReads(log.read, log.order, at_once=3)
    for n in range(20):
        log.events[f"o{n}"] = []
    callers = [asyncio.ensure_future(shared.events(f"o{n}", 0)) for n in range(20)]
    await asyncio.sleep(0.05)
    assert log.running == 3
    log.release.set()
    await asyncio.gather(*callers)
    assert (len(log.reads), log.most_running, shared.reads) == (20, 3, 20)


async def test_a_failed_read_fails_every_caller_that_shared_it() -> None:
    log = Log()
    log.fail = ConnectionError("database gone")
    shared = StreamReads(log.read, log.order)
    callers = [asyncio.ensure_future(shared.events("a", 0)) for _ in range(3)]
    await asyncio.sleep(0)
    log.release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    log.fail = None
    assert seqs(await shared.events("a", 4)) == [5]  # the next read is a fresh one


async def test_a_caller_that_leaves_does_not_cancel_the_others_read() -> None:
    log = Log()
    shared = StreamReads(log.read, log.order)
    leaving = asyncio.ensure_future(shared.events("a", 0))
    staying = asyncio.ensure_future(shared.events("a", 0))
    await asyncio.sleep(0.01)
    leaving.cancel()
    log.release.set()
    assert seqs(await staying) == [1, 2, 3, 4, 5]
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_streams_starting_on_one_order_share_its_read() -> None:
    log = Log()
    shared = StreamReads(log.read, log.order)
    callers = [asyncio.ensure_future(shared.order("a")) for _ in range(50)]
    await asyncio.sleep(0)
    log.release.set()
    assert await asyncio.gather(*callers) == [None] * 50
    assert log.reads == [("a", -1)]
