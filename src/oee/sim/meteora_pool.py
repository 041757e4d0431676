"""Meteora DLMM pairs as the chain holds them, and the simulator's model of the program.

A pair is its real accounts in the bank: the 904-byte `LbPair` at its PDA
(`venues.meteora.discovery.lb_pair_address`), owned by the DLMM program; its two reserves, SPL
token accounts owned by the pair at their PDAs; the oracle at its PDA; and the `BinArray`s (70
bins each) covering its liquidity, which the pair's bitmap marks. `initialize_lb_pair` creates
the pair (`process_initialize_lb_pair`); the liquidity providers' deposit is written as bins
(`oee.sim.dlmm_liquidity`). `MeteoraPool` reads the accounts for quotes and writes them for
swaps and the price process; the swap is the venue's `swap_exact_in`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from oee.sim import dlmm_liquidity as liquidity
from oee.sim.bank import Bank
from oee.sim.dlmm_program import SwapReading, read_swap
from oee.sim.pools import InsufficientLiquidity, PoolQuote, shortfall_bps
from oee.sim.swap_calls import SwapCall, SwapOutcome
from oee.venues.meteora import PROGRAM_ID
from oee.venues.meteora.discovery import (
    bin_array_address,
    bin_array_bin_range,
    bitmap_value,
    lb_pair_address,
    oracle_address,
    preset_parameter_address,
    reserve_address,
)
from oee.venues.meteora.instructions import (
    InitializeLbPairAccounts,
    decode_initialize_lb_pair_instruction,
    initialize_lb_pair_instruction,
)
from oee.venues.meteora.layout import (
    BIN_ARRAY,
    LB_PAIR,
    BinArray,
    LbPair,
    Observation,
    Oracle,
    OracleAccount,
    ProtocolFee,
    StaticParameters,
    VariableParameters,
    encode_oracle,
)
from oee.venues.meteora.math import (
    FEE_PRECISION,
    MAX_BIN_ID,
    MIN_BIN_ID,
    SCALE_OFFSET,
    base_fee_rate,
    price_from_id,
)
from oee.venues.meteora.math import InsufficientLiquidity as BinsExhausted
from oee.venues.meteora.quote import quote_exact_in, swap_exact_in

# Meteora's bin-step-20 preset: bins 0.20 % apart, base fee base_factor x bin_step x 10 / 1e9
# = 0.20 %, the variable fee of its volatility accumulator, 5 % of fees to the protocol.
BIN_STEP, BASE_FACTOR = 20, 10_000
PARAMETERS = StaticParameters(
    base_factor=BASE_FACTOR, filter_period=30, decay_period=600, reduction_factor=5_000,
    variable_fee_control=40_000, max_volatility_accumulator=350_000, min_bin_id=MIN_BIN_ID,
    max_bin_id=MAX_BIN_ID, protocol_share=500, base_fee_power_factor=0, function_type=0,
    collect_fee_mode=0, padding=bytes(3),
)  # fmt: skip
# One 139-bin position, about +-15 % around the price at bin step 20, as LPs commonly open.
BINS_EACH_SIDE = 69
ORACLE_LENGTH = 10


def pair_address(token_x: Pubkey, token_y: Pubkey) -> Pubkey:
    """The pair of these mints at the simulator's preset."""
    return lb_pair_address(token_x, token_y, BIN_STEP, BASE_FACTOR)


def initialize_lb_pair(
    funder: Pubkey, token_x: Pubkey, token_y: Pubkey, active_id: int
) -> Instruction:
    """The `initialize_lb_pair` opening the pair X/Y at bin `active_id`."""
    pair = pair_address(token_x, token_y)
    accounts = InitializeLbPairAccounts(
        lb_pair=pair, token_mint_x=token_x, token_mint_y=token_y,
        reserve_x=reserve_address(pair, token_x), reserve_y=reserve_address(pair, token_y),
        oracle=oracle_address(pair), preset_parameter=preset_parameter_address(BIN_STEP, BASE_FACTOR),
        funder=funder,
    )  # fmt: skip
    return initialize_lb_pair_instruction(accounts, active_id, BIN_STEP)


