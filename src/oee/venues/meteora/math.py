"""The DLMM program's integer arithmetic: bin prices, fee rates, and one bin's swap.

Each function restates one piece of `lb_clmm` (the open `programs/lb_clmm/src/state/{bin,
lb_pair,parameters}.rs` and `math/u64x64_math.rs`) or the SDK's `commons` crate that mirrors it,
with the same widths, rounding directions and overflow failures: a value a Rust `u64`/`u128`
checked operation would reject raises `MathOverflow` here instead of growing silently. The walk
across bins and bin arrays is in `quote.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from oee.venues.meteora.layout import Bin, LbPair, StaticParameters, VariableParameters

SCALE_OFFSET = 64  # prices are Q64.64
ONE = 1 << SCALE_OFFSET
BASIS_POINT_MAX = 10_000
FEE_PRECISION = 1_000_000_000  # fee rates are parts per 1e9
MAX_FEE_RATE = 100_000_000  # 10 %: base plus variable fee is capped here
HOST_FEE_BPS = 2_000  # a host fee account takes 20 % of the protocol fee
MIN_BIN_ID, MAX_BIN_ID = -443_636, 443_636
U32_MAX, U64_MAX, U128_MAX = 2**32 - 1, 2**64 - 1, 2**128 - 1
_MAX_EXPONENT = 0x80000  # pow gives up from 2^19 on: no Q64.64 price is that far out
_VARIABLE_FEE_SCALE = 100_000_000_000  # (accumulator * bin_step)^2 * control is 1e20-scaled


class MeteoraMathError(ValueError):
    """A swap the DLMM program would reject."""


class MathOverflow(MeteoraMathError):
    """A value leaves the integer width the program computes it in."""


class InsufficientLiquidity(MeteoraMathError):
    """The bins on the output side run out before the input is spent."""


class BinArrayMissing(MeteoraMathError):
    """The swap reaches a bin array whose account was not supplied (the program would fail)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"the swap reaches bin array {index}, which was not supplied")
        self.index = index


class PairNotTradable(MeteoraMathError):
    """The pair is disabled or not yet activated."""


class UnsupportedPair(MeteoraMathError):
    """The pair uses a program feature this package does not model (limit orders, Y-only fees)."""


def _checked(value: int, limit: int) -> int:
    if not 0 <= value <= limit:
        raise MathOverflow(f"{value} does not fit the program's integer width")
    return value


def mul_shr(x: int, y: int, *, round_up: bool) -> int:
    """`(x * y) >> 64`, rounded as asked (`u128x128_math::mul_shr`), as a u128."""
    product = x * y
    result = product >> SCALE_OFFSET
    if round_up and product & (ONE - 1):
        result += 1
    return _checked(result, U128_MAX)


