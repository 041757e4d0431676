"""The reconnect schedule: ceilings double up to the cap, each wait is jittered in its upper half."""

from __future__ import annotations

import random

import pytest

from oee.adapters.chain.backoff import Backoff


def test_ceilings_double_from_the_base_up_to_the_cap() -> None:
    backoff = Backoff(base_s=0.5, cap_s=30.0)
    assert [backoff.ceiling(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff.ceiling(10_000) == 30.0  # a day-long outage neither overflows nor grows


def test_each_wait_lies_in_the_upper_half_of_its_ceiling() -> None:
    backoff = Backoff(base_s=0.5, cap_s=30.0, rng=random.Random(1))
    for failures in range(1, 40):
        delay = backoff.next_delay()
        assert backoff.failures == failures
        ceiling = backoff.ceiling(failures)
        assert ceiling / 2 <= delay <= ceiling


def test_the_jitter_spreads_clients_and_a_seed_reproduces_it() -> None:
    first = [Backoff(rng=random.Random(seed)).next_delay() for seed in range(20)]
    assert len(set(first)) == 20  # twenty workers that lost the node come back apart
    again = [Backoff(rng=random.Random(seed)).next_delay() for seed in range(20)]
    assert again == first


def test_reset_starts_the_schedule_over() -> None:
    backoff = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(3))
    for _ in range(5):
        backoff.next_delay()
    assert backoff.failures == 5
    backoff.reset()
    assert backoff.failures == 0
    assert 0.5 <= backoff.next_delay() <= 1.0


@pytest.mark.parametrize(("base_s", "cap_s"), [(0, 1), (-1, 1), (2, 1)])
def test_a_schedule_that_cannot_work_is_refused(base_s: float, cap_s: float) -> None:
    with pytest.raises(ValueError, match="base_s"):
        Backoff(base_s=base_s, cap_s=cap_s)