def process_initialize_lb_pair(bank: Bank, data: bytes, keys: list[Pubkey], now: int) -> LbPair:
    """Run `initialize_lb_pair`: check the PDAs, create the pair, its reserves and its oracle.

    Raises:
        ValueError: What the program refuses (wrong PDA, a pair that exists, a bad bin step).
    """
    ix = decode_initialize_lb_pair_instruction(data, keys)
    acc, args = ix.accounts, ix.args
    address = pair_address(acc.token_mint_x, acc.token_mint_y)
    if args.bin_step != BIN_STEP or acc.lb_pair != address:
        raise ValueError("ConstraintSeeds: not the preset's pair address")
    if bank.store.get(address) is not None:
        raise ValueError("the pair's account is already in use")
    reserves = (
        reserve_address(address, acc.token_mint_x),
        reserve_address(address, acc.token_mint_y),
    )
    if (acc.reserve_x, acc.reserve_y, acc.oracle) != (*reserves, oracle_address(address)):
        raise ValueError("ConstraintSeeds: reserve or oracle is not the pair's PDA")
    _, bump = Pubkey.find_program_address(
        _pair_seeds(acc.token_mint_x, acc.token_mint_y), PROGRAM_ID
    )
    pair = LbPair(
        parameters=PARAMETERS,
        v_parameters=VariableParameters(0, 0, args.active_id, bytes(4), now, bytes(8)),
        bump_seed=bytes([bump]), bin_step_seed=BIN_STEP.to_bytes(2, "little"), pair_type=0,
        active_id=args.active_id, bin_step=BIN_STEP, status=0, require_base_factor_seed=1,
        base_factor_seed=BASE_FACTOR.to_bytes(2, "little"), activation_type=0,
        creator_pool_on_off_control=0, token_x_mint=acc.token_mint_x,
        token_y_mint=acc.token_mint_y, reserve_x=acc.reserve_x, reserve_y=acc.reserve_y,
        protocol_fee=ProtocolFee(0, 0), padding_1=bytes(32), reward_infos=bytes(288),
        oracle=acc.oracle, bin_array_bitmap=(0,) * 16, last_updated_at=0, padding_2=bytes(32),
        pre_activation_swap_address=Pubkey.default(), base_key=Pubkey.default(),
        activation_point=0, pre_activation_duration=0, padding_3=bytes(8), padding_4=0,
        creator=acc.funder, token_mint_x_program_flag=0, token_mint_y_program_flag=0,
        version=0, reserved=bytes(21),
    )  # fmt: skip
    bank.store.put(address, PROGRAM_ID, LB_PAIR.encode(pair))
    bank.put_token_account(acc.reserve_x, acc.token_mint_x, address, 0)
    bank.put_token_account(acc.reserve_y, acc.token_mint_y, address, 0)
    empty = Observation(0, 0, 0)
    oracle = OracleAccount(Oracle(0, 0, ORACLE_LENGTH), (empty,) * ORACLE_LENGTH)
    bank.store.put(acc.oracle, PROGRAM_ID, encode_oracle(oracle))
    return pair


def open_pair(
    bank: Bank,
    creator: Pubkey,
    token_x: Pubkey,
    token_y: Pubkey,
    reserves: tuple[int, int],
    clock: Callable[[], int],
    *,
    shape: liquidity.Shape = "spot",
) -> tuple[MeteoraPool, Instruction]:
    """Create a pair by its `initialize_lb_pair` at the price `reserves` imply, then the LPs'
    deposit of `reserves` (X, Y) around it; returns the pool and the creating instruction."""
    active = liquidity.nearest_bin(Decimal(reserves[1]) / Decimal(reserves[0]), BIN_STEP)
    ix = initialize_lb_pair(creator, token_x, token_y, active)
    keys = [meta.pubkey for meta in ix.accounts]
    process_initialize_lb_pair(bank, bytes(ix.data), keys, clock())
    pool = MeteoraPool(bank, pair_address(token_x, token_y), clock, shape=shape)
    pool.deposit(*reserves)
    return pool, ix


def _pair_seeds(token_x: Pubkey, token_y: Pubkey) -> list[bytes]:
    low, high = sorted((bytes(token_x), bytes(token_y)))
    return [low, high, BIN_STEP.to_bytes(2, "little"), BASE_FACTOR.to_bytes(2, "little")]