def shl_div(x: int, y: int, *, round_up: bool) -> int:
    """`(x << 64) / y`, rounded as asked (`u128x128_math::shl_div`), as a u128."""
    if y == 0:
        raise MathOverflow("division by zero")
    result = -(-(x << SCALE_OFFSET) // y) if round_up else (x << SCALE_OFFSET) // y
    return _checked(result, U128_MAX)


def pow_q64(base: int, exponent: int) -> int:
    """`base ** exponent` in Q64.64 by binary exponentiation, as `u64x64_math::pow` does it.

    A base of at least one is inverted first (so squares stay below 2^128) and the result
    inverted back; the program's results, truncations included, are reproduced bit for bit.

    Raises:
        MathOverflow: `|exponent|` is 2^19 or more, or the result underflows to zero.
    """
    if exponent == 0:
        return ONE
    invert, magnitude = exponent < 0, abs(exponent)
    if magnitude >= _MAX_EXPONENT:
        raise MathOverflow(f"exponent {exponent} is beyond the Q64.64 price range")
    squared, result = base, ONE
    if squared >= result:
        squared = U128_MAX // squared
        invert = not invert
    for bit in range(19):
        if bit:
            squared = _checked(squared * squared, U128_MAX) >> SCALE_OFFSET
        if magnitude & (1 << bit):
            result = _checked(result * squared, U128_MAX) >> SCALE_OFFSET
    if result == 0:
        raise MathOverflow(f"{base} ** {exponent} underflows Q64.64")
    return U128_MAX // result if invert else result


def price_from_id(bin_id: int, bin_step: int) -> int:
    """Bin `bin_id`'s Q64.64 price, `(1 + bin_step / 10_000) ** bin_id` (`get_price_from_id`).

    The price is Y base units per X base unit.
    """
    bps = (bin_step << SCALE_OFFSET) // BASIS_POINT_MAX
    return pow_q64(ONE + bps, bin_id)


def base_fee_rate(pair: LbPair) -> int:
    """`base_factor * bin_step * 10 * 10^base_fee_power_factor`, in parts per 1e9."""
    parameters = pair.parameters
    power = int(10**parameters.base_fee_power_factor)  # a u8 exponent: always an int
    return parameters.base_factor * pair.bin_step * 10 * power


def variable_fee_rate(pair: LbPair, volatility_accumulator: int) -> int:
    """`ceil(variable_fee_control * (accumulator * bin_step)^2 / 1e11)`, in parts per 1e9."""
    control = pair.parameters.variable_fee_control
    if control == 0:
        return 0
    squared = (volatility_accumulator * pair.bin_step) ** 2
    return -(-control * squared // _VARIABLE_FEE_SCALE)


def total_fee_rate(pair: LbPair, volatility_accumulator: int) -> int:
    """Base plus variable fee rate at `volatility_accumulator`, capped at MAX_FEE_RATE (10 %)."""
    rate = base_fee_rate(pair) + variable_fee_rate(pair, volatility_accumulator)
    return min(rate, MAX_FEE_RATE)


def fee_to_add(amount: int, fee_rate: int) -> int:
    """The fee that, added to a net `amount`, makes the fee `fee_rate` of the total, rounded up.

    `ceil(amount * rate / (1e9 - rate))`: the program's `compute_fee`, used to price a bin's
    whole output.
    """
    denominator = FEE_PRECISION - fee_rate
    return _checked(-(-amount * fee_rate // denominator), U64_MAX)


def fee_within(amount_with_fee: int, fee_rate: int) -> int:
    """The fee contained in a gross amount, `ceil(amount * rate / 1e9)` (`compute_fee_from_amount`)."""
    return _checked(-(-amount_with_fee * fee_rate // FEE_PRECISION), U64_MAX)


def protocol_share_of(fee: int, protocol_share: int) -> int:
    """The protocol's part of a swap fee, `fee * protocol_share / 10_000`, rounded down."""
    return fee * protocol_share // BASIS_POINT_MAX


def amount_out(amount_in: int, price: int, *, swap_for_y: bool) -> int:
    """Output for a fee-free input at a bin's price, rounded down (`Bin::get_amount_out`).

    Selling X: `amount_in * price >> 64` of Y; selling Y: `(amount_in << 64) / price` of X.
    """
    if swap_for_y:
        return _checked(mul_shr(price, amount_in, round_up=False), U64_MAX)
    return _checked(shl_div(amount_in, price, round_up=False), U64_MAX)


def max_amount_in(bin_: Bin, price: int, *, swap_for_y: bool) -> int:
    """Fee-free input that takes all of a bin's output token, rounded up (`get_max_amount_in`)."""
    if swap_for_y:
        return _checked(shl_div(bin_.amount_y, price, round_up=True), U64_MAX)
    return _checked(mul_shr(bin_.amount_x, price, round_up=True), U64_MAX)


def update_references(
    volatility: VariableParameters, parameters: StaticParameters, active_id: int, now: int
) -> VariableParameters:
    """The start-of-swap reference update (`VariableParameters::update_references`).

    Within the filter period a burst of swaps keeps its reference; after it, the reference bin
    becomes the active one and the reference volatility decays to
    `accumulator * reduction_factor / 10_000`, or to zero once the decay period has passed.
    `last_update_timestamp` is left as it was (the swap sets it when it finishes).
    """
    elapsed = now - volatility.last_update_timestamp
    if elapsed < parameters.filter_period:
        return volatility
    reference = 0
    if elapsed < parameters.decay_period:
        decayed = _checked(volatility.volatility_accumulator * parameters.reduction_factor, U32_MAX)
        reference = decayed // BASIS_POINT_MAX
    return _replace_volatility(volatility, reference=reference, index_reference=active_id)


def accumulate_volatility(
    volatility: VariableParameters, parameters: StaticParameters, active_id: int
) -> VariableParameters:
    """The per-bin accumulator: reference plus 10_000 per bin from the reference bin, capped."""
    crossed = abs(volatility.index_reference - active_id)
    accumulator = volatility.volatility_reference + crossed * BASIS_POINT_MAX
    return _replace_volatility(
        volatility, accumulator=min(accumulator, parameters.max_volatility_accumulator)
    )


def _replace_volatility(
    volatility: VariableParameters,
    *,
    accumulator: int | None = None,
    reference: int | None = None,
    index_reference: int | None = None,
    timestamp: int | None = None,
) -> VariableParameters:
    return VariableParameters(
        volatility.volatility_accumulator if accumulator is None else accumulator,
        volatility.volatility_reference if reference is None else reference,
        volatility.index_reference if index_reference is None else index_reference,
        volatility.padding,
        volatility.last_update_timestamp if timestamp is None else timestamp,
        volatility.padding_1,
    )


def finish_volatility(volatility: VariableParameters, now: int) -> VariableParameters:
    """The variable parameters a finished swap leaves, stamped with its time."""
    return _replace_volatility(volatility, timestamp=now)


@dataclass(frozen=True, slots=True)
class BinSwap:
    """What one bin's swap takes and pays (`SwapResult`); amounts in base units."""

    amount_in_with_fee: int  # taken from the input; the fee is part of it
    amount_out: int
    fee: int  # in the input token, protocol and host fee included
    protocol_fee: int  # the protocol's part, after the host's
    host_fee: int  # the host's part of the protocol fee (0 without a host fee account)


def swap_in_bin(
    bin_: Bin,
    price: int,
    amount_in: int,
    *,
    swap_for_y: bool,
    fee_rate: int,
    protocol_share: int,
    with_host_fee: bool = False,
) -> BinSwap:
    """Swap up to `amount_in` (fee included) against one bin (`Bin::swap`).

    If the input exceeds what empties the bin's output side plus its fee, the bin is emptied
    and the rest is left for the next bin; otherwise the whole input is used, the fee taken out
    of it (rounded up) and the output rounded down.
    """
    available = bin_.amount_y if swap_for_y else bin_.amount_x
    needed = max_amount_in(bin_, price, swap_for_y=swap_for_y)
    needed_fee = fee_to_add(needed, fee_rate)
    needed_with_fee = _checked(needed + needed_fee, U64_MAX)
    if amount_in > needed_with_fee:
        used, paid, fee = needed_with_fee, available, needed_fee
    else:
        fee = fee_within(amount_in, fee_rate)
        paid = min(amount_out(amount_in - fee, price, swap_for_y=swap_for_y), available)
        used = amount_in
    protocol_fee = protocol_share_of(fee, protocol_share)
    host_fee = protocol_fee * HOST_FEE_BPS // BASIS_POINT_MAX if with_host_fee else 0
    return BinSwap(used, paid, fee, protocol_fee - host_fee, host_fee)
