"""An exact-in DLMM swap walked across bins and bin arrays, quoted or applied to the records.

The loop is the program's as the SDK restates it (`commons/src/quote.rs` `quote_exact_in`):
update the volatility references once at the current time, then for each bin from the active one
in the swap's direction update the accumulator, price the fee at it and swap in the bin, moving
on while input is left. Bin arrays are found through the pair's bitmap as the program's
`next_bin_array_index_with_liquidity` does, jumping the active bin over arrays that do not exist.

Not modelled: Token-2022 transfer fees (amounts here are what the pool receives and pays; a mint
with a transfer fee changes what the user sends and gets), the bitmap extension (bin arrays
beyond index ±512), limit orders and Y-only fee collection (`UnsupportedPair`), reward
accounting, the oracle's observations and the bins' `amount_*_in` tracking counters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from oee.venues.meteora.discovery import (
    bin_array_bin_range,
    bin_array_index,
    next_bin_array_index_with_liquidity,
)
from oee.venues.meteora.layout import Bin, BinArray, LbPair, ProtocolFee, VariableParameters
from oee.venues.meteora.math import (
    MAX_BIN_ID,
    MIN_BIN_ID,
    SCALE_OFFSET,
    U64_MAX,
    BinArrayMissing,
    BinSwap,
    InsufficientLiquidity,
    PairNotTradable,
    UnsupportedPair,
    accumulate_volatility,
    finish_volatility,
    price_from_id,
    shl_div,
    swap_in_bin,
    total_fee_rate,
    update_references,
)

_LIMIT_ORDER_FUNCTION = 2
_PERMISSION_PAIR, _SLOT_ACTIVATION = 1, 0


@dataclass(frozen=True, slots=True)
class SwapQuote:
    """An exact-in swap's result; amounts in base units, fees in the input token."""

    amount_in: int  # all of it is used
    amount_out: int
    fee: int  # total swap fee, protocol and host parts included
    protocol_fee: int  # the protocol's part, after the host's
    host_fee: int  # paid to the host fee account, when one is passed
    swap_for_y: bool
    start_active_id: int
    end_active_id: int
    bins_crossed: int  # bins the active id moved
    bins_used: int  # bins that paid output
    bin_arrays: tuple[int, ...]  # indexes of the bin arrays the swap touched, in order


@dataclass(frozen=True, slots=True)
class SwapOutcome:
    """A swap applied: its quote, the pair after it, and the touched bin arrays after it."""

    quote: SwapQuote
    pair: LbPair
    bin_arrays: dict[int, BinArray]


@dataclass(frozen=True, slots=True)
class _Step:
    array_index: int
    position: int
    price: int
    swap: BinSwap


def swap_for_y(pair: LbPair, *, output_mint: Pubkey) -> bool:
    """The swap's direction as the program derives it: selling X when Y is the output.

    Raises:
        ValueError: `output_mint` is neither of the pair's mints.
    """
    if output_mint not in (pair.token_x_mint, pair.token_y_mint):
        raise ValueError(f"{output_mint} is not a mint of this pair")
    return output_mint == pair.token_y_mint


def check_tradable(pair: LbPair, *, now: int, slot: int | None = None) -> None:
    """Refuses pairs the quote cannot serve: disabled, not yet active, or unmodelled features.

    As `quote.rs`'s `validate_swap_activation`, only permissioned pairs wait for their
    activation point, counted in slots or seconds per `activation_type`.

    Raises:
        PairNotTradable: Disabled, or a permissioned pair before its activation point (or its
            activation counts slots and no `slot` was given).
        UnsupportedPair: A limit-order pair, or one collecting fees only in token Y.
    """
    if pair.status != 0:
        raise PairNotTradable("the pair is disabled")
    if pair.parameters.function_type == _LIMIT_ORDER_FUNCTION:
        raise UnsupportedPair("limit-order pairs keep order book state in their bins")
    if pair.parameters.collect_fee_mode != 0:
        raise UnsupportedPair("the pair collects its fee in token Y only")
    if pair.pair_type == _PERMISSION_PAIR:
        point = slot if pair.activation_type == _SLOT_ACTIVATION else now
        if point is None or point < pair.activation_point:
            raise PairNotTradable(f"the pair activates at {pair.activation_point}")


def quote_exact_in(
    pair: LbPair,
    bin_arrays: Iterable[BinArray],
    amount_in: int,
    *,
    swap_for_y: bool,
    now: int,
    slot: int | None = None,
    with_host_fee: bool = False,
) -> SwapQuote:
    """What swapping exactly `amount_in` pays at unix time `now`, without changing anything.

    Args:
        pair: The decoded pair.
        bin_arrays: The pair's bin arrays the swap may reach (any order, extras ignored).
        amount_in: Input in base units of X when `swap_for_y`, else of Y (fee included).
        swap_for_y: True sells X for Y (the active bin moves down), False sells Y for X.
        now: The cluster's unix timestamp (volatility decays with it).
        slot: The current slot, needed only for permissioned pairs activated by slot.
        with_host_fee: A host fee account is passed (it takes 20 % of the protocol fee).

    Raises:
        InsufficientLiquidity: The bins run out before the input is spent.
        BinArrayMissing: The swap reaches a bin array not in `bin_arrays`.
        PairNotTradable, UnsupportedPair: See `check_tradable`.
        MathOverflow: An amount leaves the program's integer range.
    """
    return _walk(pair, bin_arrays, amount_in, swap_for_y, now, slot, with_host_fee)[0]