class MeteoraPool:
    """A view of one pair's accounts: every read decodes them, every change writes them.

    `mint_a` is token X, `mint_b` token Y. The LPs keep their liquidity within `width` bins of
    the price: when the active bin strays past half of that, they withdraw and spread the
    pair's value evenly around it again.
    """

    venue = "meteora"

    def __init__(
        self,
        bank: Bank,
        address: Pubkey,
        clock: Callable[[], int],
        *,
        width: int = BINS_EACH_SIDE,
        shape: liquidity.Shape = "spot",
    ) -> None:
        self._bank, self._key, self._clock = bank, address, clock
        self.width, self.shape = width, shape
        self._pair: tuple[bytes, LbPair] | None = None
        self._arrays: dict[int, tuple[bytes, BinArray]] = {}
        self._ever: set[int] = set()  # bin arrays this pair has had: emptied, not forgotten
        pair = self.pair()
        self.address = str(address)
        self.mint_a, self.mint_b = str(pair.token_x_mint), str(pair.token_y_mint)

    def pair(self) -> LbPair:
        """The `LbPair` account, decoded (once per distinct bytes)."""
        account = self._bank.store.get(self._key)
        if account is None:
            raise LookupError(f"no DLMM pair at {self._key}")
        data = bytes(account.data)
        if self._pair is None or self._pair[0] != data:
            self._pair = (data, LB_PAIR.decode(data))
        return self._pair[1]

    def remember_bin_arrays(self, indices: set[int]) -> None:
        """Bin arrays the pair had before a restart: emptied ones are rewritten, not forgotten."""
        self._ever |= indices

    def bin_arrays(self) -> dict[int, BinArray]:
        """The bin arrays the pair's bitmap marks, by index, decoded."""
        bits, found = bitmap_value(self.pair()), {}
        while bits:
            low = bits & -bits
            index = low.bit_length() - 1 - 512
            bits ^= low
            account = self._bank.store.get(bin_array_address(self._key, index))
            if account is None:
                continue
            data = bytes(account.data)
            cached = self._arrays.get(index)
            if cached is None or cached[0] != data:
                cached = (data, BIN_ARRAY.decode(data))
                self._arrays[index] = cached
            found[index] = cached[1]
        return found

    @property
    def fee_bps(self) -> int:
        """The base fee in basis points (20 at the bin-step-20 preset)."""
        return base_fee_rate(self.pair()) * 10_000 // FEE_PRECISION

    def reserves(self) -> tuple[int, int]:
        """The reserve token accounts' balances (bins, protocol fees and LP fees together)."""
        pair = self.pair()
        return self._bank.token_amount(pair.reserve_x), self._bank.token_amount(pair.reserve_y)

    def spot_price(self) -> Decimal:
        """The active bin's price: Y base units per X base unit."""
        pair = self.pair()
        return liquidity.bin_price(pair.active_id, pair.bin_step)

    def deposit(self, total_x: int, total_y: int) -> None:
        """The LPs' position: `total_x` above the price and `total_y` below it, around the
        active bin (what an `add_liquidity_by_strategy` leaves)."""
        pair = self.pair()
        amounts = liquidity.spread(pair.active_id, total_x, total_y, self.width, self.shape)
        self._respread(pair, amounts)

    def quote(self, mint_in: str, amount_in: int) -> PoolQuote:
        """The venue's exact-in quote on the accounts as they are."""
        pair, swap_for_y = self.pair(), self._sells_x(mint_in)
        try:
            quote = quote_exact_in(
                pair,
                self.bin_arrays().values(),
                amount_in,
                swap_for_y=swap_for_y,
                now=self._clock(),
            )
        except BinsExhausted as error:
            raise InsufficientLiquidity(f"the pool's bins cannot fill this swap: {error}") from None
        spot = _first_paying_price(pair, self.bin_arrays(), swap_for_y)
        return PoolQuote(
            quote.amount_out,
            quote.fee,
            shortfall_bps(amount_in - quote.fee, quote.amount_out, spot),
        )

    def swap(self, mint_in: str, amount_in: int) -> PoolQuote:
        """Swap straight on the accounts: the reserves take the input and pay the output."""
        result = self.quote(mint_in, amount_in)
        pair, swap_for_y = self.pair(), self._sells_x(mint_in)
        outcome = swap_exact_in(
            pair, self.bin_arrays().values(), amount_in, swap_for_y=swap_for_y, now=self._clock()
        )
        into, out_of = (
            (pair.reserve_x, pair.reserve_y) if swap_for_y else (pair.reserve_y, pair.reserve_x)
        )
        bank = self._bank
        bank.set_token_amount(into, bank.token_amount(into) + amount_in)
        bank.set_token_amount(out_of, bank.token_amount(out_of) - outcome.quote.amount_out)
        self.write(outcome.pair, outcome.bin_arrays)
        return result

    def plan(self, call: SwapCall, now: int) -> SwapOutcome:
        """Check and run a `swap` as the program would."""
        pair = self.pair()
        reading = read_swap(call, pair, self._bank, self.bin_arrays())
        if not isinstance(reading, SwapReading):
            return reading
        return reading.run(pair, now, self.write)

    def drift_toward(self, price: Decimal, weight: Decimal) -> None:
        """Arbitrage the active bin `weight` of the way (in bins) to the bin nearest `price`.

        Bins are discrete, so any gap of a bin or more moves at least one bin: the pool settles
        in the nearest bin rather than stalling half a bin short.
        """
        pair = self.pair()
        gap = liquidity.nearest_bin(price, pair.bin_step) - pair.active_id
        if weight <= 0 or gap == 0:
            return
        step = int((min(weight, Decimal(1)) * gap).to_integral_value())
        to_id = pair.active_id + (step or (1 if gap > 0 else -1))
        arrays = self.bin_arrays()
        lower, upper = liquidity.held_range(arrays)
        moved, changed = liquidity.move_active(
            pair, arrays, min(max(to_id, lower), upper), self._clock()
        )
        self._write_moved(pair, arrays, moved, changed)
        if abs(to_id - (lower + upper) // 2) > self.width // 2:
            self._recentre(to_id)

    def write(self, pair: LbPair, arrays: dict[int, BinArray]) -> None:
        """Store the pair and the given bin arrays (the program's writes after a swap)."""
        store = self._bank.store
        for index, array in arrays.items():
            store.put(bin_array_address(self._key, index), PROGRAM_ID, BIN_ARRAY.encode(array))
            self._ever.add(index)
        store.put(self._key, PROGRAM_ID, LB_PAIR.encode(pair))

    def _write_moved(
        self,
        before: LbPair,
        arrays: dict[int, BinArray],
        after: LbPair,
        changed: dict[int, BinArray],
    ) -> None:
        """Write a fee-free move, the reserves changing by what the bins did."""
        old, new = liquidity.amounts_of(arrays), liquidity.amounts_of(changed)
        delta_x = sum(x for x, _ in new.values()) - sum(x for x, _ in old.values())
        delta_y = sum(y for _, y in new.values()) - sum(y for _, y in old.values())
        bank = self._bank
        bank.set_token_amount(before.reserve_x, bank.token_amount(before.reserve_x) + delta_x)
        bank.set_token_amount(before.reserve_y, bank.token_amount(before.reserve_y) + delta_y)
        self.write(after, changed)

    def _recentre(self, active_id: int) -> None:
        """The pair's bin value at the new active price, spread half X, half Y around it."""
        pair, arrays = self.pair(), self.bin_arrays()
        held = liquidity.amounts_of(arrays)
        price = price_from_id(active_id, pair.bin_step)
        value = sum((x * price >> SCALE_OFFSET) + y for x, y in held.values())
        half_y = value // 2
        half_x = ((value - half_y) << SCALE_OFFSET) // price
        moved = dataclasses.replace(pair, active_id=active_id)
        self._respread(moved, liquidity.spread(active_id, half_x, half_y, self.width, self.shape))

    def _respread(self, pair: LbPair, amounts: liquidity.Amounts) -> None:
        """Replace the bins with `amounts`; the reserves keep what is not in bins (fees)."""
        old = liquidity.amounts_of(self.bin_arrays())
        arrays = liquidity.bin_arrays(self._key, pair.bin_step, amounts, self._ever)
        fees_x, fees_y = (
            r - sum(a[i] for a in old.values()) for i, r in enumerate(self.reserves())
        )
        bank = self._bank
        bank.set_token_amount(pair.reserve_x, fees_x + sum(x for x, _ in amounts.values()))
        bank.set_token_amount(pair.reserve_y, fees_y + sum(y for _, y in amounts.values()))
        self.write(liquidity.with_bitmap(pair, arrays), arrays)

    def _sells_x(self, mint_in: str) -> bool:
        if mint_in == self.mint_a:
            return True
        if mint_in == self.mint_b:
            return False
        raise ValueError(f"pool {self.address} does not hold mint {mint_in}")


def _first_paying_price(pair: LbPair, arrays: dict[int, BinArray], swap_for_y: bool) -> Decimal:
    """Output per input at the first bin, from the active one on, that holds the output token:
    the best price the pair offers this swap (0 when none does)."""
    step = -1 if swap_for_y else 1
    for index in sorted(arrays, reverse=swap_for_y):
        lower, upper = bin_array_bin_range(index)
        ids = (
            range(min(pair.active_id, upper), lower - 1, -1)
            if swap_for_y
            else range(max(pair.active_id, lower), upper + 1)
        )
        for bin_id in ids:
            b = arrays[index].bins[bin_id - lower]
            if (b.amount_y if swap_for_y else b.amount_x) and (bin_id - pair.active_id) * step >= 0:
                price = Decimal(b.price or price_from_id(bin_id, pair.bin_step)) / (
                    1 << SCALE_OFFSET
                )
                return price if swap_for_y else 1 / price
    return Decimal(0)
