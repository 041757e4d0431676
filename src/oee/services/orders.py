"""Accepting orders and answering questions about them (the API's use cases)."""

from __future__ import annotations

import uuid

import structlog

from oee.domain.events import OrderEvent
from oee.domain.orders import Order, SubmitOrder
from oee.domain.ports import Clock, EventBus, JobQueue, OrderStore

log = structlog.get_logger(__name__)


class OrderService:
    """Use cases behind the HTTP API."""

    def __init__(self, store: OrderStore, queue: JobQueue, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.queue = queue
        self.bus = bus
        self.clock = clock

    async def submit(self, cmd: SubmitOrder) -> Order:
        """Persist a new pending order, publish its first event and queue it.

        The order is durable once `store.create` returns. If enqueueing fails after that, the
        recovery sweep finds the order and queues it, so it is accepted, not lost.
        """
        order, event = Order.accept(cmd, str(uuid.uuid4()), self.clock.now())
        await self.store.create(order, event)
        await self.bus.publish(event)
        try:
            await self.queue.enqueue(order.id)
        except Exception:
            log.warning("enqueue_failed_recovery_will_retry", order_id=order.id, exc_info=True)
        return order

    async def get(self, order_id: str) -> Order | None:
        """The order with this id, or None."""
        return await self.store.get(order_id)

    async def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        """The order's events after `after_seq`, in seq order."""
        return await self.store.events(order_id, after_seq)

    async def active(self, limit: int = 1000) -> tuple[int, list[str]]:
        """Count and ids of orders being worked now."""
        return await self.store.active(limit)

    async def recent(self, limit: int) -> list[Order]:
        """The most recently created orders, newest first."""
        return await self.store.recent(limit)
