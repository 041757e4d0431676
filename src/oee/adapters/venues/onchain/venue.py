"""The flow both on-chain venues share: find pools, read them in one request, quote, build.

A venue subclass says only what differs: its `getProgramAccounts` filters, how it decodes a
pool, which accounts a quote or a build reads, and how it prices and builds from them.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

import structlog
from solders.pubkey import Pubkey

from oee.adapters.chain.rpc import Account, AccountsAt
from oee.adapters.venues._http import insufficient_liquidity, make_quote, no_pool
from oee.adapters.venues.onchain.reader import (
    AccountSource,
    DecodeCache,
    Filters,
    PoolCache,
    StateCache,
)
from oee.domain.errors import ExecutionError
from oee.domain.ports import SwapInstruction, SwapRequest
from oee.domain.routing import Quote
from oee.domain.tokens import Token

log = structlog.get_logger(__name__)
P = TypeVar("P")  # a venue's decoded pool
T = TypeVar("T")
_IMPACT_STEP = Decimal("0.01")


class PoolUnusable(Exception):
    """This pool cannot take the swap: disabled, not open yet, or a kind this engine does not
    model (the message says which). Other pools of the pair may."""


class Shortfall(Exception):
    """The pool's liquidity cannot fill the amount."""


class StaleSelection(Exception):
    """The accounts read were chosen from older state (a DLMM bin array the swap now needs was
    not read): read again with the fresh state."""


@dataclass(frozen=True, slots=True)
class PoolQuote:
    """One pool's price for the swap."""

    amount_out: int
    fee: int  # input base units
    fee_bps: int
    price_impact_bps: Decimal


def impact_bps(amount_out: int, net_in: int, best_out_per_in: Decimal) -> Decimal:
    """The shortfall of the executed price (output per input after fee) against the best price
    the pool offers this swap (its spot price, or the first bin that pays), in bps."""
    if net_in <= 0 or best_out_per_in <= 0:
        return Decimal(0)
    executed = Decimal(amount_out) / Decimal(net_in)
    return max((1 - executed / best_out_per_in) * 10_000, Decimal(0)).quantize(_IMPACT_STEP)


