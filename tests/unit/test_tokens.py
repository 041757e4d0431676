"""Token registry and exact base-unit conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oee.domain.errors import InvalidOrder
from oee.domain.tokens import REGISTRY, parse_amount, resolve_token


def test_registry_has_the_real_mints_and_decimals() -> None:
    expected = {
        "SOL": ("So11111111111111111111111111111111111111112", 9),
        "USDC": ("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6),
        "USDT": ("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", 6),
        "BONK": ("DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", 5),
        "JUP": ("JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN", 6),
        "WIF": ("EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm", 6),
        "RAY": ("4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R", 6),
    }
    assert {t.symbol: (t.mint, t.decimals) for t in REGISTRY} == expected


def test_resolve_by_symbol_any_case_or_by_mint() -> None:
    sol = resolve_token("SOL")
    assert resolve_token("sol") is sol
    assert resolve_token(sol.mint) is sol


def test_unknown_token_is_a_clear_error() -> None:
    with pytest.raises(InvalidOrder) as info:
        resolve_token("DOGE")
    assert info.value.code == "UNKNOWN_TOKEN"
    assert "SOL" in info.value.message


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0", "AMOUNT_NOT_POSITIVE"),
        ("-1", "AMOUNT_NOT_POSITIVE"),
        ("NaN", "AMOUNT_NOT_FINITE"),
        ("Infinity", "AMOUNT_NOT_FINITE"),
        ("1e13", "AMOUNT_TOO_LARGE"),
        ("1e11", "AMOUNT_TOO_LARGE"),  # fits the whole-token cap but not a u64 of lamports
        ("0.0000000001", "AMOUNT_TOO_PRECISE"),
    ],
)
def test_bad_amounts(amount: str, code: str) -> None:
    with pytest.raises(InvalidOrder) as info:
        resolve_token("SOL").to_base_units(Decimal(amount))
    assert info.value.code == code


def test_float_input_is_read_as_written() -> None:
    assert parse_amount(1.1) == Decimal("1.1")
    assert resolve_token("SOL").to_base_units(parse_amount(1.5)) == 1_500_000_000


def test_not_a_number() -> None:
    with pytest.raises(InvalidOrder) as info:
        parse_amount("abc")
    assert info.value.code == "AMOUNT_NOT_NUMBER"


@given(st.integers(min_value=1, max_value=10**15), st.sampled_from(REGISTRY))
def test_base_units_round_trip(units: int, token: object) -> None:
    from oee.domain.tokens import Token

    assert isinstance(token, Token)
    assert token.to_base_units(token.from_base_units(units)) == units
