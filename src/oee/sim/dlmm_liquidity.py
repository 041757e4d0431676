"""What the DLMM pools' liquidity providers and arbitrageurs do, written as bins.

The program's own swap and fee math is `venues.meteora`; this is the market around it: LPs
spreading a pool's value over bins around the price (Meteora's Spot or Curve strategy) and
re-spreading it when the price leaves them, and fee-free arbitrage moving the active bin (each
bin passed is converted at its own price, as swaps through it would). Everything takes and
returns the venue's records (`LbPair`, `BinArray`, `Bin`).
"""

from __future__ import annotations

import dataclasses
import decimal
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from solders.pubkey import Pubkey

from oee.venues.meteora.discovery import BIN_ARRAY_BITMAP_SIZE, bin_array_index
from oee.venues.meteora.layout import BINS_PER_ARRAY, BITMAP_WORDS, Bin, BinArray, LbPair
from oee.venues.meteora.math import (
    SCALE_OFFSET,
    accumulate_volatility,
    finish_volatility,
    price_from_id,
    update_references,
)

Shape = Literal["spot", "curve"]
Amounts = dict[int, tuple[int, int]]  # bin id -> (amount_x, amount_y)
EMPTY_BIN = Bin(0, 0, 0, 0, (0, 0), 0, 0, 0, 0)
_U64 = 2**64 - 1


def spread(active_id: int, total_x: int, total_y: int, width: int, shape: Shape) -> Amounts:
    """Meteora's Spot (flat) or Curve (peaked at the price) strategy over `width` bins a side.

    X goes above the active bin, Y below; the active bin holds both with half a bin's weight
    of each and takes the rounding remainders, so the totals are exact.
    """
    if shape == "spot":
        weights = [1] + [2] * width
    else:
        weights = [width + 1] + [2 * (width + 1 - d) for d in range(1, width + 1)]
    total_weight = sum(weights)
    above = [total_x * w // total_weight for w in weights[1:]]
    below = [total_y * w // total_weight for w in weights[1:]]
    amounts = {active_id: (total_x - sum(above), total_y - sum(below))}
    for distance in range(1, width + 1):
        amounts[active_id + distance] = (above[distance - 1], 0)
        amounts[active_id - distance] = (0, below[distance - 1])
    return amounts


def deposit_bin(bin_id: int, bin_step: int, amount_x: int, amount_y: int) -> Bin:
    """A bin holding these amounts, its price stored and its shares the liquidity it holds
    (`price * x + y` in Q64.64, as the program mints them)."""
    if not amount_x and not amount_y:
        return EMPTY_BIN
    price = price_from_id(bin_id, bin_step)
    liquidity = amount_x * price + (amount_y << SCALE_OFFSET)
    return Bin(amount_x, amount_y, price, liquidity, (0, 0), 0, 0, 0, 0)


def bin_arrays(
    pair: Pubkey, bin_step: int, amounts: Amounts, indexes: set[int]
) -> dict[int, BinArray]:
    """The bin arrays holding `amounts`, plus empty ones for `indexes` no longer used."""
    wanted = set(indexes) | {bin_array_index(bin_id) for bin_id in amounts}
    arrays = {}
    for index in sorted(wanted):
        lower = index * BINS_PER_ARRAY
        bins = tuple(
            deposit_bin(lower + i, bin_step, *amounts.get(lower + i, (0, 0)))
            for i in range(BINS_PER_ARRAY)
        )
        arrays[index] = BinArray(index, 1, bytes(7), pair, bins)
    return arrays


def with_bitmap(pair: LbPair, arrays: dict[int, BinArray]) -> LbPair:
    """The pair with its bin-array bitmap marking exactly the arrays holding liquidity."""
    bits = 0
    for index, array in arrays.items():
        if any(b.amount_x or b.amount_y for b in array.bins):
            bits |= 1 << (index + BIN_ARRAY_BITMAP_SIZE)
    words = tuple((bits >> (64 * i)) & _U64 for i in range(BITMAP_WORDS))
    return dataclasses.replace(pair, bin_array_bitmap=words)


def held_range(arrays: dict[int, BinArray]) -> tuple[int, int]:
    """The lowest and highest bin id holding liquidity."""
    held = [
        array.index * BINS_PER_ARRAY + i
        for array in arrays.values()
        for i, b in enumerate(array.bins)
        if b.amount_x or b.amount_y
    ]
    return min(held), max(held)


def amounts_of(arrays: dict[int, BinArray]) -> Amounts:
    """Every bin's (x, y) that holds liquidity."""
    return {
        array.index * BINS_PER_ARRAY + i: (b.amount_x, b.amount_y)
        for array in arrays.values()
        for i, b in enumerate(array.bins)
        if b.amount_x or b.amount_y
    }


def move_active(
    pair: LbPair, arrays: dict[int, BinArray], to_id: int, now: int
) -> tuple[LbPair, dict[int, BinArray]]:
    """Move the active bin to `to_id` as fee-free arbitrage would, keeping value at bin prices.

    Moving down sells X into every bin passed (their Y becomes X at the bin's price); moving up
    buys their X with Y. The volatility accumulator sees the move like a swap's.
    """
    start, step = pair.active_id, pair.bin_step
    changed = {index: list(array.bins) for index, array in arrays.items()}

    def convert(bin_id: int, to_x: bool) -> None:
        bins = changed.get(bin_array_index(bin_id))
        if bins is None:
            return
        position = bin_id - bin_array_index(bin_id) * BINS_PER_ARRAY
        old = bins[position]
        if not old.amount_x and not old.amount_y:
            return
        price = old.price or price_from_id(bin_id, step)
        if to_x:
            x, y = old.amount_x + (old.amount_y << SCALE_OFFSET) // price, 0
        else:
            x, y = 0, old.amount_y + (old.amount_x * price >> SCALE_OFFSET)
        bins[position] = dataclasses.replace(old, amount_x=x, amount_y=y, price=price)

    for bin_id in range(to_id + 1, start + 1):  # moving down
        convert(bin_id, to_x=True)
    for bin_id in range(start, to_id):  # moving up
        convert(bin_id, to_x=False)
    volatility = update_references(pair.v_parameters, pair.parameters, start, now)
    volatility = accumulate_volatility(volatility, pair.parameters, to_id)
    moved = dataclasses.replace(
        pair, active_id=to_id, v_parameters=finish_volatility(volatility, now)
    )
    new_arrays = {i: dataclasses.replace(arrays[i], bins=tuple(b)) for i, b in changed.items()}
    return moved, new_arrays


def nearest_bin(price: Decimal, bin_step: int) -> int:
    """The bin nearest `price` (Y base units per X base unit), in log terms."""
    if price <= 0:
        raise ValueError("price must be positive")
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        position = price.ln() / (1 + Decimal(bin_step) / 10_000).ln()
        return int(position.to_integral_value(ROUND_HALF_EVEN))


def bin_price(bin_id: int, bin_step: int) -> Decimal:
    """A bin's price as a Decimal: Y base units per X base unit."""
    return Decimal(price_from_id(bin_id, bin_step)) / (1 << SCALE_OFFSET)
