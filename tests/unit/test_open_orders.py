"""The open-orders cap asks the store rarely while a key is under it, and always at it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from oee.api import open_orders
from oee.api.errors import ApiError
from oee.api.open_orders import OpenOrders


class Counting:
    """An engine stand-in whose store says `count` open orders and counts the asks."""

    def __init__(self, cap: int | None, count: int) -> None:
        self.count, self.asks = count, 0
        self.settings = SimpleNamespace(max_open_orders_per_key=cap)
        self.orders = self
        self.metrics = SimpleNamespace(limited_for=lambda _: SimpleNamespace(inc=lambda: None))

    async def active(self, limit: int, owner: str | None) -> tuple[int, list[str]]:
        self.asks += 1
        return self.count, []


def _cap(engine: Counting) -> OpenOrders:
    return OpenOrders(engine)  # type: ignore[arg-type]


async def test_under_the_cap_the_store_is_asked_once_per_refresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(open_orders.time, "monotonic", lambda: now[0])
    engine = Counting(cap=10, count=2)
    cap = _cap(engine)
    for _ in range(5):
        await cap.check("alice")
        cap.accepted("alice")
    assert engine.asks == 1
    now[0] += open_orders.REFRESH_S
    await cap.check("alice")
    assert engine.asks == 2


async def test_at_the_cap_the_store_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(open_orders.time, "monotonic", lambda: 100.0)
    engine = Counting(cap=3, count=1)
    cap = _cap(engine)
    await cap.check("alice")
    cap.accepted("alice")
    cap.accepted("alice")  # the bound reaches the cap: the next submit asks the store
    engine.count = 2  # one of them finished meanwhile
    await cap.check("alice")
    assert engine.asks == 2
    cap.accepted("alice")
    engine.count = 3
    with pytest.raises(ApiError) as refused:
        await cap.check("alice")
    assert (refused.value.status, refused.value.code) == (429, "TOO_MANY_OPEN_ORDERS")
    assert "has 3 unfinished orders" in refused.value.message  # the store's count, not a bound


async def test_keys_are_counted_apart_and_no_cap_asks_nothing() -> None:
    engine = Counting(cap=1, count=0)
    cap = _cap(engine)
    await cap.check("alice")
    cap.accepted("alice")
    await cap.check("bob")
    assert engine.asks == 2
    free: Any = Counting(cap=None, count=99)
    await _cap(free).check("alice")
    assert free.asks == 0
