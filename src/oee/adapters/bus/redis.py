"""The event bus over Redis pub/sub: every API process sees every order's events.

One channel, `<prefix>:events`, carries every event as the JSON of `OrderEvent.to_wire()`, plus
the order's owner under `_owner` (streams drop other API keys' events by it).
Each process holds one publisher client and one subscriber connection, and hands what it
receives to its `LocalFanout`; a process also receives its own publishes that way, so there
is exactly one path into the fan-out. Pub/sub is fire-and-forget: an event published while a
subscriber is disconnected never reaches it. That is acceptable because the event log in the
database is complete and the WebSocket layer backfills any `seq` gap from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from oee.adapters.bus._fanout import DEFAULT_BUFFER, Feed, LocalFanout
from oee.domain.events import OrderEvent

log = structlog.get_logger(__name__)

_OWNER = "_owner"  # beside the wire fields: no event detail is named with an underscore


def _encode(event: OrderEvent) -> str:
    return json.dumps({**event.to_wire(), _OWNER: event.owner}, separators=(",", ":"))


def _decode(data: str | bytes) -> OrderEvent:
    body = json.loads(data)
    owner = body.pop(_OWNER, None)
    return dataclasses.replace(OrderEvent.from_wire(body), owner=owner)


_CONNECT_TIMEOUT_S = 2.0
_SUBSCRIBE_TIMEOUT_S = 5.0
_IDLE_CHECK_S = 15.0  # a subscriber silent this long PINGs; silent twice, it reconnects
_OUTBOX = 10_000  # events waiting to be sent before new ones are dropped
_BATCH = 500  # events written per round trip, at most
_FLUSH_ON_CLOSE_S = 1.0
_YIELD_EVERY = 64  # received events dispatched between two turns for the readers


class RedisBus:
    """`EventBus` over Redis pub/sub, for any number of API and worker processes.

    Publishes are group-committed: `publish` encodes the event into an outbox and waits; one
    writer task sends everything that has accumulated as a single pipeline, then releases
    those publishers. Under load that is one round trip per batch rather than per event,
    while `publish` still returns only once Redis has the event, so an event published
    before, say, an enqueue reaches subscribers before anything the job publishes.

    Args:
        redis_url: The Redis server, e.g. `redis://localhost:6379/0`.
        prefix: The engine's Redis prefix; the channel is `<prefix>:events`.
        buffer_size: Events buffered per subscription before the oldest are dropped.
        reconnect_max_s: Ceiling of the subscriber's exponential reconnect backoff.
    """

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        *,
        buffer_size: int = DEFAULT_BUFFER,
        reconnect_max_s: float = 5.0,
    ) -> None:
        self.channel = f"{prefix}:events"
        self._fanout = LocalFanout(buffer_size)
        self._reconnect_max_s = reconnect_max_s
        # Publisher: fails fast, since publishing is best effort; the one retry replaces a
        # connection that died with a Redis restart.
        self._publisher = Redis.from_url(
            redis_url,
            retry=Retry(NoBackoff(), 1),
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
            socket_timeout=_CONNECT_TIMEOUT_S,
            client_name=f"{prefix}:bus:pub",
        )
        # Subscriber: no retries inside redis-py, so every drop surfaces in `_listen`, which
        # logs it and reconnects; no socket timeout, since a quiet channel is not an error.
        self._subscriber = Redis.from_url(
            redis_url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
            client_name=f"{prefix}:bus:sub",
        )
        self._outbox: asyncio.Queue[tuple[str, asyncio.Future[None]]] = asyncio.Queue(_OUTBOX)
        self._overflowing = False
        self._closed = False
        self._writer: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe, and return once the subscription is live.

        Raises:
            RedisError | OSError | TimeoutError: Redis cannot be reached at start-up. Later
                drops are survived: the bus reconnects in the background.
        """
        if self._listener is not None:
            return
        self._pubsub = await self._subscribe()
        self._listener = asyncio.create_task(self._listen(), name="redis-bus-listener")

    async def publish(self, event: OrderEvent) -> None:
        """Send `event` to every process; logs and drops it, never raises, when Redis fails.

        Dropping is safe: the event log is complete and readers backfill `seq` gaps from it.
        """
        if self._closed:
            return
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="redis-bus-writer")
        sent = asyncio.get_running_loop().create_future()
        try:
            self._outbox.put_nowait((_encode(event), sent))
        except asyncio.QueueFull:  # Redis has been slow or down for a while
            if not self._overflowing:  # once per episode, not once per event
                log.warning("bus_outbox_full", order_id=event.order_id, seq=event.seq)
            self._overflowing = True
            return
        self._overflowing = False
        await sent

    def subscribe(self, order_id: str | None) -> Feed:
        """Events of one order, or of every order when `order_id` is None."""
        return self._fanout.subscribe(order_id)

    def redeliver(self, event: OrderEvent) -> None:
        """Hand `event` to this process's subscribers only (one the bus dropped on its way)."""
        self._fanout.dispatch(event)

    async def ping(self) -> None:
        """Raise if Redis cannot be reached."""
        await self._publisher.ping()

    async def close(self) -> None:
        """Send what is queued (briefly), end every subscription, release the connections."""
        self._closed = True
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_FLUSH_ON_CLOSE_S):
                    await self._outbox.join()
            await _stop(self._writer)
            self._writer = None
            while not self._outbox.empty():  # unsent after the flush: release their publishers
                _, sent = self._outbox.get_nowait()
                if not sent.done():
                    sent.set_result(None)
        self._fanout.close()
        if self._listener is not None:
            await _stop(self._listener)
            self._listener = None
        await self._drop_pubsub()
        await self._subscriber.aclose()
        await self._publisher.aclose()

    async def _write(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < _BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for data, _ in batch:
                        pipe.publish(self.channel, data)
                    await pipe.execute()
            except Exception as error:  # anything: this task must outlive Redis restarts
                log.warning("bus_publish_failed", dropped=len(batch), error=repr(error))
            finally:
                for _, sent in batch:
                    if not sent.done():  # its publisher may have been cancelled meanwhile
                        sent.set_result(None)
                    self._outbox.task_done()

    async def _subscribe(self) -> PubSub:
        pubsub = self._subscriber.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            # SUBSCRIBE is only in force once the server confirms it in-band; waiting for the
            # confirmation is what lets `start` promise that a publish right after it arrives.
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT_S):
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None and message["type"] == "subscribe":
                        return pubsub
        except BaseException:
            await _close(pubsub)
            raise

    async def _listen(self) -> None:
        """Read the channel forever, reconnecting with backoff when the connection drops."""
        delay = 0.1
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = await self._subscribe()
                    log.info("bus_reconnected", channel=self.channel)
                    delay = 0.1
                await self._pump(self._pubsub)
            except Exception as error:  # anything: this task must outlive Redis restarts
                log.warning("bus_connection_lost", error=repr(error), retry_in_s=delay)
                await self._drop_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._reconnect_max_s)

    async def _pump(self, pubsub: PubSub) -> None:
        pinged = False
        received = 0
        while True:
            message = await pubsub.get_message(timeout=_IDLE_CHECK_S)
            if message is None:
                # A quiet channel and a half-open connection (Redis host gone without a FIN)
                # look alike; an unanswered PING tells them apart.
                if pinged:
                    raise ConnectionError("no reply to PING from the pub/sub connection")
                await pubsub.ping()
                pinged = True
                continue
            pinged = False
            if message["type"] != "message":
                continue
            received += 1
            if received % _YIELD_EVERY == 0:
                # Buffered messages are read without suspending; let the readers run too.
                await asyncio.sleep(0)
            try:
                event = _decode(message["data"])
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("bus_bad_message", data=message["data"][:200])
                continue
            self._fanout.dispatch(event)

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await _close(pubsub)


async def _close(pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait({task})
