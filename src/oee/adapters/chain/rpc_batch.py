"""Concurrent JSON-RPC reads leave as one batch request: one round trip, one HTTP exchange.

`oee.adapters.chain.batching` already shares reads of the same thing (`SharedReads`: one
block-height read for every order polling it) and folds status polls into one
getSignatureStatuses (`StatusBatcher`). What is left is many *different* reads at once: every
order in flight asks for a blockhash, a simulation, its transaction, fees. `RpcBatcher` holds
each read for a tiny window (`OEE_RPC_BATCH_WINDOW_S`, ~2 ms) and sends all of them as one
JSON-RPC batch array, answers matched back to their callers by id; a node answers each entry on
its own, so one call's error object reaches that caller only.

- Writes (`sendTransaction`, `requestAirdrop`) never wait in a window nor share a request
  (`JsonRpc` sends them alone): a send's latency is the order's, and a batch may be re-sent.
- Account reads go in batches of their own: they are the heavy answers, and a node that
  rate-limits them (HTTP 429 for the whole request) must not fail the status polls beside them.
- A batch holds at most `max_calls` calls and about `MAX_BATCH_BYTES` of requests (agave refuses
  bodies over 50 KiB).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from oee.adapters.chain.jsonrpc import result_of, unavailable

ACCOUNT_READS = frozenset({"getAccountInfo", "getMultipleAccounts", "getProgramAccounts"})
MAX_BATCH_BYTES = 40_000

# Posts a body; returns the decoded answer, or raises the call's `ExecutionError`.
Post = Callable[[bytes, str], Awaitable[Any]]
_Call = tuple[int, str, bytes, "asyncio.Future[Any]"]  # id, method, encoded request, caller


class RpcBatcher:
    """Collects read calls for `window_s` and sends them as batches (see the module)."""

    def __init__(self, post: Post, window_s: float, max_calls: int = 64) -> None:
        self._post, self._window_s, self._max = post, window_s, max(1, max_calls)
        self._ids = itertools.count(1)
        self._pending: dict[bool, list[_Call]] = {}  # account reads apart from the rest
        self._timers: dict[bool, asyncio.TimerHandle] = {}
        self._running: set[asyncio.Task[None]] = set()  # strong references until done

    async def call(self, method: str, params: list[Any]) -> Any:
        """The call's `result`, sent within the window with the calls that came meanwhile.

        Raises:
            RpcFault: The node answered this call with an error object.
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR, for the whole request.
        """
        loop = asyncio.get_running_loop()
        call_id = next(self._ids)
        request = {"jsonrpc": "2.0", "id": call_id, "method": method, "params": params}
        waiter: asyncio.Future[Any] = loop.create_future()
        group = method in ACCOUNT_READS
        pending = self._pending.setdefault(group, [])
        pending.append((call_id, method, orjson.dumps(request), waiter))
        if len(pending) >= self._max:
            self._send(group)
        elif group not in self._timers:
            self._timers[group] = loop.call_later(self._window_s, self._send, group)
        return await waiter

    def _send(self, group: bool) -> None:
        timer = self._timers.pop(group, None)
        if timer is not None:
            timer.cancel()
        calls = self._pending.pop(group, [])
        batch: list[_Call] = []
        size = 0
        for call in calls:
            if batch and size + len(call[2]) > MAX_BATCH_BYTES:
                self._start(batch)
                batch, size = [], 0
            batch.append(call)
            size += len(call[2]) + 1
        if batch:
            self._start(batch)

    def _start(self, batch: list[_Call]) -> None:
        task = asyncio.ensure_future(self._answer(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _answer(self, batch: list[_Call]) -> None:
        methods = sorted({method for _, method, _, _ in batch})
        label = methods[0] if len(batch) == 1 else f"batch of {len(batch)} ({', '.join(methods)})"
        alone = len(batch) == 1  # a window that caught one call sends it as a plain request
        body = batch[0][2] if alone else b"[" + b",".join(call[2] for call in batch) + b"]"
        try:
            answer = await self._post(body, label)
        except asyncio.CancelledError:
            for *_, waiter in batch:
                waiter.cancel()
            raise
        except Exception as failure:  # every caller of the request gets its failure
            for *_, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(failure)
            return
        replies: dict[Any, Any]
        if alone:
            replies = {batch[0][0]: answer}
        elif isinstance(answer, list):
            replies = {r.get("id"): r for r in answer if isinstance(r, dict)}
        else:  # e.g. one error object for the whole body
            replies = {}
        for call_id, method, _, waiter in batch:
            if waiter.done():
                continue  # its caller gave up
            reply = replies.get(call_id)
            if reply is None:
                waiter.set_exception(unavailable(f"{method}: no answer to it in {label}"))
                continue
            try:
                waiter.set_result(result_of(reply, method))
            except Exception as failure:  # RpcFault or ExecutionError: this call's own
                waiter.set_exception(failure)
