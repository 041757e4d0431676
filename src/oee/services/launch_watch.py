"""The launch watcher: fires armed sniper orders on the first pool that opens for their mint.

The chain's launches come from a `LaunchFeed` (a `logsSubscribe` per venue program, as a real
bot listens). After every (re)subscription, and whenever an order is armed, the pools that
already trade an armed mint are asked for (`pools_of`): a launch missed while disconnected, or
one that happened before the order was placed, fires the order then. So a sniper order for a
token that already trades fires at once (documented in docs/decisions.md).

A pool fires the orders that wait for one of its mints, pay with its other mint, and allow its
venue. The launched mint's decimals are read from the chain before the order fires, so its
token is complete when it routes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from oee.domain.errors import ExecutionError
from oee.domain.orders import Order
from oee.domain.ports import Chain, LaunchFeed, PoolLaunch
from oee.domain.triggers import Firing
from oee.services.trigger_books import SniperBook

if TYPE_CHECKING:
    from oee.services.triggers import TriggerService

log = structlog.get_logger(__name__)


class LaunchWatch:
    """Armed sniper orders, fed by the chain's launches."""

    def __init__(self, service: TriggerService, feed: LaunchFeed, chain: Chain) -> None:
        self.service = service
        self.feed = feed
        self.chain = chain
        self.book = SniperBook()
        self._checks: set[asyncio.Task[None]] = set()

    def add(self, order: Order) -> None:
        """Arm a sniper order."""
        self.book.add(order)

    def remove(self, order: Order) -> None:
        """Disarm it."""
        self.book.remove(order)

    def check_soon(self, order: Order) -> None:
        """Look for pools that already trade the order's mint, without holding up the caller."""
        task = asyncio.create_task(self._check_mint(order.token_out.mint))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def run(self, stop: asyncio.Event) -> None:
        """Listen for launches until `stop` is set (the feed reconnects by itself)."""
        try:
            await self.feed.run(self.on_launch, self.catch_up, stop)
        finally:
            for task in list(self._checks):
                task.cancel()

    async def catch_up(self) -> None:
        """Fire every armed order whose mint trades already (after a (re)subscription)."""
        for mint in self.book.mints():
            await self._check_mint(mint, raise_errors=True)

    async def on_launch(self, launch: PoolLaunch) -> None:
        """Fire the orders `launch` satisfies."""
        firings = []
        for mint, other in ((launch.mint_a, launch.mint_b), (launch.mint_b, launch.mint_a)):
            orders = self.book.waiting_for(mint, other, launch.venue)
            if not orders:
                continue
            decimals = await self._decimals(mint)
            if decimals is None:
                continue
            at = self.service.clock.now()
            firing = Firing(
                at=at,
                venue=launch.venue,
                pool=launch.pool,
                signature=launch.signature,
                slot=launch.slot,
                decimals=decimals,
            )
            firings += [(order, firing) for order in orders]
        if firings:
            log.info(
                "launch_fires_snipers", pool=launch.pool, venue=launch.venue, count=len(firings)
            )
            await self.service.fire(firings)

    async def _check_mint(self, mint: str, *, raise_errors: bool = False) -> None:
        try:
            pools = await self.feed.pools_of(mint)
        except (ExecutionError, ValueError) as error:
            if raise_errors:
                raise
            log.info("sniper_pool_check_failed", mint=mint, error=str(error))
            return
        for pool in pools:
            await self.on_launch(pool)

    async def _decimals(self, mint: str) -> int | None:
        try:
            decimals = await self.chain.mint_decimals(mint)
        except ExecutionError as error:
            log.warning("mint_unreadable", mint=mint, error=error.message)
            return None
        if decimals is None:
            log.warning("launched_mint_missing", mint=mint)
        return decimals
