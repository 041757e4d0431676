"""Reads shared between concurrent callers: one request in flight, its answer reused briefly.

Every order in flight polls the block height and its signature's status, and every quote reads
its pools: done naively, each is a round trip of its own. `SharedReads` coalesces concurrent
reads of the same key into one request and serves its answer for `ttl_s`; `StatusBatcher`
collects status polls over a short window into one `getSignatureStatuses` call.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_SIGNATURES = 256  # per getSignatureStatuses call


class SharedReads(Generic[K, V]):
    """Per key: one in-flight read serves every concurrent caller; its answer serves later
    callers for `ttl_s` seconds (or `ttl_for(answer)`, e.g. shorter for an empty answer). A
    failed read is not cached (the next caller reads again)."""

    def __init__(
        self,
        ttl_s: float,
        *,
        ttl_for: Callable[[V], float] | None = None,
        max_entries: int = 4096,
    ) -> None:
        self._ttl_for = ttl_for or (lambda _: ttl_s)
        self._max = max_entries
        self._values: dict[K, tuple[float, V]] = {}  # key -> (expires at, answer)
        self._inflight: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The answer for `key`: cached, the read already in flight, or a new `read()`."""
        held = self._values.get(key)
        if held is not None and asyncio.get_running_loop().time() <= held[0]:
            return held[1]
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._refresh(key, read))
            self._inflight[key] = future
        # Shielded: a caller that gives up must not cancel the read the others wait for.
        return await asyncio.shield(future)

    def forget(self, key: K) -> None:
        """Drop the cached answer for `key` (the next `get` reads again)."""
        self._values.pop(key, None)

    async def _refresh(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        # The read time is taken before the request: the answer is at least this old.
        started = asyncio.get_running_loop().time()
        try:
            value = await read()
        finally:
            self._inflight.pop(key, None)
        if len(self._values) >= self._max:
            self._values.clear()  # bounded: a rare full reset beats tracking ages per key
        self._values[key] = (started + self._ttl_for(value), value)
        return value


class SharedRead(Generic[V]):
    """`SharedReads` for a single value (the block height, the fee reading)."""

    def __init__(self, read: Callable[[], Awaitable[V]], ttl_s: float) -> None:
        self._read = read
        self._reads: SharedReads[None, V] = SharedReads(ttl_s, max_entries=1)

    async def get(self) -> V:
        """The value: cached, in flight, or read now."""
        return await self._reads.get(None, self._read)


class StatusBatcher:
    """Concurrent status polls share getSignatureStatuses calls (up to 256 signatures each).

    Every order waiting for its transaction polls; collected over a short window, hundreds of
    polls cost one request instead of one each.
    """

    def __init__(
        self,
        read: Callable[[list[str]], Awaitable[list[Any]]],
        window_s: float,
        unreadable: Callable[[str], Exception],
    ) -> None:
        self._read, self._window_s, self._unreadable = read, window_s, unreadable
        self._waiting: dict[str, list[asyncio.Future[Any]]] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()  # strong references until done

    async def get(self, signature: str) -> Any:
        """The node's status object for `signature` (None when it knows none)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiting.setdefault(signature, []).append(waiter)
        if self._flush is None:
            self._flush = loop.call_later(self._window_s, self._send)
        return await waiter

    def _send(self) -> None:
        self._flush = None
        waiting, self._waiting = self._waiting, {}
        signatures = list(waiting)
        for start in range(0, len(signatures), MAX_SIGNATURES):
            chunk = {s: waiting[s] for s in signatures[start : start + MAX_SIGNATURES]}
            task = asyncio.ensure_future(self._answer(chunk))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _answer(self, chunk: dict[str, list[asyncio.Future[Any]]]) -> None:
        try:
            values = await self._read(list(chunk))
            if len(values) != len(chunk):
                raise self._unreadable("getSignatureStatuses answered for other signatures")
        except asyncio.CancelledError:
            for waiter in itertools.chain.from_iterable(chunk.values()):
                waiter.cancel()
            raise
        except Exception as failure:  # every waiter of the chunk gets the call's failure
            for waiter in itertools.chain.from_iterable(chunk.values()):
                if not waiter.done():
                    waiter.set_exception(failure)
            return
        for waiters, value in zip(chunk.values(), values, strict=True):
            for waiter in waiters:
                if not waiter.done():  # done: its caller gave up
                    waiter.set_result(value)
