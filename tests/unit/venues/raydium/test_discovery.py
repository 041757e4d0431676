"""Golden tests of the derived addresses and the pool-finding filters.

The pool PDAs are checked against a real mainnet `initialize2` (its accounts were derived by
the creator's client and accepted by the program up to `RepeatCreateAmm`), the vault signer
against a published OpenBook/Serum market.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from oee.venues.raydium import (
    DEVNET,
    MAINNET,
    OPENBOOK_PROGRAM,
    OPENBOOK_PROGRAM_DEVNET,
    RAYDIUM_AMM_V4,
    RAYDIUM_AMM_V4_DEVNET,
)
from oee.venues.raydium.discovery import (
    COIN_MINT_OFFSET,
    PC_MINT_OFFSET,
    amm_authority,
    amm_config,
    authority_from_nonce,
    find_vault_signer_nonce,
    market_vault_signer,
    pair_pool_filters,
    pool_addresses,
    pool_filters,
    pool_filters_by_mint,
)
from oee.venues.raydium.errors import RaydiumError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "raydium"
SOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")


def test_program_ids_are_lib_rs_and_config_feature() -> None:
    assert str(RAYDIUM_AMM_V4) == "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
    assert str(RAYDIUM_AMM_V4_DEVNET) == "DRaya7Kj3aMWQSy19kSjvmuwq9docCHofyP9kanQGaav"
    assert str(OPENBOOK_PROGRAM) == "srmqPvymJeFKQ4zGQed1GFppgkRHL9kaELCbyksJtPX"
    assert str(OPENBOOK_PROGRAM_DEVNET) == "EoTcMgcDRTJVZDMZWBoU6rhYHZfkNTVEAfz3uUJRcYGj"
    assert MAINNET.amm_program == RAYDIUM_AMM_V4
    assert DEVNET.amm_program == RAYDIUM_AMM_V4_DEVNET


def test_the_mainnet_authority_is_pinned() -> None:
    authority, nonce = amm_authority()
    assert str(authority) == "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"
    assert nonce == 254
    assert authority_from_nonce(nonce) == authority  # how a swap re-derives it


def test_pool_addresses_match_a_real_initialize2() -> None:
    tx = json.loads((FIXTURES / "initialize2_repeat_create_amm.json").read_text())
    accounts = [Pubkey.from_string(key) for key in tx["raydiumInstruction"]["accounts"]]
    market = accounts[16]

    derived = pool_addresses(market)

    assert derived.amm == accounts[4]
    assert derived.authority == accounts[5]
    assert derived.open_orders == accounts[6]
    assert derived.lp_mint == accounts[7]
    assert derived.coin_vault == accounts[10]
    assert derived.pc_vault == accounts[11]
    assert derived.target_orders == accounts[12]
    assert derived.amm_config == accounts[13] == amm_config()
    assert str(derived.amm) == "EjYMZgWhaETYCoxZ28cuPgzmEwLN2mGjqyWqx7beB1wf"


def test_the_vault_signer_is_market_and_a_little_endian_u64_nonce() -> None:
    # The old Serum v3 SOL/USDC market, whose vault signer Raydium's pool list publishes.
    market = Pubkey.from_string("9wFFyRfZBsuAha4YcuxcXLKwMxJR43S7fPfQLusDBzvT")
    serum_v3 = Pubkey.from_string("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin")
    signer = market_vault_signer(market, 1, serum_v3)
    assert str(signer) == "F8Vyqk3unwxkXukZFQeYyGmFfTG3CAX4v24iyrjEYBJV"


def test_filters_sit_at_the_mint_offsets_and_match_a_real_pool() -> None:
    snapshot = json.loads((FIXTURES / "amm_info_sol_usdc.json").read_text())
    raw = base64.b64decode(snapshot["data_base64"])
    assert (COIN_MINT_OFFSET, PC_MINT_OFFSET) == (400, 432)

    filters = pool_filters(SOL, USDC)

    assert filters == [
        {"dataSize": 752},
        {"memcmp": {"offset": 400, "bytes": str(SOL)}},
        {"memcmp": {"offset": 432, "bytes": str(USDC)}},
    ]
    assert _matches(filters, raw)
    assert not _matches(pool_filters(USDC, SOL), raw)


def test_pair_filters_cover_both_orders() -> None:
    forward, backward = pair_pool_filters(USDC, SOL)
    assert forward == pool_filters(USDC, SOL)
    assert backward == pool_filters(SOL, USDC)


def test_one_mints_filters_match_the_pool_on_its_own_side_only() -> None:
    snapshot = json.loads((FIXTURES / "amm_info_sol_usdc.json").read_text())
    raw = base64.b64decode(snapshot["data_base64"])
    coin = pool_filters_by_mint(SOL, side="coin")
    assert coin == [{"dataSize": 752}, {"memcmp": {"offset": 400, "bytes": str(SOL)}}]
    assert _matches(coin, raw)
    assert _matches(pool_filters_by_mint(USDC, side="pc"), raw)
    assert not _matches(pool_filters_by_mint(SOL, side="pc"), raw)
    assert not _matches(pool_filters_by_mint(USDC, side="coin"), raw)


def _matches(filters: list[dict[str, object]], data: bytes) -> bool:
    """What a node does with the filters (memcmp bytes are base58: a pubkey's string)."""
    for spec in filters:
        if "dataSize" in spec and len(data) != spec["dataSize"]:
            return False
        memcmp = spec.get("memcmp")
        if isinstance(memcmp, dict):
            expected = bytes(Pubkey.from_string(memcmp["bytes"]))
            if data[memcmp["offset"] : memcmp["offset"] + len(expected)] != expected:
                return False
    return True


def test_a_nonce_that_gives_no_address_is_refused() -> None:
    market = Pubkey(b"\x35" * 32)
    signer, nonce = find_vault_signer_nonce(market, OPENBOOK_PROGRAM)
    assert market_vault_signer(market, nonce, OPENBOOK_PROGRAM) == signer
    bad = next(n for n in range(nonce) if _fails(market, n))
    with pytest.raises(RaydiumError):
        market_vault_signer(market, bad, OPENBOOK_PROGRAM)


def _fails(market: Pubkey, nonce: int) -> bool:
    try:
        market_vault_signer(market, nonce, OPENBOOK_PROGRAM)
    except RaydiumError:
        return True
    return False
