"""Bin-array indexing, the bitmap walk and the PDAs a pool launch creates."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from oee.venues.meteora import PROGRAM_ID
from oee.venues.meteora.discovery import (
    bin_array_address,
    bin_array_addresses_for_swap,
    bin_array_bin_range,
    bin_array_index,
    bin_array_indexes_for_swap,
    bitmap_extension_address,
    consecutive_bin_array_indexes,
    customizable_lb_pair_address,
    lb_pair_address,
    next_bin_array_index_with_liquidity,
)
from tests.unit.venues.meteora.fixture_data import SOL_PUMP, TOKEN_2022


@pytest.mark.parametrize(
    ("bin_id", "index"),
    [
        (0, 0),
        (69, 0),
        (70, 1),
        (-1, -1),
        (-70, -1),
        (-71, -2),
        (443_636, 6_337),
        (-443_636, -6_338),
    ],
)
def test_bin_array_index_floors(bin_id: int, index: int) -> None:
    assert bin_array_index(bin_id) == index


@given(st.integers(-443_636, 443_636))
def test_every_bin_lies_in_its_array(bin_id: int) -> None:
    lower, upper = bin_array_bin_range(bin_array_index(bin_id))
    assert lower <= bin_id <= upper
    assert upper - lower == 69


def test_consecutive_indexes_follow_the_direction() -> None:
    assert consecutive_bin_array_indexes(15, swap_for_y=True, count=3) == [0, -1, -2]
    assert consecutive_bin_array_indexes(-1, swap_for_y=False, count=3) == [-1, 0, 1]


def test_bitmap_walk_on_the_fixture_pairs() -> None:
    pump = SOL_PUMP.pair()  # arrays -1, 0, 1 exist; active bin 15
    assert bin_array_indexes_for_swap(pump, swap_for_y=True, count=3) == [0, -1]
    assert bin_array_indexes_for_swap(pump, swap_for_y=False, count=3) == [0, 1]
    assert bin_array_indexes_for_swap(TOKEN_2022.pair(), swap_for_y=False, count=3) == [0]


def test_bitmap_walk_skips_missing_arrays() -> None:
    bits = (1 << (512 - 40)) | (1 << (512 + 7))  # arrays -40 and 7
    words = tuple((bits >> (64 * i)) & (2**64 - 1) for i in range(16))
    pair = dataclasses.replace(SOL_PUMP.pair(), bin_array_bitmap=words)
    assert next_bin_array_index_with_liquidity(pair, 0, swap_for_y=False) == 7
    assert next_bin_array_index_with_liquidity(pair, 7, swap_for_y=False) == 7
    assert next_bin_array_index_with_liquidity(pair, 8, swap_for_y=False) is None
    assert next_bin_array_index_with_liquidity(pair, 0, swap_for_y=True) == -40
    assert next_bin_array_index_with_liquidity(pair, -41, swap_for_y=True) is None
    assert next_bin_array_index_with_liquidity(pair, 600, swap_for_y=True) is None  # extension


def test_launch_pdas_are_deterministic_and_mint_order_free() -> None:
    a, b = Pubkey.new_unique(), Pubkey.new_unique()
    assert lb_pair_address(a, b, 25, 10_000) == lb_pair_address(b, a, 25, 10_000)
    assert lb_pair_address(a, b, 25, 10_000) != lb_pair_address(a, b, 25, 8_000)
    assert customizable_lb_pair_address(a, b) == customizable_lb_pair_address(b, a)
    pair = SOL_PUMP.lb_pair
    assert (
        bitmap_extension_address(pair)
        == Pubkey.find_program_address([b"bitmap", bytes(pair)], PROGRAM_ID)[0]
    )
    negative = bin_array_address(pair, -1)
    seeds = [b"bin_array", bytes(pair), (-1).to_bytes(8, "little", signed=True)]
    assert negative == Pubkey.find_program_address(seeds, PROGRAM_ID)[0]


def test_swap_remaining_accounts_are_the_fixture_arrays() -> None:
    pump = SOL_PUMP.pair()
    addresses = bin_array_addresses_for_swap(SOL_PUMP.lb_pair, pump, swap_for_y=True, count=2)
    assert addresses == [SOL_PUMP.bin_array_1, SOL_PUMP.bin_array_2]
