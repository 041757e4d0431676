"""`Cursor`, the one delivery rule of both streams: every event once, in seq order, no gap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oee.api import cursor as cursor_module
from oee.api.cursor import Cursor
from oee.domain.events import OrderEvent
from tests.support.fakes import FakeClock

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STEPS = ("pending", "routing", "building", "submitted", "confirmed")


def event(order_id: str, seq: int) -> OrderEvent:
    return OrderEvent(order_id, seq, STEPS[seq - 1], T0, 1, {})


class Rig:
    """A cursor over an in-memory event log, recording what it sent and what it read."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.log: dict[str, list[OrderEvent]] = {}
        self.sent: list[tuple[str, int]] = []
        self.reads = 0
        self.cursor = Cursor(self.send, self.read_log, clock=clock or FakeClock())

    def commit(self, order_id: str, upto: int) -> list[OrderEvent]:
        self.log[order_id] = [event(order_id, seq) for seq in range(1, upto + 1)]
        return self.log[order_id]

    async def send(self, e: OrderEvent) -> None:
        self.sent.append((e.order_id, e.seq))

    async def read_log(self, order_id: str, after: int) -> list[OrderEvent]:
        self.reads += 1
        return [e for e in self.log.get(order_id, []) if e.seq > after]


async def test_in_order_events_go_out_without_reading_the_log() -> None:
    rig = Rig()
    for e in rig.commit("a", 5):
        await rig.cursor.deliver(e)
    assert (rig.sent, rig.reads) == ([("a", n) for n in range(1, 6)], 0)
    assert rig.cursor.finished("a")


async def test_duplicates_and_covered_events_are_dropped() -> None:
    rig = Rig()
    events = rig.commit("a", 4)
    rig.cursor.cover("a", 2)  # a snapshot at seq 2
    for e in [events[0], events[1], events[2], events[2], events[1], events[3]]:
        await rig.cursor.deliver(e)
    assert rig.sent == [("a", 3), ("a", 4)]


async def test_a_gap_is_filled_from_the_log_before_the_event() -> None:
    rig = Rig()
    events = rig.commit("a", 5)
    await rig.cursor.deliver(events[0])
    await rig.cursor.deliver(events[3])  # 2 and 3 dropped by pub/sub
    await rig.cursor.deliver(events[1])  # ... and 2 arrives late
    await rig.cursor.deliver(events[4])
    assert rig.sent == [("a", n) for n in range(1, 6)]
    assert rig.reads == 1


async def test_an_order_first_seen_mid_life_is_sent_from_its_first_event() -> None:
    rig = Rig()
    events = rig.commit("new", 3)
    await rig.cursor.deliver(events[2])  # the first heard of it is seq 3
    assert rig.sent == [("new", 1), ("new", 2), ("new", 3)]


@given(st.permutations(range(1, 6)), st.sets(st.integers(1, 5)))
async def test_any_arrival_order_with_drops_delivers_each_event_once_in_order(
    arrivals: list[int], dropped: set[int]
) -> None:
    rig = Rig()
    events = rig.commit("a", 5)
    for seq in arrivals:
        if seq not in dropped:
            await rig.cursor.deliver(events[seq - 1])
    await rig.cursor.catch_up("a")  # what a quiet-order check does at the latest
    assert rig.sent == [("a", n) for n in range(1, 6)]


async def test_quiet_orders_are_checked_quietest_first_and_in_turn() -> None:
    clock = FakeClock(0.0)
    rig = Rig(clock)
    for n in range(4):
        clock.t = float(n)
        rig.cursor.cover(f"o{n}", 1)
    clock.t = 3.5
    rig.cursor.cover("o0", 2)  # heard of again: no longer the quietest
    clock.t = 10.0
    assert rig.cursor.quiet(older_than_s=2.0, limit=2) == ["o1", "o2"]
    assert rig.cursor.quiet(older_than_s=2.0, limit=2) == ["o3", "o0"]
    assert rig.cursor.quiet(older_than_s=2.0, limit=2) == []  # all checked just now
    clock.t = 11.0
    rig.cursor.cover("o1", 3, terminal=True)
    clock.t = 20.0
    assert "o1" not in rig.cursor.quiet(older_than_s=2.0, limit=10)


def test_finished_orders_are_forgotten_so_memory_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock(0.0)
    cursor = Rig(clock).cursor
    for n in range(5):
        cursor.cover(f"done-{n}", 5, terminal=True)
    cursor.cover("working", 2)
    clock.t = cursor_module.FORGET_AFTER_S - 1
    cursor.forget()
    assert len(cursor) == 6
    clock.t = cursor_module.FORGET_AFTER_S
    cursor.forget()
    assert (len(cursor), cursor.last("done-0"), cursor.last("working")) == (1, 0, 2)
    monkeypatch.setattr(cursor_module, "MAX_FINISHED", 3)
    clock.t = 100.0
    for n in range(10):
        cursor.cover(f"late-{n}", 5, terminal=True)
    assert len(cursor) == 4  # three finished orders and the working one
    assert cursor.last("late-9") == 5
