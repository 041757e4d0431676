"""Accepting orders and answering questions about them (the API's use cases)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from oee.domain.errors import DomainError, StaleOrder
from oee.domain.events import OrderEvent
from oee.domain.orders import IdempotencyKey, Order, SubmitOrder
from oee.domain.ports import Clock, EventBus, JobQueue, OrderStore
from oee.domain.status import OrderStatus
from oee.services.admission import Admission

log = structlog.get_logger(__name__)


CANCELLABLE = frozenset({OrderStatus.PENDING, OrderStatus.WATCHING})
CANCEL_REASON = "cancelled by the client"


class NotCancellable(DomainError):
    """The order is past the point where it can be cancelled (routing or later)."""

    code = "ORDER_NOT_CANCELLABLE"

    def __init__(self, order: Order, *, triggered: bool = False) -> None:
        if triggered:  # its fire is decided; the order's row catches up within milliseconds
            message = f"order {order.id} was triggered: it is executing and cannot be cancelled"
        else:
            message = (
                f"order {order.id} is {order.status.value}: only pending or watching orders "
                "can be cancelled"
            )
        super().__init__(message)
        self.order = order


@dataclass(frozen=True, slots=True)
class Accepted:
    """The answer to a submit: the order's id, and whether an idempotency key replayed it."""

    order_id: str
    replayed: bool = False


class OrderService:
    """Use cases behind the HTTP API."""

    def __init__(
        self,
        store: OrderStore,
        queue: JobQueue,
        bus: EventBus,
        clock: Clock,
        *,
        idempotency_window_s: float = 86_400.0,
        admission: Admission | None = None,
    ) -> None:
        self.store = store
        # None: every submit is admitted (tests, tools); the engine passes its own.
        self.admission = admission
        self.queue = queue
        self.bus = bus
        self.clock = clock
        self.idempotency_window = timedelta(seconds=idempotency_window_s)

    async def submit(
        self, cmd: SubmitOrder, idempotency_key: str | None = None, owner: str | None = None
    ) -> Accepted:
        """Persist a new pending order, publish its first event and queue it.

        The order is durable once `store.create` returns. If enqueueing fails after that, the
        recovery sweep finds the order and queues it, so it is accepted, not lost.

        Args:
            cmd: The validated order.
            idempotency_key: The client's key: within the window, the same key and request
                return the first order instead of creating another.
            owner: The name of the API key placing it (None in open mode); idempotency keys
                are per owner.

        Raises:
            IdempotencyConflict: The key was used for a different request.
            Overloaded: The engine is past capacity (`oee.services.admission`); nothing was
                stored.
        """
        if self.admission is None:
            return await self._submit(cmd, idempotency_key, owner)
        with self.admission.admit():
            return await self._submit(cmd, idempotency_key, owner)

    async def _submit(
        self, cmd: SubmitOrder, idempotency_key: str | None, owner: str | None
    ) -> Accepted:
        now = self.clock.now()
        order, event = Order.accept(cmd, str(uuid.uuid4()), now, owner)
        claim = None
        if idempotency_key is not None:
            claim = IdempotencyKey(
                idempotency_key, cmd.fingerprint(), now + self.idempotency_window, owner
            )
        order_id = await self.store.create(order, event, claim)
        if order_id != order.id:
            return Accepted(order_id, replayed=True)
        await self.bus.publish(event)
        try:
            await self.queue.enqueue(order.id)
        except Exception:
            log.warning("enqueue_failed_recovery_will_retry", order_id=order.id, exc_info=True)
        return Accepted(order.id)

    async def cancel(self, order_id: str) -> Order | None:
        """Cancel an order that is still pending or watching; cancelling twice is a no-op.

        The move is a compare-and-set like every other: if a trigger fires (or the executor
        starts routing) first, the cancel loses and says so, and the order executes. A watching
        order's cancel also takes its watch's exit (`OrderStore.end_watches`): a fire decided
        first wins even while the order's row still says watching.

        Returns:
            The order as it now is (cancelled), or None when there is no such order.

        Raises:
            NotCancellable: The order is routing or later (its status is on the error).
        """
        while True:  # each pass follows a move someone else made (a pending order moves on)
            order = await self.store.get(order_id)
            if order is None or order.status is OrderStatus.CANCELLED:
                return order
            if order.status not in CANCELLABLE:
                raise NotCancellable(order)
            watching = order.status is OrderStatus.WATCHING
            event = order.cancel(CANCEL_REASON, self.clock.now())
            if watching:
                if not (await self.store.end_watches([(order, event)]))[0]:
                    await self._watch_ended(order_id, order.seq - 1)
                    continue
            else:
                try:
                    await self.store.save(order, event)
                except StaleOrder:
                    continue
            await self.bus.publish(event)
            log.info("order_cancelled", order_id=order_id)
            return order

    async def _watch_ended(self, order_id: str, seq: int) -> None:
        """The watch at `seq` ended first: raise when it was a fire whose move is still on its
        way (the row says watching at that seq); else return, for the caller to look again."""
        now = await self.store.get(order_id)
        if now is not None and now.status is OrderStatus.WATCHING and now.seq == seq:
            raise NotCancellable(now, triggered=True)

    async def get(self, order_id: str) -> Order | None:
        """The order with this id, or None."""
        return await self.store.get(order_id)

    async def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        """The order's events after `after_seq`, in seq order."""
        return await self.store.events(order_id, after_seq)

    async def active(self, limit: int = 1000, owner: str | None = None) -> tuple[int, list[str]]:
        """Count and ids of orders being worked now (only `owner`'s when given)."""
        return await self.store.active(limit, owner)

    async def recent(
        self,
        limit: int,
        owner: str | None = None,
        *,
        status: str | None = None,
        order_type: str | None = None,
        since: datetime | None = None,
    ) -> list[Order]:
        """The most recently created orders, newest first (only `owner`'s, of `status`, of
        `order_type` and created at or after `since`, when given)."""
        return await self.store.recent(
            limit, owner, status=status, order_type=order_type, since=since
        )
