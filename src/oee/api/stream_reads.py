"""The store as every stream of one API process reads it: reads shared, few at once.

A stream reads the store when it starts (the order, for its snapshot) and to fill a gap in an
order's events (pub/sub dropped or reordered one) or backfill an order first heard of
mid-life. Such reads come in herds: a thousand clients open streams on the same few orders,
and one event dropped on its way into this process leaves the same gap in every client that
follows the order, found by all in the same moment. Reading once per client would make the
database's load grow with the number of clients and exhaust the connection pool, so:

- **Shared.** Callers asking for the same order before its read is issued share that read (an
  event read starts from the lowest seq any of them asked for; each gets its own part). A
  read is issued only after everyone who shares it asked, so it holds everything committed
  before any of them needed it: what a client subscribed before is either in the read or
  still to come on its subscription, and a gap seen in a live event is filled up to it.
- **Few at once.** At most `READS_AT_ONCE` reads are in the database at a time; the rest wait
  their turn in memory, without a timeout, instead of queueing in the pool's checkout (which
  times out after 30 s and would fail the stream). Streams thus never hold more than a few of
  the pool's connections, and the rest stay free for placing orders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from oee.domain.events import OrderEvent
from oee.domain.orders import Order

# `(order_id, after_seq)` -> the order's events with `seq > after_seq`, in seq order.
ReadLog = Callable[[str, int], Awaitable[list[OrderEvent]]]
ReadOrder = Callable[[str], Awaitable[Order | None]]

READS_AT_ONCE = 4  # of a pool of 10 (+10 overflow): streams never starve order placement

T = TypeVar("T")


class _Read(Generic[T]):
    """One read not yet issued: the lowest seq it starts after (event reads), and its result."""

    __slots__ = ("after", "result")

    def __init__(self, after: int) -> None:
        self.after = after
        self.result: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        # Every sharer may have gone (clients leave): never warn about an unread exception.
        self.result.add_done_callback(_mark_retrieved)


def _mark_retrieved(future: asyncio.Future[T]) -> None:
    if not future.cancelled():
        future.exception()


class StreamReads:
    """Reads of the store shared by every stream of this process.

    Args:
        read_log: The store's event read (`OrderService.events`).
        read_order: The store's order read (`OrderService.get`).
        at_once: How many reads may be in the database at a time.
    """

    def __init__(
        self, read_log: ReadLog, read_order: ReadOrder, *, at_once: int = READS_AT_ONCE
    ) -> None:
        self._read_log, self._read_order = read_log, read_order
        self._gate = asyncio.Semaphore(at_once)
        self._events: dict[str, _Read[list[OrderEvent]]] = {}  # per order: the read to join
        self._orders: dict[str, _Read[Order | None]] = {}
        self._issuing: set[asyncio.Future[None]] = set()
        self.reads = 0  # reads issued to the store (the tests count them)

    async def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        """The order's events with `seq > after_seq`, in seq order (a `ReadLog`).

        Raises:
            Exception: Whatever the store's read raised, to every caller that shared it.
        """
        read = self._events.get(order_id)
        if read is None:
            read = self._events[order_id] = _Read(after_seq)
            self._issue(self._events, order_id, read, self._read_events)
        read.after = min(read.after, after_seq)
        # Shielded: a caller that leaves must not cancel the read the others wait for.
        events = await asyncio.shield(read.result)
        return [event for event in events if event.seq > after_seq]

    async def order(self, order_id: str) -> Order | None:
        """The order with this id, or None (read after the caller asked).

        Raises:
            Exception: Whatever the store's read raised, to every caller that shared it.
        """
        read = self._orders.get(order_id)
        if read is None:
            read = self._orders[order_id] = _Read(0)
            self._issue(self._orders, order_id, read, self._read_order_of)
        return await asyncio.shield(read.result)

    async def _read_events(self, order_id: str, read: _Read[list[OrderEvent]]) -> list[OrderEvent]:
        return await self._read_log(order_id, read.after)

    async def _read_order_of(self, order_id: str, _: _Read[Order | None]) -> Order | None:
        return await self._read_order(order_id)

    def _issue(
        self,
        waiting: dict[str, _Read[T]],
        order_id: str,
        read: _Read[T],
        fetch: Callable[[str, _Read[T]], Awaitable[T]],
    ) -> None:
        task = asyncio.ensure_future(self._run(waiting, order_id, read, fetch))
        self._issuing.add(task)  # held: the loop keeps only weak references to tasks
        task.add_done_callback(self._issuing.discard)

    async def _run(
        self,
        waiting: dict[str, _Read[T]],
        order_id: str,
        read: _Read[T],
        fetch: Callable[[str, _Read[T]], Awaitable[T]],
    ) -> None:
        try:
            async with self._gate:
                # From here on the read is closed to new callers: they need what is committed
                # now, which a read that was issued earlier might not hold.
                _drop(waiting, order_id, read)
                self.reads += 1
                value = await fetch(order_id, read)
        except asyncio.CancelledError:  # the loop is closing: the sharers must not wait forever
            _drop(waiting, order_id, read)
            read.result.cancel()
            raise
        except Exception as exc:
            _drop(waiting, order_id, read)
            if not read.result.done():
                read.result.set_exception(exc)
            return
        if not read.result.done():
            read.result.set_result(value)


def _drop(waiting: dict[str, _Read[T]], order_id: str, read: _Read[T]) -> None:
    if waiting.get(order_id) is read:
        del waiting[order_id]
