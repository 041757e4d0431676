"""Group commit: many orders' writes share one transaction per pass of the event loop.

Each order moves about five times, and each move was a transaction of its own: a thread hop
(SQLite) or four round trips (PostgreSQL), about 1 ms of CPU. Hundreds of orders in flight
move at nearly the same moments, so the saves (and creates) made while the loop runs one pass
are written together, through the set-based `save_many` (and `create_many`), and each caller
still gets its own outcome: `save` returns once its event is committed (so it is published
only after it is durable) or raises what the store's own `save` would have raised:
`StaleOrder` for a lost compare-and-set, with nothing written for that order.

If a batch fails as a whole (a bad row, a dropped connection) its moves are written again one
by one, so a fault stays with the order that has it. Everything else goes straight to the
wrapped store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TypeVar

from oee.adapters.store._batcher import Batcher
from oee.domain.errors import StaleOrder
from oee.domain.events import OrderEvent
from oee.domain.orders import IdempotencyKey, Order
from oee.domain.ports import OrderStore
from oee.domain.triggers import Firing

Move = tuple[Order, OrderEvent]
_T = TypeVar("_T")


class GroupCommitStore:
    """An `OrderStore` that batches `save` and `create` calls of `inner` across callers.

    Args:
        inner: The store that writes (its `save_many` and `create_many` carry the batches).
        max_batch: The most moves in one transaction; a batch this full is written at once.
        window_s: Keep a batch open this long for more callers; 0: until the loop's pass ends.
    """

    def __init__(self, inner: OrderStore, max_batch: int = 256, window_s: float = 0.0) -> None:
        self.inner = inner
        self._saves: Batcher[Move, None] = Batcher(self._save_batch, max_batch, window_s)
        self._creates: Batcher[Move, str] = Batcher(self._create_batch, max_batch, window_s)

    async def save(self, order: Order, event: OrderEvent) -> None:
        """Persist `order` and append `event` (as `OrderStore.save`), sharing a transaction
        with the other saves of this loop pass.

        Raises:
            StaleOrder: Someone else advanced the order; nothing was written.
            ValueError: `event` is not the order's latest event.
        """
        if event.order_id != order.id or event.seq != order.seq:  # the caller's own mistake
            raise ValueError(f"event {event.order_id}#{event.seq} is not {order.id}#{order.seq}")
        await self._saves.submit((order, event))

    async def create(
        self, order: Order, event: OrderEvent, idempotency: IdempotencyKey | None = None
    ) -> str:
        """Insert a new order and its first event (as `OrderStore.create`); without a key, in
        one transaction with the other creates of this loop pass."""
        if idempotency is not None:  # claiming a key may read and retry: its own transaction
            return await self.inner.create(order, event, idempotency)
        return await self._creates.submit((order, event))

    async def create_many(self, new: Sequence[Move]) -> None:
        """Insert new orders and their first events in one transaction."""
        await self.inner.create_many(new)

    async def save_many(self, moves: Sequence[Move]) -> list[bool]:
        """Already one transaction (a trigger's firing): straight to the store."""
        return await self.inner.save_many(moves)

    async def _save_batch(self, moves: Sequence[Move]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = [None] * len(moves)
        for round_ in _rounds(moves):
            picked = [moves[i] for i in round_]
            # A lone move goes through `save_many` too: on PostgreSQL that is one statement in
            # one round trip, where `save` takes four (begin, update, insert, commit) - and at
            # low concurrency most passes carry a single move (profile, docs/benchmarks.md).
            try:
                written = await self.inner.save_many(picked)
            except Exception:  # find the move at fault: each one alone, as `save` would
                for i in round_:
                    outcomes[i] = await _outcome(self.inner.save(*moves[i]))
                continue
            for i, won in zip(round_, written, strict=True):
                if not won:
                    order, event = moves[i]
                    outcomes[i] = StaleOrder(
                        f"order {order.id} is no longer at seq {event.seq - 1}"
                    )
        return outcomes

    async def _create_batch(self, new: Sequence[Move]) -> list[str | BaseException]:
        if len(new) == 1:
            return [await _outcome(self.inner.create(*new[0]))]
        try:
            await self.inner.create_many(new)
        except Exception:  # e.g. one id taken: the others are still created, alone
            return [await _outcome(self.inner.create(order, event)) for order, event in new]
        return [order.id for order, _ in new]

    # Everything else is the wrapped store's.

    async def get(self, order_id: str) -> Order | None:
        """The order, or None when there is no such order."""
        return await self.inner.get(order_id)

    async def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        """The order's events with `seq > after_seq`, in seq order."""
        return await self.inner.events(order_id, after_seq)

    async def active(self, limit: int, owner: str | None = None) -> tuple[int, list[str]]:
        """How many orders are not terminal, and up to `limit` of their ids."""
        return await self.inner.active(limit, owner)

    async def recent(
        self,
        limit: int,
        owner: str | None = None,
        *,
        status: str | None = None,
        order_type: str | None = None,
        since: datetime | None = None,
    ) -> list[Order]:
        """The most recently created orders, newest first."""
        return await self.inner.recent(
            limit, owner, status=status, order_type=order_type, since=since
        )

    async def unfinished(self, updated_before: datetime, limit: int) -> list[str]:
        """Ids of non-terminal orders last changed before `updated_before`."""
        return await self.inner.unfinished(updated_before, limit)

    async def decide_fires(self, fires: Sequence[tuple[Order, Firing]]) -> list[bool]:
        """Commit the decision to fire each watching order (its watch's exit)."""
        return await self.inner.decide_fires(fires)

    async def end_watches(self, moves: Sequence[Move]) -> list[bool]:
        """Cancel or expire watching orders, each exit with its move."""
        return await self.inner.end_watches(moves)

    async def fire_decisions(self, held: Sequence[Order]) -> dict[str, Firing]:
        """The fire decisions taken for these watching orders at their current seqs."""
        return await self.inner.fire_decisions(held)

    async def heartbeat(self, watcher: str, alive_until: datetime) -> bool:
        """Record that the trigger watcher lives until `alive_until`."""
        return await self.inner.heartbeat(watcher, alive_until)

    async def claim_armed(self, watcher: str, now: datetime, limit: int) -> list[Order]:
        """Hand `watcher` up to `limit` armed orders nobody holds."""
        return await self.inner.claim_armed(watcher, now, limit)

    async def claim_order(self, order_id: str, watcher: str) -> Order | None:
        """Hand `watcher` this armed order if nobody holds it."""
        return await self.inner.claim_order(order_id, watcher)

    async def release(self, watcher: str) -> None:
        """Let go of every order `watcher` holds and forget it."""
        await self.inner.release(watcher)

    async def purge_idempotency_keys(self, expired_before: datetime) -> int:
        """Forget idempotency keys that expired before `expired_before`."""
        return await self.inner.purge_idempotency_keys(expired_before)

    async def ping(self) -> None:
        """Raise if the store cannot be reached."""
        await self.inner.ping()

    async def close(self) -> None:
        """Write what is waiting, then close the wrapped store."""
        await self._saves.wait_idle()
        await self._creates.wait_idle()
        await self.inner.close()


def _rounds(moves: Sequence[Move]) -> list[list[int]]:
    """The moves' indices in rounds where no order appears twice (a batch compares every
    order with its state before the batch): an order's k-th move goes in round k, so it is
    written after its earlier ones, in the order they came."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for i, (order, _) in enumerate(moves):
        k = seen.get(order.id, 0)
        seen[order.id] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(i)
    return rounds


async def _outcome(call: Awaitable[_T]) -> _T | BaseException:
    """The call's result, or the exception it raised (for that caller alone)."""
    try:
        return await call
    except Exception as error:
        return error
