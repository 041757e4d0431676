"""`PubSubLaunchFeed`: the `LaunchFeed` port over Solana PubSub and JSON-RPC (see the package).

One run holds one connection at a time. Each connection subscribes once per venue program; once
every subscription is in place the caller's `on_subscribed` runs (its catch-up), and only when
that succeeded does the backoff start over: a node that accepts subscriptions while its
JSON-RPC side fails is retried ever more slowly, not in a tight loop. Notifications are read
on the session's reader; a launch's `getTransaction` runs as a task of its own (a few at once),
so a slow node delays that launch only, and a lookup started before a disconnect still
delivers after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeVar

import structlog
from solders.pubkey import Pubkey

from oee.adapters.chain.backoff import Backoff
from oee.adapters.chain.pubsub import PubSubError, PubSubSession
from oee.adapters.chain.rpc import Account, public_key
from oee.adapters.chain.websocket import ConnectionLost, Connector
from oee.adapters.launches.notifications import Lookups
from oee.adapters.launches.venues import LaunchVenue
from oee.domain.ports import LaunchHandler, PoolLaunch, StopSignal

log = structlog.get_logger(__name__)
T = TypeVar("T")
TX_ATTEMPTS = 6  # getTransaction asked 0.2 + 0.4 + ... + 3.2 s apart: about 6 s in all
TX_RETRY_S = 0.2
MAX_LOOKUPS = 8  # getTransaction calls in flight at once


class LaunchSource(Protocol):
    """The JSON-RPC reads the feed makes (`RpcChain` implements them)."""

    async def program_accounts(
        self, program_id: str, filters: Sequence[dict[str, Any]]
    ) -> list[tuple[str, Account]]:
        """The program's accounts matching every filter, as `(address, account)`."""

    async def transaction(self, signature: str) -> dict[str, Any] | None:
        """getTransaction (base64), or None while the node does not have it."""


