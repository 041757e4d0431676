"""The in-process event bus: the embedded default, where API and worker share one process."""

from __future__ import annotations

from oee.adapters.bus._fanout import DEFAULT_BUFFER, Feed, LocalFanout
from oee.domain.events import OrderEvent


class MemoryBus:
    """`EventBus` for a single process: publishing is a direct, synchronous fan-out.

    Args:
        buffer_size: Events buffered per subscription before the oldest are dropped.
    """

    def __init__(self, *, buffer_size: int = DEFAULT_BUFFER) -> None:
        self._fanout = LocalFanout(buffer_size)

    async def start(self) -> None:
        """Nothing to connect to."""

    async def publish(self, event: OrderEvent) -> None:
        """Deliver `event` to its order's subscribers and to the firehose."""
        self._fanout.dispatch(event)

    def subscribe(self, order_id: str | None) -> Feed:
        """Events of one order, or of every order when `order_id` is None."""
        return self._fanout.subscribe(order_id)

    def redeliver(self, event: OrderEvent) -> None:
        """Hand `event` to this process's subscribers only (one the bus dropped on its way)."""
        self._fanout.dispatch(event)

    async def ping(self) -> None:
        """Always reachable."""

    async def close(self) -> None:
        """End every subscription."""
        self._fanout.close()
