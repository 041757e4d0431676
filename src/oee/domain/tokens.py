"""The token registry and exact conversions between token units and integer base units."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from oee.domain.errors import InvalidOrder

# Anything above this many whole tokens in one order is a typo, not a trade.
MAX_WHOLE_TOKENS = Decimal(10) ** 12
# SPL token amounts are u64 on chain.
MAX_BASE_UNITS = 2**64 - 1
LAMPORTS_PER_SOL = 1_000_000_000  # SOL has 9 decimals; a lamport is its base unit


@dataclass(frozen=True, slots=True)
class Token:
    """An SPL token: the symbol users type, its mint address and its decimals."""

    symbol: str
    mint: str
    decimals: int

    @classmethod
    def unlisted(cls, mint: str, decimals: int = 0) -> Token:
        """A token no registry lists (a sniper's target): its mint stands in for a symbol.

        Its decimals are unknown until its mint is read from the chain (0 until then); only
        amounts in, never amounts of it, are converted before that.
        """
        return cls(symbol=mint, mint=mint, decimals=decimals)

    def to_base_units(self, amount: Decimal) -> int:
        """Convert an amount in whole tokens to integer base units, exactly.

        Args:
            amount: A finite, positive amount with no more places than `decimals`.

        Returns:
            The amount in base units (lamports for SOL).

        Raises:
            InvalidOrder: The amount is not finite, not positive, too large, or finer
                than the token's smallest unit.
        """
        if not amount.is_finite():
            raise InvalidOrder("amount must be a finite number", code="AMOUNT_NOT_FINITE")
        if amount <= 0:
            raise InvalidOrder("amount must be greater than zero", code="AMOUNT_NOT_POSITIVE")
        if amount > MAX_WHOLE_TOKENS:
            raise InvalidOrder(
                f"amount must be at most {MAX_WHOLE_TOKENS:,} {self.symbol}",
                code="AMOUNT_TOO_LARGE",
            )
        scaled = amount.scaleb(self.decimals)
        if scaled != scaled.to_integral_value():
            raise InvalidOrder(
                f"{self.symbol} has {self.decimals} decimals; {amount} is finer than that",
                code="AMOUNT_TOO_PRECISE",
            )
        units = int(scaled)
        if units == 0:  # e.g. 1e-1000000: rounds to an integer zero, but is not one
            raise InvalidOrder(
                f"{self.symbol} has {self.decimals} decimals; {amount} is finer than that",
                code="AMOUNT_TOO_PRECISE",
            )
        if units > MAX_BASE_UNITS:
            raise InvalidOrder(
                f"amount exceeds the largest {self.symbol} amount a transaction can carry",
                code="AMOUNT_TOO_LARGE",
            )
        return units

    def from_base_units(self, units: int) -> Decimal:
        """Convert integer base units to a `Decimal` amount of whole tokens."""
        return Decimal(units).scaleb(-self.decimals)


WSOL_MINT = "So11111111111111111111111111111111111111112"

REGISTRY: tuple[Token, ...] = (
    Token("SOL", WSOL_MINT, 9),
    Token("USDC", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6),
    Token("USDT", "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", 6),
    Token("BONK", "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", 5),
    Token("JUP", "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN", 6),
    Token("WIF", "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm", 6),
    Token("RAY", "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R", 6),
)

# Devnet has none of mainnet's mints: only SOL and Circle's devnet USDC are real there.
DEVNET_REGISTRY: tuple[Token, ...] = (
    Token("SOL", WSOL_MINT, 9),
    Token("USDC", "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", 6),
)


class Registry:
    """The tokens a cluster trades, found by symbol (case-insensitive) or mint (exact)."""

    def __init__(self, tokens: tuple[Token, ...], *, cluster: str | None = None) -> None:
        self.tokens, self.cluster = tokens, cluster
        self._by_symbol = {t.symbol: t for t in tokens}
        self._by_mint = {t.mint: t for t in tokens}

    def resolve(self, symbol_or_mint: str) -> Token:
        """The token, by symbol or mint.

        Raises:
            InvalidOrder: with code `UNKNOWN_TOKEN` when this cluster has no such token.
        """
        token = self._by_symbol.get(symbol_or_mint.upper()) or self._by_mint.get(symbol_or_mint)
        if token is None:
            known = ", ".join(self._by_symbol)
            where = f" on {self.cluster}" if self.cluster else ""
            raise InvalidOrder(
                f"unknown token {symbol_or_mint!r}{where}; use a symbol ({known}) "
                "or its mint address",
                code="UNKNOWN_TOKEN",
            )
        return token


MAINNET_TOKENS = Registry(REGISTRY)
DEVNET_TOKENS = Registry(DEVNET_REGISTRY, cluster="devnet")


def resolve_token(symbol_or_mint: str) -> Token:
    """Find a token of the mainnet registry (which the simulator uses too) by symbol or mint.

    Raises:
        InvalidOrder: with code `UNKNOWN_TOKEN` when the registry has no such token.
    """
    return MAINNET_TOKENS.resolve(symbol_or_mint)


def parse_amount(value: str | int | float | Decimal) -> Decimal:
    """Read an amount as a `Decimal` without binary float rounding (1.1 stays 1.1).

    Raises:
        InvalidOrder: The value is not a number.
    """
    if isinstance(value, str) and "_" in value:  # Decimal("1_000") is valid Python, not JSON
        raise InvalidOrder(f"amount {value!r} is not a number", code="AMOUNT_NOT_NUMBER")
    try:
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidOrder(f"amount {value!r} is not a number", code="AMOUNT_NOT_NUMBER") from None
