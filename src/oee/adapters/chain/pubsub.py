"""Solana PubSub: JSON-RPC 2.0 over one WebSocket, as agave's `rpc_pubsub` speaks it.

A session reads every frame the node sends on one task: a reply (it has an `id`) completes the
request waiting for it; a notification (`<kind>Notification`, `params.subscription`) goes to
the sink registered for that subscription id. The sink is registered by the reader itself, the
moment it reads the subscribe reply: a node may send a notification right behind that reply,
before the subscriber's coroutine has run again, and it must not be dropped as unknown.

    async with PubSubSession(connection) as session:
        sub = await session.subscribe("logsSubscribe", [{"mentions": [program]}], sink)
        await session.closed()  # raises ConnectionLost when the connection ends

Reconnecting is the caller's decision (`oee.adapters.launches.feed`): agave forgets a
connection's subscriptions with it, so a new session subscribes again.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any

import structlog

from oee.adapters.chain.websocket import ConnectionLost, WsConnection

log = structlog.get_logger(__name__)

Json = Any
# Receives a notification's `params.result`; called on the reader task, so it must not block.
Sink = Callable[[Json], None]
REQUEST_TIMEOUT_S = 10.0


class PubSubError(Exception):
    """The node answered a request with a JSON-RPC error object."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"PubSub error {code}: {message}")
        self.code, self.message = code, message


class PubSubSession:
    """Requests, subscriptions and notifications over one open `WsConnection`."""

    def __init__(
        self, connection: WsConnection, *, request_timeout_s: float = REQUEST_TIMEOUT_S
    ) -> None:
        """Args:
        connection: An open connection; the session reads it from `__aenter__` on.
        request_timeout_s: Longest wait for a reply to one request.
        """
        self._connection = connection
        self._timeout_s = request_timeout_s
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[Json], Sink | None]] = {}
        self._sinks: dict[int, Sink] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PubSubSession:
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        reader = self._reader
        if reader is None:
            return
        if not reader.done():
            reader.cancel()
            await asyncio.wait([reader])  # a cancellation of the caller itself still propagates
        if not reader.cancelled():
            reader.exception()  # how the connection ended is `closed`'s to say, not exit's

    async def closed(self) -> None:
        """Wait until the connection ends.

        Raises:
            ConnectionLost: Always, once it has (saying why).
        """
        if self._reader is None:
            raise RuntimeError("the session is not entered")
        await asyncio.shield(self._reader)
        raise ConnectionLost("the reader stopped")  # not reached: the reader only ends so

    async def request(self, method: str, params: list[Json]) -> Json:
        """One request's `result`.

        Raises:
            PubSubError: The node answered an error object.
            ConnectionLost: The connection ended first.
            TimeoutError: No reply within the request timeout.
        """
        return await self._call(method, params, None)

    async def subscribe(self, method: str, params: list[Json], sink: Sink) -> int:
        """Subscribe (e.g. `logsSubscribe`); each notification's `result` goes to `sink`.

        Returns:
            The subscription id the node gave.

        Raises:
            PubSubError, ConnectionLost, TimeoutError: As `request`.
        """
        sub_id = await self._call(method, params, sink)
        return int(sub_id)

    async def unsubscribe(self, method: str, sub_id: int) -> bool:
        """Unsubscribe (e.g. `logsUnsubscribe`); no notification reaches the sink after it."""
        self._sinks.pop(sub_id, None)
        return bool(await self.request(method, [sub_id]))

    async def _call(self, method: str, params: list[Json], sink: Sink | None) -> Json:
        request_id = next(self._ids)
        reply: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (reply, sink)
        try:
            body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            await self._connection.send(json.dumps(body, separators=(",", ":")))
            async with asyncio.timeout(self._timeout_s):
                return await reply
        finally:
            self._pending.pop(request_id, None)

    async def _read(self) -> None:
        try:
            while True:
                self._dispatch(await self._connection.recv())
        except ConnectionLost as lost:
            for reply, _ in self._pending.values():
                if not reply.done():
                    reply.set_exception(ConnectionLost(str(lost)))
            raise

    def _dispatch(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("pubsub_unreadable_frame", frame=text[:200])
            return
        for item in message if isinstance(message, list) else [message]:
            if isinstance(item, dict):
                self._one(item)

    def _one(self, message: dict[str, Json]) -> None:
        params = message.get("params")
        if "id" not in message and isinstance(params, dict):
            sub_id = _int(params.get("subscription"))
            sink = None if sub_id is None else self._sinks.get(sub_id)
            if sink is None:  # unsubscribed a moment ago, or not ours
                return
            try:
                sink(params.get("result"))
            except Exception:  # one bad notification must not end the session
                log.exception("pubsub_sink_failed", method=message.get("method"))
            return
        request_id = _int(message.get("id"))
        waiting = None if request_id is None else self._pending.get(request_id)
        if waiting is None or waiting[0].done():
            return  # a reply that came after its request timed out
        reply, sink = waiting
        error = message.get("error")
        if isinstance(error, dict):
            reply.set_exception(PubSubError(error.get("code", 0), str(error.get("message", ""))))
            return
        result = message.get("result")
        if sink is not None:
            new_id = _int(result)
            if new_id is None:
                reply.set_exception(PubSubError(0, f"a subscription id, not {result!r}"))
                return
            self._sinks[new_id] = sink  # before anything else is read: see the module's note
        reply.set_result(result)


def _int(value: Json) -> int | None:
    """`value` if it is an integer (JSON's `true` is not), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
