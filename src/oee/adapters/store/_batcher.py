"""Collect calls made during one pass of the event loop and run them as one batch.

A caller's `submit(item)` returns that item's own result (or raises its own error) once the
batch that carried it has run, so a caller that awaits it knows its write is committed. A
batch closes when the loop finishes the pass in which it was opened (everything that was
ready to run had its chance to join), when it holds `max_items`, or, with a `window_s`, that
long after it opened. Batches may run concurrently: one that opens while another is being
written does not wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

_I = TypeVar("_I")
_R = TypeVar("_R")

# Runs a batch; returns one outcome per item, in order: a result, or the exception that
# item's caller gets.
Flush = Callable[[Sequence[_I]], Awaitable[Sequence[_R | BaseException]]]


class Batcher(Generic[_I, _R]):
    """Group the items submitted in one loop pass (or one window) into one `flush` call."""

    def __init__(self, flush: Flush[_I, _R], max_items: int, window_s: float = 0.0) -> None:
        self._flush = flush
        self._max = max(1, max_items)
        self._window = window_s
        self._items: list[_I] = []
        self._waiters: list[asyncio.Future[_R]] = []
        self._timer: asyncio.Handle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: _I) -> _R:
        """Add `item` to the open batch and wait for its outcome."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_R] = loop.create_future()
        self._items.append(item)
        self._waiters.append(waiter)
        if len(self._items) >= self._max:
            self._close()
        elif self._timer is None:
            # call_soon runs after every callback already due in this pass: the tasks woken
            # together (e.g. by the last batch's commit) all join before it closes.
            self._timer = (
                loop.call_later(self._window, self._close)
                if self._window > 0
                else loop.call_soon(self._close)
            )
        return await waiter

    async def wait_idle(self) -> None:
        """Close the open batch and wait until every batch has been written."""
        self._close()
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._items:
            return
        items, waiters = self._items, self._waiters
        self._items, self._waiters = [], []
        task = asyncio.get_running_loop().create_task(self._run(items, waiters))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, items: list[_I], waiters: list[asyncio.Future[_R]]) -> None:
        try:
            outcomes = await self._flush(items)
        except BaseException as error:  # the flush itself failed: every caller learns why
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for waiter, outcome in zip(waiters, outcomes, strict=True):
            if waiter.done():  # its caller was cancelled; the write stands regardless
                continue
            if isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)
