"""From a `logsNotification` to a delivered `PoolLaunch`.

The subscription's sink runs on the PubSub reader, once per transaction that mentions the
program: on a busy program almost all are swaps, so it decides from the notification alone
(failed, or not a creation by the venue's log parser) and costs no request for those. A launch
becomes a task: fetch the transaction, read the new pool with the venue's helper, hand it to
the caller's handler.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from oee.adapters.chain.pubsub import Sink
from oee.adapters.launches.transactions import FetchTransaction, fetch_transaction
from oee.adapters.launches.venues import LaunchVenue
from oee.domain.ports import LaunchHandler, PoolLaunch

log = structlog.get_logger(__name__)
Json = Any


def launch_in(venue: LaunchVenue, result: Json) -> tuple[str, int | None] | None:
    """The signature and slot of a `logsNotification`'s transaction if it created a pool on
    `venue`; None for anything else (a swap, a failed transaction, a malformed notification).

    Args:
        venue: The venue whose program the subscription mentions.
        result: The notification's `params.result`: `{"context": {"slot"}, "value":
            {"signature", "err", "logs"}}`.
    """
    if not isinstance(result, dict):
        return None
    value = result.get("value")
    if not isinstance(value, dict) or value.get("err") is not None:
        return None  # a failed transaction created nothing, whatever its logs print
    signature, logs = value.get("signature"), value.get("logs")
    if not isinstance(signature, str) or not isinstance(logs, list):
        return None
    if not venue.is_launch([line for line in logs if isinstance(line, str)]):
        return None
    context = result.get("context")
    slot = context.get("slot") if isinstance(context, dict) else None
    return signature, slot if isinstance(slot, int) and not isinstance(slot, bool) else None


class Lookups:
    """The launches being read, for one run of the feed: started by the sinks, cancelled
    when the run ends."""

    def __init__(
        self,
        fetch: FetchTransaction,
        on_launch: LaunchHandler,
        attempts: int,
        retry_s: float,
        at_once: int,
    ) -> None:
        self._fetch = fetch
        self._on_launch = on_launch
        self._attempts, self._retry_s = attempts, retry_s
        self._slots = asyncio.Semaphore(at_once)
        self._tasks: set[asyncio.Task[None]] = set()

    def sink(self, venue: LaunchVenue) -> Sink:
        """The sink of `venue`'s logs subscription."""

        def notified(result: Json) -> None:
            found = launch_in(venue, result)
            if found is not None:
                task = asyncio.create_task(self._deliver(venue, *found))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        return notified

    async def cancel(self) -> None:
        """Stop every lookup still running and wait until they have."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _deliver(self, venue: LaunchVenue, signature: str, slot: int | None) -> None:
        async with self._slots:
            try:
                tx = await fetch_transaction(
                    self._fetch, signature, attempts=self._attempts, retry_s=self._retry_s
                )
                created = [] if tx is None or not tx.succeeded else venue.created_pools(tx)
            except Exception as error:  # RPC or decoding: the catch-up still finds the pool
                log.warning(
                    "launch_unreadable", venue=venue.name, signature=signature, error=str(error)
                )
                return
        if tx is None:
            log.warning("launch_transaction_missing", venue=venue.name, signature=signature)
            return
        if not created:
            log.info("launch_created_no_pool", venue=venue.name, signature=signature)
            return
        for pool in created:
            launch = PoolLaunch(
                venue.name,
                pool.pool,
                pool.mint_a,
                pool.mint_b,
                signature,
                slot if slot is not None else tx.slot,
            )
            log.info("pool_launch_seen", venue=venue.name, pool=pool.pool, signature=signature)
            try:
                await self._on_launch(launch)
            except Exception:  # the caller's bug must not silence the next launch
                log.exception("launch_handler_failed", venue=venue.name, pool=pool.pool)