class OnchainVenue(ABC, Generic[P]):
    """The `Venue` port over pool accounts read from the chain (see the package docstring)."""

    name: str
    compute_units: int
    default_program_id: str  # the mainnet program

    def __init__(
        self,
        source: AccountSource,
        *,
        program_id: str | None = None,
        pool_ttl_s: float = 60.0,
        miss_ttl_s: float = 5.0,
        state_ttl_s: float = 0.4,
    ) -> None:
        """Read pools of `program_id` through `source`.

        Args:
            source: The JSON-RPC account reads (`RpcChain`).
            program_id: The venue's program on this cluster (default: mainnet's).
            pool_ttl_s: How long a pair's discovered pools are kept.
            miss_ttl_s: How long "no pool for this pair" is kept.
            state_ttl_s: The oldest pool state a quote or a build may use (about one slot).
        """
        self.program_id = program_id or self.default_program_id
        self.program_key = Pubkey.from_string(self.program_id)
        self._pools = PoolCache(pool_ttl_s, miss_ttl_s)
        self._state = StateCache(source, state_ttl_s)
        self._source = source
        self._decoded = DecodeCache()
        self._latest: dict[str, P] = {}  # the freshest decoded pool, which picks what to read

    # -- what a venue says -----------------------------------------------------------------

    @abstractmethod
    def filters(self, mint_a: Pubkey, mint_b: Pubkey) -> list[Filters]:
        """The getProgramAccounts filter sets that together find every pool of the pair."""

    @abstractmethod
    def decode_pool(self, data: bytes) -> P:
        """The pool record from its account bytes; ValueError when they are not one."""

    @abstractmethod
    def state_addresses(
        self, address: str, pool: P, token_in: Token, token_out: Token, *, build: bool
    ) -> list[str]:
        """The accounts a quote (or, with `build`, a swap instruction) reads, pool first."""

    @abstractmethod
    def quote_pool(
        self, address: str, pool: P, accounts: Sequence[Account | None], slot: int,
        token_in: Token, token_out: Token, amount_in: int,
    ) -> PoolQuote:  # fmt: skip
        """Price the swap on the accounts `state_addresses` named (read at `slot`).

        Raises:
            PoolUnusable, Shortfall, StaleSelection.
        """

    @abstractmethod
    def build(
        self, address: str, pool: P, accounts: Sequence[Account | None], slot: int,
        request: SwapRequest,
    ) -> SwapInstruction:  # fmt: skip
        """The swap instruction from the accounts `state_addresses(build=True)` named.

        Raises:
            PoolUnusable, Shortfall, StaleSelection.
        """

    # -- the shared flow ---------------------------------------------------------------------

    async def quote(self, token_in: Token, token_out: Token, amount_in: int) -> Quote:
        """The best quote among the pair's pools.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable), NO_POOL (no usable pool) or
                INSUFFICIENT_LIQUIDITY (no pool can fill the amount), the latter not retryable.
        """
        pools = await self.pools(token_in, token_out)
        if not pools:
            raise no_pool(self.name, token_in, token_out, "no pool on chain")
        answers = await self._read_each(pools, token_in, token_out, build=False)
        best: tuple[str, PoolQuote] | None = None
        unusable: list[str] = []
        short: list[str] = []
        for (address, pool), accounts in zip(pools, answers, strict=True):
            try:
                quoted = await self._retry_stale(
                    address, pool, accounts, token_in, token_out,
                    lambda a, p, got: self.quote_pool(a, p, got.accounts, got.slot,
                                                      token_in, token_out, amount_in),
                )  # fmt: skip
            except PoolUnusable as why:
                unusable.append(f"{address}: {why}")
                continue
            except Shortfall as why:
                short.append(f"{address}: {why}")
                continue
            if best is None or quoted.amount_out > best[1].amount_out:
                best = (address, quoted)
        if best is None:
            if short:
                raise insufficient_liquidity(self.name, "; ".join(short))
            raise no_pool(self.name, token_in, token_out, "; ".join(unusable))
        address, quoted = best
        return make_quote(
            self.name, token_in, token_out, amount_in=amount_in, amount_out=quoted.amount_out,
            fee=quoted.fee, fee_bps=quoted.fee_bps,
            impact_pct=quoted.price_impact_bps / 100, pool=address,
        )  # fmt: skip

    async def swap_instruction(self, request: SwapRequest) -> SwapInstruction:
        """The venue's swap instruction on the quoted pool, from its state now.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable); NO_POOL when the quoted pool is gone
                or cannot be traded, INSUFFICIENT_LIQUIDITY, neither retryable.
        """
        address = request.quote.pool
        pools = dict(await self.pools(request.token_in, request.token_out))
        pool = self._latest.get(address, pools.get(address))
        if pool is None:
            raise no_pool(self.name, request.token_in, request.token_out, f"{address} is gone")
        (accounts,) = await self._read_each(
            [(address, pool)], request.token_in, request.token_out, build=True
        )
        try:
            return await self._retry_stale(
                address, pool, accounts, request.token_in, request.token_out,
                lambda a, p, got: self.build(a, p, got.accounts, got.slot, request),
                build=True,
            )  # fmt: skip
        except PoolUnusable as why:
            raise no_pool(self.name, request.token_in, request.token_out, str(why)) from None
        except Shortfall as why:
            raise insufficient_liquidity(self.name, str(why)) from None

    async def pools(self, token_in: Token, token_out: Token) -> list[tuple[str, P]]:
        """The pair's pools (cached; see `PoolCache`), decoded; undecodable accounts skipped."""
        mint_a, mint_b = Pubkey.from_string(token_in.mint), Pubkey.from_string(token_out.mint)
        pair = frozenset((token_in.mint, token_out.mint))
        found = await self._pools.get(pair, lambda: self._discover(mint_a, mint_b))
        pools = []
        for address, account in found:
            try:
                pools.append((address, self._decode(address, account.data)))
            except ValueError as error:
                log.warning("pool_undecodable", venue=self.name, pool=address, error=str(error))
        return pools

    def forget_pools(self, token_a: Token, token_b: Token) -> None:
        """Find the pair's pools again on its next quote (e.g. a launch was just seen)."""
        self._pools.forget(frozenset((token_a.mint, token_b.mint)))

    async def _discover(self, mint_a: Pubkey, mint_b: Pubkey) -> list[tuple[str, Account]]:
        found: dict[str, Account] = {}
        for filters in self.filters(mint_a, mint_b):
            for address, account in await self._source.program_accounts(self.program_id, filters):
                if account.owner == self.program_id:
                    found[address] = account
        return sorted(found.items())

    async def _read_each(
        self, pools: Sequence[tuple[str, P]], token_in: Token, token_out: Token, *, build: bool
    ) -> list[AccountsAt]:
        """Every pool's accounts in one getMultipleAccounts, split back per pool."""
        lists = [
            self.state_addresses(a, self._latest.get(a, p), token_in, token_out, build=build)
            for a, p in pools
        ]
        answer = await self._state.read([address for addresses in lists for address in addresses])
        split, start = [], 0
        for (address, _), addresses in zip(pools, lists, strict=True):
            accounts = answer.accounts[start : start + len(addresses)]
            start += len(addresses)
            head = accounts[0]
            if head is not None and head.owner == self.program_id:
                # The pool's freshest state picks the next read's accounts.
                with contextlib.suppress(ValueError):  # unreadable: the quote will say so
                    self._latest[address] = self._decode(address, head.data)
            split.append(AccountsAt(answer.slot, accounts))
        return split

    async def _retry_stale(
        self,
        address: str,
        pool: P,
        read: AccountsAt,
        token_in: Token,
        token_out: Token,
        use: Callable[[str, P, AccountsAt], T],
        *,
        build: bool = False,
    ) -> T:
        """`use(address, pool as read, accounts)`; once more on newly chosen accounts if they were stale.

        Raises:
            PoolUnusable: The pool account is gone or no longer the program's.
            ExecutionError: VENUE_UNAVAILABLE (retryable) when the second read is stale too.
        """
        for attempt in range(2):
            head = read.accounts[0]
            if head is None or head.owner != self.program_id:
                raise PoolUnusable("the pool account is gone")
            try:
                return use(address, self._decode(address, head.data), read)
            except ValueError as error:  # the venue packages' layout and program errors
                raise PoolUnusable(f"unreadable pool state: {error}") from None
            except StaleSelection as why:
                if attempt:
                    raise ExecutionError(
                        f"{self.name} pool {address} moved while being read: {why}",
                        code="VENUE_UNAVAILABLE",
                        retryable=True,
                    ) from None
            (read,) = await self._read_each([(address, pool)], token_in, token_out, build=build)
        raise AssertionError("unreachable")

    def _decode(self, address: str, data: bytes) -> P:
        decoded: P = self._decoded.get(address, data, self.decode_pool)
        return decoded