class PubSubLaunchFeed:
    """Pool launches from `logsSubscribe`, pools of a mint from `getProgramAccounts`."""

    def __init__(
        self,
        connect: Connector,
        source: LaunchSource,
        venues: Sequence[LaunchVenue],
        *,
        commitment: str = "confirmed",
        backoff: Backoff | None = None,
        request_timeout_s: float = 10.0,
        tx_attempts: int = TX_ATTEMPTS,
        tx_retry_s: float = TX_RETRY_S,
        max_lookups: int = MAX_LOOKUPS,
    ) -> None:
        """Listen through `connect`, read through `source`.

        Args:
            connect: Opens a PubSub connection (`websocket_connector(url)` for a node or
                `oee sim`, `asgi_connector(app)` for the simulator in this process).
            source: The node's JSON-RPC reads (`RpcChain`), the same node as `connect`'s.
            venues: The venues to watch (`launch_venues(...)` with the cluster's program ids).
            commitment: Of the subscriptions. `confirmed` is what `getTransaction` can serve
                at the earliest; `processed` would notify a little sooner, of transactions a
                fork may still drop.
            backoff: The reconnect schedule (default 0.5 s doubling up to 30 s, jittered).
            request_timeout_s: Longest wait for a subscribe reply.
            tx_attempts: How many times a launch's transaction is asked for before it is
                given up (with a warning: the catch-up still finds the pool).
            tx_retry_s: The first wait between those attempts; it doubles.
            max_lookups: Transactions fetched at once.
        """
        self._connect = connect
        self._source = source
        self._venues = list(venues)
        self._commitment = commitment
        self._backoff = backoff or Backoff()
        self._timeout_s = request_timeout_s
        self._tx = (tx_attempts, tx_retry_s, max_lookups)

    @property
    def venues(self) -> tuple[LaunchVenue, ...]:
        """The venues this feed watches, with their program ids on its cluster."""
        return tuple(self._venues)

    async def run(
        self,
        on_launch: LaunchHandler,
        on_subscribed: Callable[[], Awaitable[None]],
        stop: StopSignal,
    ) -> None:
        """Deliver every pool launch on the venues' programs until `stop` is set (see the
        `LaunchFeed` port); never raises except on cancellation. One run at a time per feed."""
        attempts, retry_s, at_once = self._tx
        lookups = Lookups(self._source.transaction, on_launch, attempts, retry_s, at_once)
        try:
            while not stop.is_set():
                try:
                    await _until(stop, self._connection(lookups, on_subscribed))
                except (ConnectionLost, PubSubError, TimeoutError) as error:
                    reason = f"{type(error).__name__}: {error}"
                except Exception as error:  # a bug, or the caller's catch-up failing: retried
                    log.exception("launch_feed_failed")
                    reason = f"{type(error).__name__}: {error}"
                else:
                    return  # stopped
                delay = self._backoff.next_delay()
                log.warning(
                    "launch_feed_reconnecting",
                    reason=reason,
                    delay_s=round(delay, 3),
                    failures=self._backoff.failures,
                )
                await _until(stop, asyncio.sleep(delay))
        finally:
            await lookups.cancel()

    async def pools_of(self, mint: str) -> list[PoolLaunch]:
        """Pools that trade `mint` on any venue, by `getProgramAccounts` (every filter set of
        every venue at once), each pool once, in venue order then by address.

        Raises:
            ValueError: `mint` is not a base58 public key.
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR.
        """
        mint = public_key(mint)
        key = Pubkey.from_string(mint)
        asks = [(venue, filters) for venue in self._venues for filters in venue.mint_filters(key)]
        answers = await asyncio.gather(
            *(self._source.program_accounts(venue.program_id, f) for venue, f in asks),
            return_exceptions=True,  # every call ends: none is left with an unread error
        )
        found: dict[tuple[str, str], PoolLaunch] = {}
        for (venue, _), answer in zip(asks, answers, strict=True):
            if isinstance(answer, BaseException):
                raise answer
            for address, account in answer:
                if account.owner != venue.program_id or (venue.name, address) in found:
                    continue  # another program's account, or a pool both filters matched
                try:
                    mint_a, mint_b = venue.pool_mints(account.data)
                except ValueError as error:
                    log.warning(
                        "pool_undecodable", venue=venue.name, pool=address, error=str(error)
                    )
                    continue
                if mint in (mint_a, mint_b):  # a node that ignored a filter is not believed
                    found[(venue.name, address)] = PoolLaunch(
                        venue.name, address, mint_a, mint_b, signature=None, slot=None
                    )
        order = {venue.name: i for i, venue in enumerate(self._venues)}
        return sorted(found.values(), key=lambda pool: (order[pool.venue], pool.pool))

    async def _connection(
        self, lookups: Lookups, on_subscribed: Callable[[], Awaitable[None]]
    ) -> None:
        """One connection: subscribe, let the caller catch up, listen until it ends.

        Raises:
            ConnectionLost: When it ends (or cannot be opened); anything `on_subscribed` raised.
        """
        async with (
            self._connect() as connection,
            PubSubSession(connection, request_timeout_s=self._timeout_s) as session,
        ):
            subscriptions = {}
            for venue in self._venues:
                params = [{"mentions": [venue.program_id]}, {"commitment": self._commitment}]
                sink = lookups.sink(venue)
                subscriptions[venue.name] = await session.subscribe("logsSubscribe", params, sink)
            log.info("launch_feed_subscribed", subscriptions=subscriptions)
            await on_subscribed()
            self._backoff.reset()  # subscribed and caught up: this connection worked
            await session.closed()


async def _until(stop: StopSignal, work: Coroutine[Any, Any, T]) -> T | None:
    """`work`'s result, or None once `stop` is set first (`work` is then cancelled)."""
    working = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (working, stopping):
            task.cancel()
        await asyncio.wait({working, stopping})
    if working.cancelled():
        return None
    return working.result()
