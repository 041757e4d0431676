"""Meteora DLMM math: liquidity in discrete price bins, swapped bin by bin with a dynamic fee.

It follows the lb_clmm program's integer arithmetic so a quote here is what the program would
pay: bin prices are Q64.64 fixed point, fee rates have 1e9 precision, fees round up and outputs
round down. Bin `i` trades at `(1 + bin_step / 10_000) ** i` token Y base units per token X base
unit; bins above the active one hold only X, bins below only Y. The variable fee grows with the
bins crossed since a reference bin and decays with time, so the caller passes the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from oee.domain.errors import DomainError

SCALE_OFFSET = 64  # Q64.64: a price p is stored as floor(p * 2**64)
FEE_PRECISION = 1_000_000_000
MAX_FEE_RATE = 100_000_000  # 10 %, the program's cap on base plus variable fee
BASIS_POINT_MAX = 10_000
_VARIABLE_FEE_SCALE = 100_000_000_000  # brings (accumulator * bin_step)^2 * control to 1e9
_CENT_BPS = Decimal("0.01")


class InsufficientLiquidity(DomainError):
    """The bins on the output side cannot fill the swap (the program's "Insufficient liquidity")."""

    code = "INSUFFICIENT_LIQUIDITY"


@dataclass(frozen=True, slots=True)
class FeeParameters:
    """A pool's static fee parameters, named as in lb_clmm; defaults are the bin-step-20 preset.

    Base fee rate = base_factor * bin_step * 10 (1e9 precision): 0.20 % at bin step 20. Periods
    are in seconds, `reduction_factor` in basis points.
    """

    base_factor: int = 10_000
    filter_period: int = 30
    decay_period: int = 600
    reduction_factor: int = 5_000
    variable_fee_control: int = 20_000
    max_volatility_accumulator: int = 350_000


@dataclass(frozen=True, slots=True)
class Volatility:
    """lb_clmm's variable parameters: how far, and how recently, the active bin has moved."""

    accumulator: int
    reference: int
    index_reference: int
    last_update: int  # seconds


@dataclass(frozen=True, slots=True)
class DlmmState:
    """A pair's bins from `lower_id` up, their Q64.64 prices, and the active bin.

    Build one with `make_state`, which precomputes the prices so a swap never raises a Decimal to
    a power per bin.
    """

    bin_step: int
    fees: FeeParameters
    lower_id: int
    prices: tuple[int, ...]
    amounts_x: tuple[int, ...]
    amounts_y: tuple[int, ...]
    active_id: int
    volatility: Volatility

    @property
    def upper_id(self) -> int:
        """The highest bin id held."""
        return self.lower_id + len(self.prices) - 1

    def price(self, bin_id: int | None = None) -> Decimal:
        """A held bin's price (default: the active bin's) in Y base units per X base unit."""
        index = (self.active_id if bin_id is None else bin_id) - self.lower_id
        return Decimal(self.prices[index]) / (1 << SCALE_OFFSET)

    def reserves(self) -> tuple[int, int]:
        """Total X and Y held by all bins, fees included."""
        return sum(self.amounts_x), sum(self.amounts_y)


@dataclass(frozen=True, slots=True)
class DlmmQuote:
    """What a swap pays and where it leaves the pool; amounts in base units."""

    amount_out: int
    fee: int  # in the input token, kept by the bins it was paid in
    bins_crossed: int
    active_id: int  # after the swap
    price_impact_bps: Decimal  # executed price (net of fee) against the starting active bin


def bin_prices(lower_id: int, count: int, bin_step: int) -> tuple[int, ...]:
    """Q64.64 prices of `count` consecutive bins from `lower_id`: one power, then products."""
    with localcontext() as ctx:
        ctx.prec = 60
        base = 1 + Decimal(bin_step) / BASIS_POINT_MAX
        price = base**lower_id * (1 << SCALE_OFFSET)
        prices = []
        for _ in range(count):
            prices.append(int(price))  # int() truncates: the floor of a positive price
            price *= base
    return tuple(prices)


def bin_id_for_price(price: Decimal, bin_step: int) -> int:
    """The bin whose price is nearest to `price` (Y base units per X base unit), in log terms."""
    if price <= 0:
        raise ValueError("price must be positive")
    with localcontext() as ctx:
        ctx.prec = 40
        position = price.ln() / (1 + Decimal(bin_step) / BASIS_POINT_MAX).ln()
        return int(position.to_integral_value(ROUND_HALF_EVEN))


def make_state(
    *,
    bin_step: int,
    fees: FeeParameters,
    lower_id: int,
    amounts_x: Sequence[int],
    amounts_y: Sequence[int],
    active_id: int,
    now: int,
    volatility: Volatility | None = None,
) -> DlmmState:
    """A validated state with precomputed prices; fresh volatility unless one is given.

    Raises:
        ValueError: Unequal bin lists, a negative amount, an active id outside the bins, X below
            or Y above the active bin (a DLMM bin there holds only the other token), or a bin
            price that Q64.64 cannot hold.
    """
    count = len(amounts_x)
    active = active_id - lower_id
    if not 0 < bin_step <= BASIS_POINT_MAX:
        raise ValueError(f"bin step {bin_step} is not between 1 and {BASIS_POINT_MAX} bps")
    if len(amounts_y) != count or not 0 <= active < count:
        raise ValueError("bins must be non-empty, of equal length, and hold the active id")
    if min(amounts_x) < 0 or min(amounts_y) < 0:
        raise ValueError("bin amounts must not be negative")
    if any(amounts_x[:active]) or any(amounts_y[active + 1 :]):
        raise ValueError("bins below the active one hold only Y, bins above only X")
    prices = bin_prices(lower_id, count, bin_step)
    if prices[0] == 0 or prices[-1] >= 1 << 128:  # the program's u128 Q64.64 bounds
        span = f"bins {lower_id}..{lower_id + count - 1} at bin step {bin_step}"
        raise ValueError(f"{span} have prices that Q64.64 cannot hold")
    volatility = volatility or Volatility(0, 0, active_id, now)
    return DlmmState(
        bin_step, fees, lower_id, prices, tuple(amounts_x), tuple(amounts_y), active_id, volatility
    )


def base_fee_rate(state: DlmmState) -> int:
    """The base fee rate in 1e9 precision: base_factor * bin_step * 10."""
    return state.fees.base_factor * state.bin_step * 10


def total_fee_rate(state: DlmmState, accumulator: int) -> int:
    """Base plus variable fee rate (1e9 precision) at a volatility accumulator, capped at 10 %."""
    control = state.fees.variable_fee_control
    variable = -(-control * (accumulator * state.bin_step) ** 2 // _VARIABLE_FEE_SCALE)
    return min(base_fee_rate(state) + variable, MAX_FEE_RATE)


def quote_swap(state: DlmmState, amount_in: int, *, swap_for_y: bool, now: int) -> DlmmQuote:
    """What swapping `amount_in` (fee included) pays at time `now`, without changing the state.

    Args:
        state: The pair's bins and volatility.
        amount_in: Input in base units of X when `swap_for_y`, else of Y.
        swap_for_y: True sells X for Y (the active bin moves down), False sells Y for X.
        now: Seconds on the clock the volatility's `last_update` was taken from.

    Raises:
        InsufficientLiquidity: The output side's bins run out before the input is spent.
    """
    return _walk(state, amount_in, swap_for_y, now, None)[0]


def apply_swap(
    state: DlmmState, amount_in: int, *, swap_for_y: bool, now: int
) -> tuple[DlmmQuote, DlmmState]:
    """Execute the swap: the quote, and the state with the input (fee included) in its bins.

    Raises:
        InsufficientLiquidity: As `quote_swap`; the state is then unchanged.
    """
    moves: list[tuple[int, int, int]] = []
    quote, accumulator, reference, index_reference = _walk(state, amount_in, swap_for_y, now, moves)
    ins, outs = (
        (state.amounts_x, state.amounts_y) if swap_for_y else (state.amounts_y, state.amounts_x)
    )
    new_in, new_out = list(ins), list(outs)
    for index, used, paid in moves:
        new_in[index] += used
        new_out[index] -= paid
    xs, ys = (new_in, new_out) if swap_for_y else (new_out, new_in)
    volatility = Volatility(accumulator, reference, index_reference, now)
    return quote, DlmmState(
        state.bin_step, state.fees, state.lower_id, state.prices, tuple(xs), tuple(ys),
        quote.active_id, volatility,
    )  # fmt: skip


def move_active(state: DlmmState, to_id: int, *, now: int) -> DlmmState:
    """Move the active bin to `to_id` the way fee-free arbitrage would, keeping value at bin prices.

    Moving down sells X into every bin passed (their Y becomes X at the bin's price); moving up
    buys their X with Y. The volatility accumulator sees the move like a swap.

    Raises:
        ValueError: `to_id` is not one of the state's bins.
    """
    if not state.lower_id <= to_id <= state.upper_id:
        raise ValueError(f"bin {to_id} is outside {state.lower_id}..{state.upper_id}")
    start, end = state.active_id - state.lower_id, to_id - state.lower_id
    xs, ys, prices = list(state.amounts_x), list(state.amounts_y), state.prices
    for i in range(end + 1, start + 1):
        xs[i], ys[i] = xs[i] + (ys[i] << SCALE_OFFSET) // prices[i], 0
    for i in range(start, end):
        xs[i], ys[i] = 0, ys[i] + (xs[i] * prices[i] >> SCALE_OFFSET)
    reference, index_reference = _references(state, now)
    accumulator = _accumulator(state, reference, index_reference, to_id)
    volatility = Volatility(accumulator, reference, index_reference, now)
    return DlmmState(
        state.bin_step, state.fees, state.lower_id, prices, tuple(xs), tuple(ys), to_id, volatility
    )


def _references(state: DlmmState, now: int) -> tuple[int, int]:
    """lb_clmm's update_references: within the filter period a burst of swaps keeps one reference."""
    volatility, fees = state.volatility, state.fees
    elapsed = now - volatility.last_update
    if elapsed < fees.filter_period:
        return volatility.reference, volatility.index_reference
    if elapsed < fees.decay_period:
        reference = volatility.accumulator * fees.reduction_factor // BASIS_POINT_MAX
        return reference, state.active_id
    return 0, state.active_id


def _accumulator(state: DlmmState, reference: int, index_reference: int, bin_id: int) -> int:
    crossed = abs(index_reference - bin_id)
    return min(reference + crossed * BASIS_POINT_MAX, state.fees.max_volatility_accumulator)


def _walk(
    state: DlmmState,
    amount_in: int,
    swap_for_y: bool,
    now: int,
    moves: list[tuple[int, int, int]] | None,
) -> tuple[DlmmQuote, int, int, int]:
    """The program's swap loop; iterates only over the bins the swap reaches."""
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    reference, index_reference = _references(state, now)
    outs = state.amounts_y if swap_for_y else state.amounts_x
    prices, step = state.prices, -1 if swap_for_y else 1
    start = index = state.active_id - state.lower_id
    first_paying: int | None = None  # the best price the pool actually offers this swap
    left, total_out, total_fee, accumulator = amount_in, 0, 0, state.volatility.accumulator
    while True:
        if not 0 <= index < len(prices):
            raise InsufficientLiquidity(
                f"the pool's bins pay at most {total_out} for this swap; "
                f"{left} of the {amount_in} input would be left unfilled"
            )
        accumulator = _accumulator(state, reference, index_reference, state.lower_id + index)
        available = outs[index]
        if available:
            if first_paying is None:
                first_paying = index
            rate, price = total_fee_rate(state, accumulator), prices[index]
            # Input (fee excluded, rounded up) that would take all of the bin's output.
            if swap_for_y:
                max_in = -(-(available << SCALE_OFFSET) // price)
            else:
                max_in = -(-(available * price) >> SCALE_OFFSET)
            max_fee = -(-max_in * rate // (FEE_PRECISION - rate))
            if left > max_in + max_fee:
                used, paid, fee = max_in + max_fee, available, max_fee
            else:
                fee = -(-left * rate // FEE_PRECISION)
                net = left - fee
                paid = net * price >> SCALE_OFFSET if swap_for_y else (net << SCALE_OFFSET) // price
                used, paid = left, min(paid, available)
            left, total_out, total_fee = left - used, total_out + paid, total_fee + fee
            if moves is not None:
                moves.append((index, used, paid))
        if left == 0:
            break
        index += step
    # Against the first bin that pays, not the active one: an active bin already emptied on the
    # output side offers nothing, and measuring from it would report a bin step of impact for
    # a swap that fills entirely at one price.
    marginal = prices[start if first_paying is None else first_paying]
    impact = _impact_bps(marginal, swap_for_y, amount_in - total_fee, total_out)
    quote = DlmmQuote(total_out, total_fee, abs(index - start), state.lower_id + index, impact)
    return quote, accumulator, reference, index_reference


def _impact_bps(start_price: int, swap_for_y: bool, net_in: int, amount_out: int) -> Decimal:
    """Shortfall of the executed price (fee excluded) against the first paying bin's, in bps."""
    if net_in == 0:
        return Decimal(0)
    if swap_for_y:
        executed_over_spot = Decimal(amount_out << SCALE_OFFSET) / Decimal(net_in * start_price)
    else:
        executed_over_spot = Decimal(amount_out * start_price) / Decimal(net_in << SCALE_OFFSET)
    return ((1 - executed_over_spot) * BASIS_POINT_MAX).quantize(_CENT_BPS)
