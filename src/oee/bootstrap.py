"""The composition root: builds the engine's object graph from settings.

Only this module (and the CLI that calls it) reads settings and picks adapters; everything else
receives its collaborators. Tests build their own `Engine` with the pieces they want.
"""

from __future__ import annotations

from dataclasses import dataclass

from oee.domain.ports import Clock, EventBus, JobQueue, OrderStore
from oee.services.orders import OrderService
from oee.settings import Settings


@dataclass
class Engine:
    """Everything a process of the engine runs with.

    `start()` connects the bus and, when `run_worker` is set, starts consuming jobs and the
    recovery sweep; `stop()` drains and closes in reverse order.
    """

    settings: Settings
    clock: Clock
    store: OrderStore
    queue: JobQueue
    bus: EventBus
    orders: OrderService
    run_worker: bool = True

    async def start(self) -> None:
        await self.bus.start()

    async def stop(self) -> None:
        await self.queue.close()
        await self.bus.close()
        await self.store.close()
