"""Finding pools: the program-derived addresses and the `getProgramAccounts` filters.

`processor.rs` derives every account of a pool from its OpenBook market: `initialize2` checks
each against `find_program_address([program_id, market, <seed>], program_id)`, so a pool's
address, vaults, LP mint, open orders and target orders all follow from the market. The
authority that owns the vaults is one PDA for the whole program (`[b"amm authority"]`); its
bump is the `nonce` stored in every pool. OpenBook's vault signer is
`create_program_address([market, vault_signer_nonce as u64 LE], market_program)`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

from solders.pubkey import Pubkey

from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.errors import RaydiumError
from oee.venues.raydium.layout import AMM_INFO, AMM_INFO_SIZE

AUTHORITY_SEED = b"amm authority"
AMM_CONFIG_SEED = b"amm_config_account_seed"
AMM_ASSOCIATED_SEED = b"amm_associated_seed"
TARGET_ASSOCIATED_SEED = b"target_associated_seed"
OPEN_ORDER_ASSOCIATED_SEED = b"open_order_associated_seed"
COIN_VAULT_ASSOCIATED_SEED = b"coin_vault_associated_seed"
PC_VAULT_ASSOCIATED_SEED = b"pc_vault_associated_seed"
LP_MINT_ASSOCIATED_SEED = b"lp_mint_associated_seed"

COIN_MINT_OFFSET = AMM_INFO.offset("coin_vault_mint")  # 400
PC_MINT_OFFSET = AMM_INFO.offset("pc_vault_mint")  # 432
JsonFilter = dict[str, Any]


@functools.cache
def amm_authority(program_id: Pubkey = RAYDIUM_AMM_V4) -> tuple[Pubkey, int]:
    """The vault authority and its bump (the `nonce` `initialize2` requires).

    Args:
        program_id: the AMM program (mainnet by default).

    Returns:
        `(authority, nonce)`; on mainnet `5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1`, 254.
    """
    return Pubkey.find_program_address([AUTHORITY_SEED], program_id)


def authority_from_nonce(nonce: int, program_id: Pubkey = RAYDIUM_AMM_V4) -> Pubkey:
    """The authority as a swap checks it: from the pool's stored `nonce` (`authority_id`).

    Raises:
        RaydiumError: the nonce does not give an off-curve address.
    """
    return _program_address([AUTHORITY_SEED, bytes([nonce])], program_id)


def _program_address(seeds: list[bytes], program_id: Pubkey) -> Pubkey:
    try:
        return Pubkey.create_program_address(seeds, program_id)
    except Exception as error:  # solders' PubkeyError (not exported): the result is on-curve
        raise RaydiumError(f"seeds give no program address: {error}") from error


def amm_config(program_id: Pubkey = RAYDIUM_AMM_V4) -> Pubkey:
    """The program's config account (account 13 of `initialize2`)."""
    return Pubkey.find_program_address([AMM_CONFIG_SEED], program_id)[0]


def associated_address(market: Pubkey, seed: bytes, program_id: Pubkey = RAYDIUM_AMM_V4) -> Pubkey:
    """`get_associated_address_and_bump_seed`: a pool account derived from its market."""
    return Pubkey.find_program_address([bytes(program_id), bytes(market), seed], program_id)[0]


@dataclass(frozen=True)
class PoolAddresses:
    """Every account `initialize2` creates or checks for a market, before the pool exists."""

    amm: Pubkey
    authority: Pubkey
    nonce: int
    open_orders: Pubkey
    lp_mint: Pubkey
    coin_vault: Pubkey
    pc_vault: Pubkey
    target_orders: Pubkey
    amm_config: Pubkey


def pool_addresses(market: Pubkey, program_id: Pubkey = RAYDIUM_AMM_V4) -> PoolAddresses:
    """The addresses of the (one possible) pool on `market`.

    Args:
        market: the OpenBook market the pool is created on.
        program_id: the AMM program.

    Returns:
        The pool's accounts; `initialize2` fails (`RepeatCreateAmm`) when they already exist.
    """
    authority, nonce = amm_authority(program_id)
    return PoolAddresses(
        amm=associated_address(market, AMM_ASSOCIATED_SEED, program_id),
        authority=authority,
        nonce=nonce,
        open_orders=associated_address(market, OPEN_ORDER_ASSOCIATED_SEED, program_id),
        lp_mint=associated_address(market, LP_MINT_ASSOCIATED_SEED, program_id),
        coin_vault=associated_address(market, COIN_VAULT_ASSOCIATED_SEED, program_id),
        pc_vault=associated_address(market, PC_VAULT_ASSOCIATED_SEED, program_id),
        target_orders=associated_address(market, TARGET_ASSOCIATED_SEED, program_id),
        amm_config=amm_config(program_id),
    )


def market_vault_signer(market: Pubkey, vault_signer_nonce: int, market_program: Pubkey) -> Pubkey:
    """OpenBook's vault signer (`gen_vault_signer_key`): the nonce is a u64, little-endian.

    Raises:
        RaydiumError: the nonce does not give an off-curve address (not the market's nonce).
    """
    return _program_address(
        [bytes(market), vault_signer_nonce.to_bytes(8, "little")], market_program
    )


def find_vault_signer_nonce(market: Pubkey, market_program: Pubkey) -> tuple[Pubkey, int]:
    """The first nonce from 0 up that gives a vault signer, as market-creation clients pick it.

    Returns:
        `(vault_signer, nonce)` for a new market's `vault_signer_nonce`.
    """
    for nonce in range(256):
        try:
            return market_vault_signer(market, nonce, market_program), nonce
        except RaydiumError:
            continue
    raise RaydiumError(f"no vault signer nonce below 256 for {market}")


def pool_filters(coin_mint: Pubkey, pc_mint: Pubkey) -> list[JsonFilter]:
    """`getProgramAccounts` filters for the pools with this base ("coin") and quote ("pc").

    Args:
        coin_mint: matched at `coin_vault_mint` (offset 400).
        pc_mint: matched at `pc_vault_mint` (offset 432).

    Returns:
        JSON-RPC filter objects: `dataSize` 752 and two `memcmp` (base58 bytes).
    """
    return [
        {"dataSize": AMM_INFO_SIZE},
        {"memcmp": {"offset": COIN_MINT_OFFSET, "bytes": str(coin_mint)}},
        {"memcmp": {"offset": PC_MINT_OFFSET, "bytes": str(pc_mint)}},
    ]


def pool_filters_by_mint(mint: Pubkey, *, side: Literal["coin", "pc"]) -> list[JsonFilter]:
    """`getProgramAccounts` filters for the pools whose coin (or pc) mint is `mint`, whatever
    the other one (ask for both sides to find every pool that trades `mint`).

    Returns:
        `dataSize` 752 and one `memcmp` at offset 400 (coin) or 432 (pc).
    """
    offset = COIN_MINT_OFFSET if side == "coin" else PC_MINT_OFFSET
    return [{"dataSize": AMM_INFO_SIZE}, {"memcmp": {"offset": offset, "bytes": str(mint)}}]


def pair_pool_filters(mint_a: Pubkey, mint_b: Pubkey) -> tuple[list[JsonFilter], list[JsonFilter]]:
    """Filters for both orders of a pair: a pool may list either token as its base.

    Returns:
        `(a as coin and b as pc, b as coin and a as pc)`: one `getProgramAccounts` call each.
    """
    return pool_filters(mint_a, mint_b), pool_filters(mint_b, mint_a)
