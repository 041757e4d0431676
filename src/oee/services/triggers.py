"""The trigger stage: holds armed limit and sniper orders, fires them, expires them.

One `TriggerService` runs in every worker process. Armed orders are shared out through the
store: each process heartbeats a row of its own and claims armed orders nobody holds; a process
whose heartbeat lapses is declared dead by the next claim and its orders are claimed by the
others, so each armed order has exactly one live watcher and is taken over within a lease
(seconds) of its watcher's death. Each watch ends by exactly one exit row in the store (fire,
cancel or expire: whichever is inserted first wins, `OrderStore.decide_fires`), so no order
fires twice, and none both fires and expires. A fire is decided first, the whole batch's exits
in one statement, and the orders are moved after; a decision whose move was lost (a crash) is
applied by whoever claims the order next.

Limit orders are watched per pair (`oee.services.price_watch`); sniper orders listen to the
chain's launches (`oee.services.launch_watch`). A fired order is enqueued and runs through the
same executor as a market order.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog

from oee.domain.events import OrderEvent
from oee.domain.orders import Order, OrderType
from oee.domain.ports import Chain, Clock, EventBus, JobQueue, LaunchFeed, OrderStore, Venue
from oee.domain.status import OrderStatus
from oee.domain.triggers import Firing
from oee.services.launch_watch import LaunchWatch
from oee.services.price_watch import PriceWatch
from oee.services.trigger_books import Expiries

log = structlog.get_logger(__name__)

CLAIM_BATCH = 1000
LOGGED_IDS = 50  # order ids named in a batch's log line


class TriggerService:
    """Armed orders of this process: claims, heartbeats, expiry, and the two watchers."""

    def __init__(
        self,
        store: OrderStore,
        queue: JobQueue,
        bus: EventBus,
        clock: Clock,
        venues: Sequence[Venue],
        chain: Chain,
        launches: LaunchFeed | None,
        *,
        lease_s: float = 5.0,
        beat_s: float = 1.0,
        poll_s: float = 0.5,
        quote_timeout_s: float = 2.0,
        take_over_at_start: bool = False,
        watcher_id: str | None = None,
    ) -> None:
        self.store, self.queue, self.bus, self.clock = store, queue, bus, clock
        self.id = watcher_id or f"watcher-{uuid.uuid4()}"
        self.lease_s, self.beat_s = lease_s, beat_s
        self.take_over_at_start = take_over_at_start
        self.held: dict[str, Order] = {}
        self.expiries = Expiries()
        self.prices = PriceWatch(self, venues, poll_s=poll_s, quote_timeout_s=quote_timeout_s)
        self.launches = LaunchWatch(self, launches, chain) if launches is not None else None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def __len__(self) -> int:
        return len(self.held)

    async def start(self, stop: asyncio.Event) -> None:
        """Claim what this process may hold and start watching (returns once started)."""
        if self.take_over_at_start:
            # The only process (embedded): a previous run's watcher is gone for certain.
            await self._claim(self.clock.now() + timedelta(seconds=self.lease_s * 2))
        await self.store.heartbeat(self.id, self._lease_end())
        await self._claim(self.clock.now())
        # The orders just claimed live until they fire or expire: hundreds of thousands of
        # objects the cyclic GC would otherwise walk in full, ~0.2 s at 100,000 orders, at the
        # first full collection after the claim, likely inside the first big fire. Collect the
        # claim's garbage once, then exempt what lives on from later collections (it is still
        # freed by reference counting when it goes).
        gc.collect()
        gc.freeze()
        self._tasks = [
            asyncio.create_task(self._keep_lease(stop), name="triggers-lease"),
            asyncio.create_task(self.prices.run(stop), name="triggers-prices"),
        ]
        if self.launches is not None:
            self._tasks.append(
                asyncio.create_task(self.launches.run(stop), name="triggers-launches")
            )

    async def stop(self) -> None:
        """Stop watching and let go of every held order, so another process takes them now."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.store.release(self.id)
        self.held.clear()

    async def watch(self, order: Order) -> None:
        """Take an order this process just armed, at once (the executor calls this)."""
        claimed = await self.store.claim_order(order.id, self.id)
        if claimed is not None and not await self._apply_decided([claimed]):
            self._hold(claimed)
            if claimed.type is OrderType.SNIPER and self.launches is not None:
                # A token that already trades fires at once: the launch happened before.
                self.launches.check_soon(claimed)

    async def fire(self, firings: Sequence[tuple[Order, Firing]]) -> int:
        """Fire orders: commit the decision (one statement for the batch), then move the
        winners (persisted as one batch), publish and enqueue each; returns how many fired.
        An order whose watch ended meanwhile (cancelled, expired) is dropped."""
        picked = []
        for order, firing in firings:
            if self.held.pop(order.id, None) is None:
                continue  # fired by an earlier update, or let go
            self._disarm(order)
            picked.append((order, firing))
        if not picked:
            return 0
        try:
            won = await self.store.decide_fires(picked)
        except Exception:  # nothing decided: they still watch (here) for the next update
            for order, _ in picked:
                self._hold(order)
            raise
        moves = []
        for (order, firing), ok in zip(picked, won, strict=True):
            if ok:
                moves.append((order, order.fire(firing, firing.at)))
            else:
                log.info("order_watch_ended_elsewhere", order_id=order.id, would_be="fired")
        return await self._commit(moves, "order_triggered")

    async def _apply_decided(self, claimed: Sequence[Order]) -> set[str]:
        """Fire the claimed orders whose fire was decided but never applied (its process
        stopped in between); returns their ids (not to be held)."""
        decided = await self.store.fire_decisions(claimed) if claimed else {}
        if not decided:
            return set()
        moves = []
        for order in claimed:
            firing = decided.get(order.id)
            if firing is not None:
                moves.append((order, order.fire(firing, firing.at)))
        log.warning("fire_decisions_applied_on_claim", count=len(moves), watcher=self.id)
        await self._commit(moves, "order_triggered")
        return set(decided)

    async def _expire(self, now: datetime) -> None:
        moves = []
        for order_id in list(self.expiries.due(now)):
            order = self.held.get(order_id)
            if order is None or order.trigger is None or order.trigger.expires_at > now:
                continue
            del self.held[order_id]
            self._disarm(order)
            moves.append((order, order.expire(now)))
        await self._commit(moves, "order_expired", ends_watch=True)

    async def _commit(
        self, moves: list[tuple[Order, OrderEvent]], what: str, *, ends_watch: bool = False
    ) -> int:
        """Persist the moves, then publish each written one and enqueue those now routing.

        `ends_watch`: the moves end watches no fire decided (expiries), each with its exit;
        otherwise the watches' exits are already committed (fires)."""
        if not moves:
            return 0
        save = self.store.end_watches if ends_watch else self.store.save_many
        written = await save(moves)
        moved = []
        for (order, event), done in zip(moves, written, strict=True):
            if not done:
                log.info("order_moved_elsewhere", order_id=order.id, would_be=what)
                continue
            moved.append(order.id)
            await self.bus.publish(event)
            if order.status is OrderStatus.ROUTING:
                try:
                    await self.queue.enqueue(order.id)
                except Exception:  # the recovery sweep re-queues routing orders
                    log.warning("enqueue_failed_recovery_will_retry", order_id=order.id)
        # One line per batch: a round may fire thousands (the event log has every one).
        log.info(what, count=len(moved), order_ids=moved[:LOGGED_IDS], watcher=self.id)
        return len(moved)

    def _hold(self, order: Order) -> None:
        if order.trigger is None or order.id in self.held:
            return
        self.held[order.id] = order
        soonest = self.expiries.next_at()
        self.expiries.add(order)
        if soonest is None or order.trigger.expires_at < soonest:
            self._wake.set()  # the lease loop sleeps until the soonest expiry: wake it sooner
        if order.type is OrderType.LIMIT:
            self.prices.add(order)
        elif self.launches is not None:
            self.launches.add(order)

    def _disarm(self, order: Order) -> None:
        if order.type is OrderType.LIMIT:
            self.prices.remove(order)
        elif self.launches is not None:
            self.launches.remove(order)

    def _forget_all(self) -> None:
        for order in list(self.held.values()):
            self._disarm(order)
        self.held.clear()

    async def _claim(self, now: datetime) -> None:
        while True:
            claimed = await self.store.claim_armed(self.id, now, CLAIM_BATCH)
            fired = await self._apply_decided(claimed)
            for order in claimed:
                if order.id not in fired:
                    self._hold(order)
            if claimed:
                log.info("armed_orders_claimed", count=len(claimed), watcher=self.id)
            if len(claimed) < CLAIM_BATCH:
                return

    def _lease_end(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.lease_s)

    async def _keep_lease(self, stop: asyncio.Event) -> None:
        """Heartbeat, claim, expire; every `beat_s`, or sooner when an expiry is due."""
        while not stop.is_set():
            try:
                if not await self.store.heartbeat(self.id, self._lease_end()):
                    # Declared dead while stalled: our orders were let go (others may hold
                    # them now). Forget them, and let go of any we claimed in between, so
                    # nothing stays held by a watcher that no longer knows it holds it.
                    log.warning("watcher_lease_lost", watcher=self.id, held=len(self.held))
                    self._forget_all()
                    await self.store.release(self.id)
                    await self.store.heartbeat(self.id, self._lease_end())
                now = self.clock.now()
                await self._claim(now)
                await self._expire(now)
            except Exception:
                log.warning("trigger_lease_failed", exc_info=True)
            self._wake.clear()
            await self._sleep(stop, self._until_next())

    def _until_next(self) -> float:
        soonest = self.expiries.next_at()
        wait = self.beat_s
        if soonest is not None:
            wait = min(wait, max((soonest - self.clock.now()).total_seconds(), 0.0))
        return wait

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first(stop, self._wake), timeout=seconds)


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
