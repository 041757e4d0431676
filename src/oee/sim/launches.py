"""Pool launches: a new token paired with a registry token on one venue or both.

A launch is what a sniper waits for. `SimWorld` opens the pools (`open_pools`); this module
holds the rest, so the world stays about markets: the request and its checks, the record of a
launch, the new mint's address, each pool's opening reserves, the `Launcher` that keeps a
world's launched tokens and tells listeners (`oee.sim.rpc_ws`), and the seeded stream of random
launches (`OEE_SIM_LAUNCH_INTERVAL_S`). Every refusal is a `LaunchError` with a stable code.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

import structlog
from solders.pubkey import Pubkey

from oee.domain.tokens import MAX_BASE_UNITS, REGISTRY, Token
from oee.settings import SimSettings
from oee.solana.spl import TOKEN_PROGRAM_ID

if TYPE_CHECKING:
    from oee.sim.world import SimWorld

log = structlog.get_logger(__name__)

DEFAULT_VENUES = ("raydium", "meteora")
DEFAULT_LIQUIDITY_USD = Decimal(50_000)
DEFAULT_PRICE_USD = Decimal("0.001")
MIN_LIQUIDITY_USD, MAX_LIQUIDITY_USD = Decimal(10), Decimal(10) ** 10
MIN_PRICE_USD, MAX_PRICE_USD = Decimal("1e-12"), Decimal(10) ** 9
MAX_DECIMALS = 18
# Fewer base units a side than this cannot fill 139 DLMM bins or quote a sane price.
MIN_RESERVE = 1_000
# The JSON fields of a launch request (`POST /admin/pools`, relayed by the engine's dashboard).
LAUNCH_FIELDS = (
    "symbol", "decimals", "venues", "quote", "liquidityUsd", "priceUsd", "reserves", "mint",
)  # fmt: skip
MAX_LAUNCHES = 1_000  # each launch adds a market the price process steps every second
# A launched token trades nowhere else, so its walk is a memecoin's: about 0.2 % a second.
LAUNCH_VOLATILITY = Decimal("0.002")
MIN_GAP_S = 0.001  # random launches never share an instant
_SYMBOL = re.compile(r"[A-Za-z0-9]{1,10}")  # a Metaplex symbol is at most 10 characters
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
Origin = Literal["request", "random"]  # an explicit call (the admin route) or the stream


class LaunchError(ValueError):
    """A launch the world refuses; `code` is stable (DUPLICATE_SYMBOL, INVALID_PRICE, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    """What to launch; checked on construction (raises `LaunchError`).

    `liquidity_usd` is the value of each new pool, half in each token; `reserves` (base units
    of the new token, then of the quote token) replaces both it and `price_usd`. `mint` is the
    new token's address when chosen in advance (default: a fresh one from the seed).
    """

    symbol: str
    decimals: int
    venues: tuple[str, ...] = DEFAULT_VENUES
    quote: str = "SOL"
    liquidity_usd: Decimal = DEFAULT_LIQUIDITY_USD
    price_usd: Decimal = DEFAULT_PRICE_USD
    reserves: tuple[int, int] | None = None
    mint: str | None = None

    def __post_init__(self) -> None:
        if self.mint is not None:
            try:
                if (
                    not isinstance(self.mint, str)
                    or str(Pubkey.from_string(self.mint)) != self.mint
                ):
                    raise ValueError(self.mint)
            except ValueError:
                raise LaunchError("INVALID_MINT", "mint must be a base58 public key") from None
        if not isinstance(self.symbol, str) or not _SYMBOL.fullmatch(self.symbol):
            raise LaunchError("INVALID_SYMBOL", "symbol must be 1-10 letters or digits")
        if not _is_int(self.decimals) or not 0 <= self.decimals <= MAX_DECIMALS:
            raise LaunchError("INVALID_DECIMALS", f"decimals must be an integer 0-{MAX_DECIMALS}")
        names = [name for name in self.venues if name in DEFAULT_VENUES]
        if not self.venues or len(names) != len(self.venues) or len(set(names)) != len(names):
            raise LaunchError(
                "INVALID_VENUES", f"venues must be distinct names among {list(DEFAULT_VENUES)}"
            )
        if not isinstance(self.quote, str) or self.quote not in {t.symbol for t in REGISTRY}:
            known = ", ".join(token.symbol for token in REGISTRY)
            raise LaunchError("UNKNOWN_QUOTE", f"quote must be a registry symbol ({known})")
        _check_range("liquidityUsd", self.liquidity_usd, MIN_LIQUIDITY_USD, MAX_LIQUIDITY_USD)
        _check_range("priceUsd", self.price_usd, MIN_PRICE_USD, MAX_PRICE_USD)
        if self.reserves is not None and not (
            len(self.reserves) == 2
            and all(_is_int(r) and MIN_RESERVE <= r <= MAX_BASE_UNITS for r in self.reserves)
        ):
            raise LaunchError(
                "INVALID_RESERVES",
                f"reserves must be two integers of base units, {MIN_RESERVE} to 2^64-1",
            )


@dataclass(frozen=True, slots=True)
class LaunchedPool:
    """One pool a launch opened, with its opening reserves (new token, quote token)."""

    venue: str
    program_id: str
    address: str
    reserve_base: int
    reserve_quote: int
    signature: str  # of the transaction that created it (`getTransaction` returns it)


@dataclass(frozen=True, slots=True)
class Launch:
    """A launch that happened: the new token, its pools, and when (world time, block height)."""

    token: Token
    quote: Token
    price_usd: Decimal
    liquidity_usd: Decimal
    pools: tuple[LaunchedPool, ...]
    at: float
    block_height: int
    origin: Origin


class Launcher:
    """A world's launched tokens: opens their pools, lists them, tells the listeners, and runs
    the random stream on the world's schedule (so a test clock drives it too)."""

    def __init__(self, world: SimWorld, settings: SimSettings) -> None:
        self._world, self._seed = world, settings.seed
        self._tokens = {token.mint: token for token in REGISTRY}
        self._launches: list[Launch] = []
        self._listeners: list[Callable[[Launch], None]] = []
        self._genesis = world.now()
        self._random: RandomLaunches | None = None
        if settings.launch_interval_s > 0:
            self._random = RandomLaunches(settings.seed, settings.launch_interval_s)
            world.schedule(self._genesis + self._random.gap(), self._random_launch)

    def token(self, mint: str) -> Token | None:
        """The registry or launched token of a mint, or None."""
        return self._tokens.get(mint)

    def restore(self, launches: list[Launch], generation: int) -> None:
        """Take back a snapshot's launches (their pools are the world's to reopen).

        The random stream restarts from a seed derived from `generation` (how many times the
        chain restarted): the launches it drew before are not drawn again.
        """
        self._launches = list(launches)
        self._tokens.update((launch.token.mint, launch.token) for launch in launches)
        if self._random is not None:
            self._random.reseed(generation)

    def launches(self) -> list[Launch]:
        """Every launch so far, oldest first."""
        return list(self._launches)

    def on_launch(self, listener: Callable[[Launch], None]) -> Callable[[], None]:
        """Call `listener` at every launch; returns the function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def launch(self, request: LaunchRequest, at: float, origin: Origin) -> Launch:
        """Open the request's pools at world time `at` (the world is there) and announce it.

        Raises:
            LaunchError: The symbol is taken, the world is full, or the venues cannot hold it.
        """
        if self._taken(request.symbol):
            raise LaunchError("DUPLICATE_SYMBOL", f"a token called {request.symbol} exists")
        if len(self._launches) >= MAX_LAUNCHES:
            raise LaunchError("TOO_MANY_LAUNCHES", f"the world holds {MAX_LAUNCHES} launches")
        quote = next(token for token in REGISTRY if token.symbol == request.quote)
        mint = request.mint or mint_address(self._seed, len(self._launches))
        if any(self._world.has_pool(mint, quote.mint, venue) for venue in request.venues):
            raise LaunchError("POOL_EXISTS", f"{mint} already has a pool on a requested venue")
        if self._world.token(mint) is not None:
            raise LaunchError("MINT_EXISTS", f"{mint} already trades; launch a new mint")
        token = Token(request.symbol, mint, request.decimals)
        quote_usd = self._world.reference_price(quote.symbol)
        base, quoted, price, liquidity = opening_reserves(request, token, quote, quote_usd)
        try:
            pools = self._world.open_pools(token, quote, request.venues, (base, quoted))
        except (ValueError, ArithmeticError) as error:  # e.g. DLMM bins finer than Q64.64
            raise LaunchError(
                "INVALID_PRICE", f"the venues cannot hold this price: {error}"
            ) from None
        self._tokens[mint] = token
        opened = tuple(
            LaunchedPool(
                name,
                self._world.venue(name).program_id,
                pool.address,
                base,
                quoted,
                pool.signature,
            )
            for name, pool in pools.items()
        )
        height = self._world.heights.at(at)  # the chain's block at the launch
        launch = Launch(token, quote, price, liquidity, opened, at, height, origin)
        self._launches.append(launch)
        for listener in list(self._listeners):
            try:
                listener(launch)
            except Exception:  # a subscriber's bug must neither undo the launch nor stop time
                log.exception("launch_listener_failed", mint=mint)
        return launch

    def _taken(self, symbol: str) -> bool:
        return any(token.symbol.upper() == symbol.upper() for token in self._tokens.values())

    def _random_launch(self, at: float) -> None:
        stream = self._random
        if stream is None or len(self._launches) >= MAX_LAUNCHES:
            return  # the stream ends at the cap
        try:
            self.launch(stream.request(self._taken), at, "random")
        except LaunchError as error:  # a draw the venues cannot hold: skip it, keep the stream
            log.warning("random_launch_skipped", code=error.code, reason=error.message)
        self._world.schedule(at + stream.gap(), self._random_launch)


def mint_address(seed: int, counter: int) -> str:
    """The mint of the `counter`-th launched token: fresh, and the same for the same seed."""
    authority = Pubkey(hashlib.sha256(f"oee-sim/mint-authority/{seed}".encode()).digest())
    return str(Pubkey.create_with_seed(authority, f"mint-{counter}", TOKEN_PROGRAM_ID))


def opening_reserves(
    request: LaunchRequest, token: Token, quote: Token, quote_usd: Decimal
) -> tuple[int, int, Decimal, Decimal]:
    """Each new pool's reserves and the launch's price and liquidity in USD.

    Returns:
        (base units of the new token, base units of the quote token, price_usd, liquidity_usd).

    Raises:
        LaunchError: A side rounds below `MIN_RESERVE` or beyond a u64.
    """
    if request.reserves is not None:
        base, quoted = request.reserves
        quote_value = quote.from_base_units(quoted) * quote_usd
        return base, quoted, quote_value / token.from_base_units(base), 2 * quote_value
    side_usd = request.liquidity_usd / 2
    base = int((side_usd / request.price_usd).scaleb(token.decimals))
    quoted = int((side_usd / quote_usd).scaleb(quote.decimals))
    for units, what in ((base, token.symbol), (quoted, quote.symbol)):
        if units < MIN_RESERVE:
            raise LaunchError(
                "INVALID_LIQUIDITY", f"the {what} side rounds to {units} base units; add liquidity"
            )
        if units > MAX_BASE_UNITS:
            raise LaunchError("INVALID_LIQUIDITY", f"the {what} side exceeds a u64 of base units")
    return base, quoted, request.price_usd, request.liquidity_usd


@dataclass(slots=True)
class RandomLaunches:
    """Seeded random launches, a mean `interval_s` apart (exponential gaps: a Poisson stream).

    Memecoin-shaped: a few letters, 6 or 9 decimals, mostly on Raydium alone, $5k-250k of
    liquidity at $1e-7-1e-2 a token, always against SOL.
    """

    seed: int
    interval_s: float
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"oee-sim/launches/{self.seed}")

    def reseed(self, generation: int) -> None:
        """Restart the stream from a seed derived from the seed and `generation` (a restart)."""
        self._rng = random.Random(f"oee-sim/launches/{self.seed}/restart/{generation}")

    def gap(self) -> float:
        """Seconds until the next random launch."""
        return max(self._rng.expovariate(1 / self.interval_s), MIN_GAP_S)

    def request(self, taken: Callable[[str], bool]) -> LaunchRequest:
        """The next random launch, under a symbol `taken` says is free."""
        rng = self._rng
        symbol = ""
        while not symbol or taken(symbol):
            symbol = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(3, 6)))
        venues = rng.choices([("raydium",), ("meteora",), DEFAULT_VENUES], weights=[6, 2, 2])[0]
        return LaunchRequest(
            symbol=symbol,
            decimals=rng.choice((6, 6, 9)),
            venues=venues,
            liquidity_usd=_log_uniform(rng, 5_000, 250_000, places=0),
            price_usd=_log_uniform(rng, 1e-7, 1e-2, places=12),
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_range(name: str, value: object, low: Decimal, high: Decimal) -> None:
    code = "INVALID_LIQUIDITY" if name == "liquidityUsd" else "INVALID_PRICE"
    if not isinstance(value, Decimal) or not value.is_finite() or not low <= value <= high:
        raise LaunchError(code, f"{name} must be a number from {low} to {high:.0E}")


def _log_uniform(rng: random.Random, low: float, high: float, *, places: int) -> Decimal:
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    return Decimal(f"{value:.{places}f}") if places else Decimal(round(value))