def swap_exact_in(
    pair: LbPair,
    bin_arrays: Iterable[BinArray],
    amount_in: int,
    *,
    swap_for_y: bool,
    now: int,
    slot: int | None = None,
    with_host_fee: bool = False,
) -> SwapOutcome:
    """Executes the swap on the records: the quote, and the pair and bin arrays it leaves.

    The pair gets the new active bin, the volatility state stamped `now`, and its protocol
    fee; each bin used gets the input (fee excluded) and loses the output, stores its price and
    adds its liquidity providers' fee (`fee - protocol_fee - host_fee`) per share. The input
    reserve receives `amount_in - host_fee`; the output reserve pays `amount_out`.

    Raises:
        As `quote_exact_in`; nothing is changed then.
    """
    quote, volatility, steps, arrays = _walk(
        pair, bin_arrays, amount_in, swap_for_y, now, slot, with_host_fee
    )
    changed = {index: list(arrays[index].bins) for index in quote.bin_arrays}
    for step in steps:
        bins = changed[step.array_index]
        bins[step.position] = _apply_to_bin(bins[step.position], step, swap_for_y)
    protocol = pair.protocol_fee
    protocol = (
        ProtocolFee(protocol.amount_x + quote.protocol_fee, protocol.amount_y)
        if swap_for_y
        else ProtocolFee(protocol.amount_x, protocol.amount_y + quote.protocol_fee)
    )
    new_pair = dataclasses.replace(
        pair,
        active_id=quote.end_active_id,
        v_parameters=finish_volatility(volatility, now),
        protocol_fee=protocol,
    )
    new_arrays = {
        index: dataclasses.replace(arrays[index], bins=tuple(bins))
        for index, bins in changed.items()
    }
    return SwapOutcome(quote, new_pair, new_arrays)


def _apply_to_bin(bin_: Bin, step: _Step, swap_for_y: bool) -> Bin:
    swap = step.swap
    into_bin = swap.amount_in_with_fee - swap.fee
    lp_fee = swap.fee - swap.protocol_fee - swap.host_fee
    per_share = shl_div(lp_fee, bin_.liquidity_supply >> SCALE_OFFSET, round_up=False)
    if swap_for_y:
        return dataclasses.replace(
            bin_,
            amount_x=bin_.amount_x + into_bin,
            amount_y=bin_.amount_y - swap.amount_out,
            price=step.price,
            fee_amount_x_per_token_stored=bin_.fee_amount_x_per_token_stored + per_share,
        )
    return dataclasses.replace(
        bin_,
        amount_y=bin_.amount_y + into_bin,
        amount_x=bin_.amount_x - swap.amount_out,
        price=step.price,
        fee_amount_y_per_token_stored=bin_.fee_amount_y_per_token_stored + per_share,
    )


def _walk(
    pair: LbPair,
    bin_arrays: Iterable[BinArray],
    amount_in: int,
    swap_for_y: bool,
    now: int,
    slot: int | None,
    with_host_fee: bool,
) -> tuple[SwapQuote, VariableParameters, list[_Step], dict[int, BinArray]]:
    if not 0 < amount_in <= U64_MAX:
        raise ValueError(f"amount_in {amount_in} is not a positive u64")
    check_tradable(pair, now=now, slot=slot)
    arrays = {array.index: array for array in bin_arrays}
    parameters, share = pair.parameters, pair.parameters.protocol_share
    volatility = update_references(pair.v_parameters, parameters, pair.active_id, now)
    active_id, left = pair.active_id, amount_in
    steps: list[_Step] = []
    touched: list[int] = []
    while left > 0:
        current = bin_array_index(active_id)
        index = next_bin_array_index_with_liquidity(pair, current, swap_for_y=swap_for_y)
        if index is None:
            raise InsufficientLiquidity(f"no bin array holds liquidity past bin {active_id}")
        lower, upper = bin_array_bin_range(index)
        if index != current:
            active_id = upper if swap_for_y else lower
        array = arrays.get(index)
        if array is None:
            raise BinArrayMissing(index)
        touched.append(index)
        while left > 0 and lower <= active_id <= upper:
            volatility = accumulate_volatility(volatility, parameters, active_id)
            bin_ = array.bins[active_id - lower]
            if bin_.amount_y if swap_for_y else bin_.amount_x:
                price = bin_.price or price_from_id(active_id, pair.bin_step)
                rate = total_fee_rate(pair, volatility.volatility_accumulator)
                swap = swap_in_bin(
                    bin_,
                    price,
                    left,
                    swap_for_y=swap_for_y,
                    fee_rate=rate,
                    protocol_share=share,
                    with_host_fee=with_host_fee,
                )
                left -= swap.amount_in_with_fee
                steps.append(_Step(index, active_id - lower, price, swap))
            if left > 0:
                active_id += -1 if swap_for_y else 1
                if not MIN_BIN_ID <= active_id <= MAX_BIN_ID:
                    raise InsufficientLiquidity("the swap ran past the last bin")
    quote = SwapQuote(
        amount_in=amount_in,
        amount_out=sum(step.swap.amount_out for step in steps),
        fee=sum(step.swap.fee for step in steps),
        protocol_fee=sum(step.swap.protocol_fee for step in steps),
        host_fee=sum(step.swap.host_fee for step in steps),
        swap_for_y=swap_for_y,
        start_active_id=pair.active_id,
        end_active_id=active_id,
        bins_crossed=abs(active_id - pair.active_id),
        bins_used=len(steps),
        bin_arrays=tuple(dict.fromkeys(touched)),
    )
    return quote, volatility, steps, arrays
