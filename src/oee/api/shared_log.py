"""The event log as every stream of one API process reads it: coalesced, few reads at once.

A stream reads an order's log to fill a gap (pub/sub dropped or reordered an event) or to
backfill an order first heard of mid-life. Such needs come in herds: one event dropped on
the way into this process leaves the same gap in every client that follows the order, and a
thousand firehose clients find it in the same moment. Reading the log once per client would
make the database's load grow with the number of clients and exhaust the connection pool, so:

- **Coalesced.** Callers asking for the same order before its read is issued share that read
  (it starts from the lowest seq any of them asked for; each gets its own part). A read is
  issued only after everyone who shares it asked, so it holds everything committed before
  any of them needed it: a gap seen in a live event is filled up to that event.
- **Few at once.** At most `LOG_READS_AT_ONCE` reads are in the database at a time; the rest
  wait their turn in memory, without a timeout, instead of queueing in the pool's checkout
  (which times out after 30 s and would fail the stream). Streams thus never hold more than
  a few of the pool's connections, and the rest stay free for placing orders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from oee.domain.events import OrderEvent

# `(order_id, after_seq)` -> the order's events with `seq > after_seq`, in seq order.
ReadLog = Callable[[str, int], Awaitable[list[OrderEvent]]]

LOG_READS_AT_ONCE = 4  # of a pool of 10 (+10 overflow): streams never starve order placement


class _Read:
    """One read not yet issued: the lowest seq it starts after, and its result."""

    __slots__ = ("after", "result")

    def __init__(self, after: int) -> None:
        self.after = after
        self.result: asyncio.Future[list[OrderEvent]] = asyncio.get_running_loop().create_future()
        # Every sharer may have gone (clients leave): never warn about an unread exception.
        self.result.add_done_callback(_mark_retrieved)


def _mark_retrieved(future: asyncio.Future[list[OrderEvent]]) -> None:
    if not future.cancelled():
        future.exception()


class SharedLog:
    """Reads of the event log shared by every stream of this process.

    Args:
        read_log: The store's read (`OrderService.events`).
        at_once: How many reads may be in the database at a time.
    """

    def __init__(self, read_log: ReadLog, *, at_once: int = LOG_READS_AT_ONCE) -> None:
        self._read_log = read_log
        self._gate = asyncio.Semaphore(at_once)
        self._waiting: dict[str, _Read] = {}  # per order, the read that callers can still join
        self._issuing: set[asyncio.Future[None]] = set()
        self.reads = 0  # reads issued to the store (the tests count them)

    async def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        """The order's events with `seq > after_seq`, in seq order (a `ReadLog`).

        Raises:
            Exception: Whatever the store's read raised, to every caller that shared it.
        """
        read = self._waiting.get(order_id)
        if read is None:
            read = self._waiting[order_id] = _Read(after_seq)
            task = asyncio.ensure_future(self._issue(order_id, read))
            self._issuing.add(task)  # held: the loop keeps only weak references to tasks
            task.add_done_callback(self._issuing.discard)
        read.after = min(read.after, after_seq)
        # Shielded: a caller that leaves must not cancel the read the others wait for.
        events = await asyncio.shield(read.result)
        return [event for event in events if event.seq > after_seq]

    async def _issue(self, order_id: str, read: _Read) -> None:
        try:
            async with self._gate:
                # From here on the read is closed to new callers: they need what is committed
                # now, which a read that was issued earlier might not hold.
                if self._waiting.get(order_id) is read:
                    del self._waiting[order_id]
                self.reads += 1
                events = await self._read_log(order_id, read.after)
        except asyncio.CancelledError:  # the loop is closing: the sharers must not wait forever
            self._drop(order_id, read)
            read.result.cancel()
            raise
        except Exception as exc:
            self._drop(order_id, read)
            if not read.result.done():
                read.result.set_exception(exc)
            return
        if not read.result.done():
            read.result.set_result(events)

    def _drop(self, order_id: str, read: _Read) -> None:
        if self._waiting.get(order_id) is read:
            del self._waiting[order_id]
