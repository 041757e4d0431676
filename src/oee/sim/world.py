"""The simulated market: every registry pair on Raydium and Meteora, moved by a seeded price process.

The world is plain objects and advances lazily from elapsed monotonic time, so it needs no
background task and a test can drive it with its own clock. It is a small discrete-event
simulation: price ticks and scheduled actions (the ledger's landings, random pool launches) run
in time order, so a swap lands against the pools exactly as they are at its landing time.
`oee.sim.app` serves it over the venues' HTTP APIs and Solana JSON-RPC; nothing here knows about
latency or faults. New tokens launch with pools of their own (`launch`, `oee.sim.launches`). A
user steers a pair's price with `move` (`oee.sim.steering`); `OEE_SIM_VOLATILITY_SCALE` scales
the random steps (0 holds prices still). Each pair's pools and venue offsets: `oee.sim.markets`.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from solders.pubkey import Pubkey

from oee.domain.routing import Quote
from oee.domain.tokens import REGISTRY, Token
from oee.settings import SimSettings
from oee.sim import meteora_pool, raydium_pool
from oee.sim.bank import Bank
from oee.sim.blocks import BlockHeights
from oee.sim.launch_tx import (
    METEORA_UNITS,
    RAYDIUM_UNITS,
    LaunchRecord,
    LaunchTransactions,
    OpenedPool,
    meteora_logs,
    raydium_logs,
)
from oee.sim.launches import LAUNCH_VOLATILITY, Launch, Launcher, LaunchRequest
from oee.sim.markets import CENTER_MAX, GAP_MAX, Market, uniform
from oee.sim.pools import Pool
from oee.sim.raydium_pool import RaydiumPool
from oee.sim.steering import MoveError, PairPrices, PriceMove, check_percent, pool_price, steer


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """A DEX as the chain knows it: its program, its fee and how its program reports slippage."""

    name: str
    program_id: str
    fee_bps: int
    slippage_error: str  # the program's custom error, as the RPC node prints it


RAYDIUM = VenueSpec(
    "raydium", "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8", 25, "0x1e (ExceededSlippage)"
)
# Meteora pools are DLMM bins (`DlmmPool`); its fee is their base fee, before the variable fee.
METEORA = VenueSpec(
    "meteora",
    "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",
    20,
    "0x1773 (ExceededAmountSlippageTolerance)",
)
VENUES = (RAYDIUM, METEORA)

REFERENCE_USD: dict[str, Decimal] = {
    "SOL": Decimal(150),
    "USDC": Decimal(1),
    "USDT": Decimal(1),
    "BONK": Decimal("0.00002"),
    "JUP": Decimal("0.8"),
    "WIF": Decimal("1.5"),
    "RAY": Decimal("2.5"),
}
# Log-price volatility per tick; stablecoins stay pegged.
VOLATILITY: dict[str, Decimal] = {
    "SOL": Decimal("0.0003"),
    "BONK": Decimal("0.0008"),
    "JUP": Decimal("0.0005"),
    "WIF": Decimal("0.0008"),
    "RAY": Decimal("0.0005"),
}
TICK_S = 1.0
# Share of a pool's gap to its target price that arbitrage closes per tick.
ARBITRAGE_PER_TICK = Decimal("0.5")
SLOTS_PER_EPOCH = 432_000


class NoPool(LookupError):
    """The venue has no pool for the pair."""


class SimWorld:
    """Pools for every pair of registry tokens on every venue, launched tokens' pools, and the
    reference prices."""

    def __init__(self, settings: SimSettings, *, now: Callable[[], float] = time.monotonic) -> None:
        self.venues = VENUES
        self.seed = settings.seed
        self._now = now
        self._t0 = now()
        # The chain's blocks run on world time.
        self.heights = BlockHeights(self._t0, settings, wall=time.time())
        self._ticks = 0
        self._events: list[tuple[float, int, Callable[[float], None]]] = []
        self._event_seq = itertools.count()  # breaks time ties in scheduling order
        self._advancing = False
        self._rng = random.Random(f"oee-sim/world/{settings.seed}")
        self._reference = dict(REFERENCE_USD)
        self._tokens = {token.mint: token for token in REGISTRY}
        # The chain's accounts: pools live here in their venues' layouts (`oee.sim.pools`).
        self.bank = Bank(decimals_of=self._decimals_of)
        self.launch_txs = LaunchTransactions(settings.seed)
        self._markets: dict[frozenset[str], Market] = {}
        self._by_address: dict[str, tuple[VenueSpec, Pool]] = {}
        for token_a, token_b in itertools.combinations(REGISTRY, 2):
            self._add_market(token_a, token_b)
        self._volatility = dict(VOLATILITY)
        # Scales every random step (tokens' walks, venue gap and center); 0 holds prices still.
        self._volatility_scale = Decimal(str(settings.volatility_scale))
        self._launched: list[Market] = []  # launched tokens' markets: their pools make the price
        self._launcher = Launcher(self, settings)

    def now(self) -> float:
        """The world's monotonic time in seconds; the ledger keeps its blocks by it too."""
        return self._now()

    def venue(self, name: str) -> VenueSpec:
        """The venue called `name`; raises `NoPool` for an unknown venue."""
        for spec in self.venues:
            if spec.name == name:
                return spec
        raise NoPool(f"no venue named {name!r}")

    def pool(self, venue: str, token_in: Token, token_out: Token) -> Pool:
        """The venue's pool for the pair, brought up to date; raises `NoPool` if there is none."""
        market = self._markets.get(frozenset((token_in.mint, token_out.mint)))
        if market is None or token_in == token_out or venue not in market.pools:
            raise NoPool(f"{venue} has no {token_in.symbol}/{token_out.symbol} pool")
        self.advance()
        return market.pools[venue]

    def pool_at(self, address: str) -> tuple[VenueSpec, Pool] | None:
        """The pool at an account address and its venue, as it is now (no advancing), or None.

        Scheduled actions use this: they run inside `advance`, at their own time.
        """
        return self._by_address.get(address)

    def pools(self) -> list[Pool]:
        """Every pool, in a stable order."""
        return [pool for _, pool in self._by_address.values()]

    def quote(self, venue: str, token_in: Token, token_out: Token, amount_in: int) -> Quote:
        """What the venue's pool pays right now for `amount_in` base units of `token_in`."""
        pool = self.pool(venue, token_in, token_out)
        result = pool.quote(token_in.mint, amount_in)
        price = token_out.from_base_units(result.amount_out) / token_in.from_base_units(amount_in)
        return Quote(
            venue=venue,
            amount_in=amount_in,
            amount_out=result.amount_out,
            fee=result.fee,
            fee_bps=pool.fee_bps,
            price=price,
            price_impact_bps=result.price_impact_bps,
            pool=pool.address,
        )

    def token(self, mint: str) -> Token | None:
        """The registry or launched token of a mint, or None (no advancing: a pure lookup)."""
        return self._tokens.get(mint)

    def unix_time(self) -> int:
        """The cluster's unix time now (`Clock::unix_timestamp`: what the programs read)."""
        return self.heights.unix_time(self._now())

    def epoch(self) -> int:
        """The cluster's epoch now."""
        return (self.heights.at(self._now()) + 1_000_000) // SLOTS_PER_EPOCH

    def launched(self) -> list[Launch]:
        """Every launch so far, oldest first (random ones that are due included)."""
        self.advance()
        return self._launcher.launches()

    def on_launch(self, listener: Callable[[Launch], None]) -> Callable[[], None]:
        """Call `listener(launch)` at every launch, from inside `advance` for random ones.

        Returns:
            A function that removes the listener.
        """
        return self._launcher.on_launch(listener)

    def launch(self, request: LaunchRequest) -> Launch:
        """Launch a new token now, with a pool on each requested venue (`oee.sim.launches`).

        Raises:
            LaunchError: The symbol is taken (`DUPLICATE_SYMBOL`), the world is full
                (`TOO_MANY_LAUNCHES`), or a venue cannot hold the price or liquidity.
        """
        self.advance()
        return self._launcher.launch(request, self.now(), "request")

    def open_pools(
        self, token: Token, quote: Token, venues: tuple[str, ...], reserves: tuple[int, int]
    ) -> dict[str, OpenedPool]:
        """Open a launched token's pools, each holding `reserves` (token, quote) base units,
        each by its venue's real creation instruction, signed by the simulator's launcher.

        The token's reference price becomes the pools' and walks with `LAUNCH_VOLATILITY`.

        Raises:
            ValueError: A venue cannot hold the price (bins finer than its precision).
        """
        market = Market(token, quote, Decimal(0), uniform(self._rng, -GAP_MAX, GAP_MAX))
        self._tokens[token.mint] = token
        opened = {}
        for name in venues:  # each at the launch price; arbitrage spreads the venues apart
            pool, record = self._pool(self.venue(name), market, *reserves, record=True)
            pool.quote(token.mint, max(1, reserves[0] // 1000))  # fails on unpriceable bins
            market.pools[name] = pool
            assert record is not None
            opened[name] = OpenedPool(pool.address, record.signature)
        self._register(market)
        self._launched.append(market)
        self._reference[token.symbol] = self._pool_reference(market)
        self._volatility[token.symbol] = LAUNCH_VOLATILITY
        return opened

    def has_pool(self, mint_a: str, mint_b: str, venue: str) -> bool:
        """Whether `venue` has a pool for the pair (in either order)."""
        market = self._markets.get(frozenset((mint_a, mint_b)))
        return market is not None and venue in market.pools

    def reference_price(self, symbol: str) -> Decimal:
        """The current reference USD price of a token."""
        self.advance()
        return self._reference[symbol]

    def find_token(self, symbol_or_mint: str) -> Token | None:
        """The registry or launched token with this symbol (any case) or mint, or None."""
        found = self._tokens.get(symbol_or_mint)
        wanted = symbol_or_mint.upper()
        return found or next((t for t in self._tokens.values() if t.symbol.upper() == wanted), None)

    def prices(self, base: Token, quote: Token) -> PairPrices:
        """The pair's reference and pool prices now, `quote` per `base`; raises `MoveError`
        (`NO_POOL`) when no venue has a pool for it."""
        market = self._market_of(base, quote)
        self.advance()
        return self._prices(market, base, quote)

    def move(self, base: Token, quote: Token, percent: Decimal) -> PriceMove:
        """Push `base`'s price in `quote` by `percent` % now, on every venue with a pool.

        One token's reference price moves (`steering.steer` says which); the pair's pools go
        to their new targets at once, by the arbitrage's own `drift_toward` at weight 1, so
        the accounts stay consistent. Other pairs follow over the next ticks.

        Raises:
            MoveError: `INVALID_PERCENT` (outside -90..900, or a price the venues cannot
                hold), `NO_POOL`, or `PEGGED_PAIR` (two stablecoins).
        """
        check_percent(percent)
        market = self._market_of(base, quote)
        before = self.prices(base, quote)
        launched = market.token_a if any(m is market for m in self._launched) else None
        if launched is not None:
            # Its pools are its price: start from them, swaps since the last tick included.
            self._reference[launched.symbol] = self._pool_reference(market)
        floats = self._volatility.__contains__
        moved, factor = steer(base, quote, percent, floats=floats, launched=launched)
        old = self._reference[moved.symbol]
        self._reference[moved.symbol] = old * factor
        try:
            self._retarget(market, Decimal(1))
        except (ValueError, ArithmeticError) as error:  # e.g. DLMM bins finer than Q64.64
            self._reference[moved.symbol] = old  # arbitrage brings back any pool that moved
            raise MoveError("INVALID_PERCENT", f"the venues cannot hold it: {error}") from None
        return PriceMove(percent, moved, before, self._prices(market, base, quote))

    def schedule(self, at: float, action: Callable[[float], None]) -> None:
        """Run `action(at)` once the world reaches monotonic time `at`, in order with the ticks."""
        heapq.heappush(self._events, (at, next(self._event_seq), action))

    def advance(self, to: float | None = None) -> None:
        """Bring the world to monotonic time `to` (default now); it never goes back.

        Due actions run in time order, each after the price ticks before its time, so they see
        the world as it is at their time. Called again from inside an action, it does nothing.
        """
        if self._advancing:
            return
        at = self._now() if to is None else to
        self._advancing = True
        try:
            while self._events and self._events[0][0] <= at:
                event_at, _, action = heapq.heappop(self._events)
                self._tick_to(event_at)
                action(event_at)
            self._tick_to(at)
        finally:
            self._advancing = False

    def _tick_to(self, at: float) -> None:
        ticks = int((at - self._t0) / TICK_S) - self._ticks
        if ticks > 0:
            self._ticks += ticks
            self._step(ticks)

    def _add_market(self, token_a: Token, token_b: Token) -> None:
        rng = self._rng
        market = Market(
            token_a,
            token_b,
            center=uniform(rng, -CENTER_MAX, CENTER_MAX),
            gap=uniform(rng, -GAP_MAX, GAP_MAX),
        )
        for spec in self.venues:
            side_usd = Decimal(rng.randrange(2_000_000, 5_000_001))
            ref_a, ref_b = self._reference[token_a.symbol], self._reference[token_b.symbol]
            reserve_a = int((side_usd / ref_a).scaleb(token_a.decimals))
            value_b = side_usd * (1 + market.offset(spec.name))
            reserve_b = int((value_b / ref_b).scaleb(token_b.decimals))
            market.pools[spec.name] = self._pool(spec, market, reserve_a, reserve_b)[0]
        self._register(market)

    def _pool(
        self,
        spec: VenueSpec,
        market: Market,
        reserve_a: int,
        reserve_b: int,
        *,
        record: bool = False,
    ) -> tuple[Pool, LaunchRecord | None]:
        """Create a pool's accounts through its venue's creation instruction (run by the
        program model), then the LPs' deposit; with `record`, as a landed transaction."""
        a, b = market.token_a, market.token_b
        mint_a, mint_b = Pubkey.from_string(a.mint), Pubkey.from_string(b.mint)
        self.bank.ensure_mint(mint_a, a.decimals)
        self.bank.ensure_mint(mint_b, b.decimals)
        creator = self.launch_txs.launcher
        now = self.unix_time()
        pool: Pool
        if spec == METEORA:
            # The same value a side as on Raydium, concentrated in bins around the price.
            pool, ix = meteora_pool.open_pair(
                self.bank, creator, mint_a, mint_b, (reserve_a, reserve_b), self.unix_time
            )
            logs, units = meteora_logs(), METEORA_UNITS
        else:
            # Open time 0: trading opens at once (and the signed bytes stay reproducible).
            ix = raydium_pool.initialize2_instruction(
                creator, mint_a, mint_b, reserve_a, reserve_b, 0
            )
            keys = [meta.pubkey for meta in ix.accounts]
            launched = raydium_pool.process_initialize2(
                self.bank, bytes(ix.data), keys, now=now, epoch=self.epoch()
            )
            pool = RaydiumPool(self.bank, keys[4], self.epoch)
            logs, units = raydium_logs(ix, launched), RAYDIUM_UNITS
        if not record:
            return pool, None
        height = self.heights.at(self._now())
        return pool, self.launch_txs.record(ix, logs, units, height, self.bank)

    def _register(self, market: Market) -> None:
        for name, pool in market.pools.items():
            self._by_address[pool.address] = (self.venue(name), pool)
        self._markets[frozenset((market.token_a.mint, market.token_b.mint))] = market

    def _market_of(self, base: Token, quote: Token) -> Market:
        market = self._markets.get(frozenset((base.mint, quote.mint)))
        if market is None or base == quote:
            raise MoveError("NO_POOL", f"no venue has a {base.symbol}/{quote.symbol} pool")
        return market

    def _prices(self, market: Market, base: Token, quote: Token) -> PairPrices:
        reference = self._reference[base.symbol] / self._reference[quote.symbol]
        venues = {name: pool_price(pool, base, quote) for name, pool in market.pools.items()}
        return PairPrices(base, quote, reference, venues)

    def _decimals_of(self, mint: str) -> int | None:
        token = self._tokens.get(mint)
        return None if token is None else token.decimals

    def _step(self, ticks: int) -> None:
        """Advance `ticks` ticks at once: Gaussian steps add up, so one draw of sqrt(n) sigma.

        Steps are scaled by `OEE_SIM_VOLATILITY_SCALE`; the draws happen at any scale.
        """
        rng, scale = self._rng, self._volatility_scale
        root = Decimal(ticks).sqrt() * scale
        for market in self._launched:
            # A launched token trades only in its own pools: they set its price (a buy moves
            # it for good), then its walk moves it on like any other.
            self._reference[market.token_a.symbol] = self._pool_reference(market)
        for symbol, sigma in self._volatility.items():
            self._reference[symbol] *= (Decimal(rng.gauss(0.0, 1.0)) * sigma * root).exp()
        weight = 1 - (1 - ARBITRAGE_PER_TICK) ** ticks
        for market in self._markets.values():
            market.walk(rng, root)
            self._retarget(market, weight)

    def _retarget(self, market: Market, weight: Decimal) -> None:
        """Arbitrage: the market's pools `weight` of the way to the reference ratio."""
        ratio = self._reference[market.token_a.symbol] / self._reference[market.token_b.symbol]
        market.retarget(ratio, weight)

    def _pool_reference(self, market: Market) -> Decimal:
        """token_a's USD price implied by its pools, each taken net of its venue's offset."""
        a, b = market.token_a, market.token_b
        ratios = [pool.spot_price() / (1 + market.offset(v)) for v, pool in market.pools.items()]
        mean = sum(ratios, Decimal(0)) / len(ratios)
        return mean.scaleb(a.decimals - b.decimals) * self._reference[b.symbol]
