"""The on-chain venue adapters over an in-memory node: discovery, one read per quote, the
venues' exact math, the best of several pools, the real swap instructions, and the caches."""

from __future__ import annotations

import asyncio
import dataclasses
import struct

import pytest
from solders.pubkey import Pubkey

from oee.adapters.venues.onchain.meteora import MeteoraOnchain
from oee.adapters.venues.onchain.raydium import RaydiumOnchain
from oee.adapters.venues.onchain.reader import CLOCK_SYSVAR
from oee.domain.errors import ExecutionError
from oee.domain.ports import SwapRequest
from oee.domain.tokens import WSOL_MINT, Token
from oee.solana.spl import TOKEN_PROGRAM_ID
from oee.venues.meteora import PROGRAM_ID as DLMM
from oee.venues.meteora.instructions import SWAP_ACCOUNTS_LEN, decode_swap_instruction
from oee.venues.raydium import OPENBOOK_PROGRAM, RAYDIUM_AMM_V4
from oee.venues.raydium.discovery import amm_authority, find_vault_signer_nonce
from oee.venues.raydium.instructions import (
    check_swap_accounts,
    decode_swap_base_in,
)
from oee.venues.raydium.layout import (
    AMM_INFO,
    AmmInfo,
    AmmStatus,
    MarketState,
    encode_market_state,
)
from oee.venues.raydium.math import Reserves, SwapDirection, quote_swap_base_in
from tests.support.accounts import FakeAccounts
from tests.unit.venues.meteora.fixture_data import SOL_PUMP
from tests.unit.venues.raydium.factories import COIN_MINT, PC_MINT, pool

COIN, PC = Token("COIN", str(COIN_MINT), 6), Token("PC", str(PC_MINT), 9)
SOL, PUMP = Token("SOL", WSOL_MINT, 9), Token("PUMP", str(SOL_PUMP.token_x_mint), 6)
AMM_A, AMM_B = Pubkey(b"\x41" * 32), Pubkey(b"\x42" * 32)
OWNER = Pubkey(b"\x51" * 32)
USER_IN, USER_OUT = Pubkey(b"\x52" * 32), Pubkey(b"\x53" * 32)
LONG_AFTER = SOL_PUMP.pair().v_parameters.last_update_timestamp + 86_400


def token_account(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    return bytes(mint) + bytes(owner) + struct.pack("<Q", amount) + bytes(165 - 72)


def clock(unix_time: int) -> bytes:
    return struct.pack("<QqQQq", 1_000, 0, 1, 2, unix_time)


def put_raydium(node: FakeAccounts, address: Pubkey, amm: AmmInfo, coin: int, pc: int) -> None:
    authority = amm_authority()[0]
    node.put(address, RAYDIUM_AMM_V4, AMM_INFO.encode(amm))
    node.put(amm.coin_vault, TOKEN_PROGRAM_ID, token_account(amm.coin_vault_mint, authority, coin))
    node.put(amm.pc_vault, TOKEN_PROGRAM_ID, token_account(amm.pc_vault_mint, authority, pc))
    _, nonce = find_vault_signer_nonce(amm.market, OPENBOOK_PROGRAM)
    keys = [Pubkey(bytes([0x60 + i]) * 32) for i in range(6)]
    market = MarketState(
        3, amm.market, nonce, amm.coin_vault_mint, amm.pc_vault_mint, keys[0], 0, 0, keys[1],
        0, 0, 0, keys[2], keys[3], keys[4], keys[5], 1, 1, 0, 0,
    )  # fmt: skip
    node.put(amm.market, OPENBOOK_PROGRAM, encode_market_state(market))


@pytest.fixture
def node() -> FakeAccounts:
    node = FakeAccounts()
    node.put(CLOCK_SYSVAR, "Sysvar1111111111111111111111111111111111111", clock(LONG_AFTER))
    return node


def reversed_pool() -> AmmInfo:
    """The same pair with PC as the base, its own vaults and market."""
    amm = pool()
    return dataclasses.replace(
        amm,
        coin_vault=Pubkey(b"\x71" * 32), pc_vault=Pubkey(b"\x72" * 32),
        coin_vault_mint=PC_MINT, pc_vault_mint=COIN_MINT, market=Pubkey(b"\x73" * 32),
    )  # fmt: skip


async def test_raydium_quotes_the_programs_math_on_the_best_of_both_mint_orders(
    node: FakeAccounts,
) -> None:
    put_raydium(node, AMM_A, pool(), coin=10**12, pc=5 * 10**15)
    put_raydium(node, AMM_B, reversed_pool(), coin=6 * 10**15, pc=10**12)  # deeper, reversed
    venue = RaydiumOnchain(node)
    quote = await venue.quote(COIN, PC, 10**9)
    expected = quote_swap_base_in(
        pool().fees, Reserves(coin=6 * 10**15, pc=10**12), SwapDirection.PC2COIN, 10**9
    )
    assert (quote.pool, quote.amount_out, quote.fee) == (
        str(AMM_B),
        expected.amount_out,
        expected.fee,
    )
    assert quote.fee_bps == 25
    # Impact: executed price after fee against the spot price, consistent with the amounts.
    executed = quote.amount_out / (10**9 - quote.fee)
    spot = 6 * 10**15 / 10**12
    assert float(quote.price_impact_bps) == pytest.approx((1 - executed / spot) * 10_000, abs=0.01)
    assert len(node.program_calls) == 2  # both mint orders, once
    assert len(node.multiple_calls) == 1  # both pools' state in one read


async def test_raydium_builds_swap_base_in_with_the_market_accounts(node: FakeAccounts) -> None:
    put_raydium(node, AMM_A, pool(), coin=10**12, pc=5 * 10**15)
    venue = RaydiumOnchain(node)
    quote = await venue.quote(COIN, PC, 10**9)
    request = SwapRequest(quote, COIN, PC, str(OWNER), str(USER_IN), str(USER_OUT), 10**9, 7)
    ix = await venue.swap_instruction(request)
    assert ix.program_id == str(RAYDIUM_AMM_V4)
    assert len(ix.accounts) == 17
    decoded = decode_swap_base_in(ix.data, [Pubkey.from_string(a.pubkey) for a in ix.accounts])
    assert (decoded.data.amount_in, decoded.data.minimum_amount_out) == (10**9, 7)
    check_swap_accounts(decoded.accounts, pool())  # the program's own key checks pass
    assert (decoded.accounts.user_source, decoded.accounts.user_owner) == (USER_IN, OWNER)
    assert decoded.accounts.market_bids == Pubkey(bytes([0x64]) * 32)
    signer = [a for a in ix.accounts if a.is_signer]
    assert [a.pubkey for a in signer] == [str(OWNER)]


async def test_raydium_skips_pools_that_cannot_swap_yet(node: FakeAccounts) -> None:
    waiting = dataclasses.replace(pool(status=AmmStatus.WAITING_TRADE, open_time=LONG_AFTER + 60))
    put_raydium(node, AMM_A, waiting, coin=10**12, pc=5 * 10**15)
    with pytest.raises(ExecutionError) as caught:
        await RaydiumOnchain(node).quote(COIN, PC, 10**9)
    assert (caught.value.code, caught.value.retryable) == ("NO_POOL", False)
    assert f"opens at {LONG_AFTER + 60}" in caught.value.message


async def test_no_pool_and_a_new_pool_found_after_the_miss_ttl(node: FakeAccounts) -> None:
    venue = RaydiumOnchain(node, miss_ttl_s=0.05)
    with pytest.raises(ExecutionError, match="no pool on chain") as caught:
        await venue.quote(COIN, PC, 10**9)
    assert caught.value.code == "NO_POOL"
    put_raydium(node, AMM_A, pool(), coin=10**12, pc=5 * 10**15)  # launched meanwhile
    with pytest.raises(ExecutionError):
        await venue.quote(COIN, PC, 10**9)  # still the cached miss
    await asyncio.sleep(0.06)
    assert (await venue.quote(COIN, PC, 10**9)).pool == str(AMM_A)


async def test_concurrent_quotes_share_one_read_and_state_expires(node: FakeAccounts) -> None:
    node.delay_s = 0.01
    put_raydium(node, AMM_A, pool(), coin=10**12, pc=5 * 10**15)
    venue = RaydiumOnchain(node, state_ttl_s=0.05)
    quotes = await asyncio.gather(*(venue.quote(COIN, PC, 10**6 * (i + 1)) for i in range(20)))
    assert len({q.amount_out for q in quotes}) == 20
    assert (len(node.program_calls), len(node.multiple_calls)) == (2, 1)
    await venue.quote(COIN, PC, 10**6)
    assert len(node.multiple_calls) == 1  # fresh enough
    await asyncio.sleep(0.06)
    await venue.quote(COIN, PC, 10**6)
    assert (len(node.program_calls), len(node.multiple_calls)) == (2, 2)  # pools still cached


async def test_raydium_paying_nothing_is_insufficient_liquidity(node: FakeAccounts) -> None:
    put_raydium(node, AMM_A, pool(), coin=10, pc=10)  # x*y=k never runs dry: it pays 0
    with pytest.raises(ExecutionError) as caught:
        await RaydiumOnchain(node).quote(COIN, PC, 1)
    assert caught.value.code == "INSUFFICIENT_LIQUIDITY"


def put_meteora(node: FakeAccounts) -> None:
    fixture = SOL_PUMP
    node.put(fixture.lb_pair, DLMM, fixture.raw("lb_pair"))
    node.put(fixture.reserve_x, TOKEN_PROGRAM_ID, fixture.raw("reserve_x"))
    node.put(fixture.reserve_y, TOKEN_PROGRAM_ID, fixture.raw("reserve_y"))
    node.put(fixture.bin_array_1, DLMM, fixture.raw("bin_array_1"))
    node.put(fixture.bin_array_2, DLMM, fixture.raw("bin_array_2"))


async def test_meteora_quotes_the_sdk_golden_swap_from_real_accounts(node: FakeAccounts) -> None:
    put_meteora(node)
    quote = await MeteoraOnchain(node).quote(SOL, PUMP, 100_000)
    # The SDK's own test: 100_000 lamports for the pump token at the 1 % base fee, bin 15.
    assert (quote.pool, quote.amount_out, quote.fee) == (str(SOL_PUMP.lb_pair), 68_356, 1_000)
    assert quote.fee_bps == 100
    assert quote.price_impact_bps < 1  # one bin, no crossing: only rounding
    assert len(node.multiple_calls) == 1


async def test_meteora_builds_swap_with_the_walked_bin_arrays(node: FakeAccounts) -> None:
    put_meteora(node)
    venue = MeteoraOnchain(node)
    quote = await venue.quote(SOL, PUMP, 100_000)
    request = SwapRequest(
        quote, SOL, PUMP, str(OWNER), str(USER_IN), str(USER_OUT), 100_000, 60_000
    )
    ix = await venue.swap_instruction(request)
    assert ix.program_id == str(DLMM)
    decoded = decode_swap_instruction(ix.data, [Pubkey.from_string(a.pubkey) for a in ix.accounts])
    assert (decoded.args.amount_in, decoded.args.min_amount_out) == (100_000, 60_000)
    named = decoded.accounts
    assert (named.lb_pair, named.oracle) == (SOL_PUMP.lb_pair, SOL_PUMP.oracle)
    assert (named.user_token_in, named.user, named.user_token_out) == (USER_IN, OWNER, USER_OUT)
    assert named.bin_arrays
    assert named.bin_arrays[0] in (SOL_PUMP.bin_array_1, SOL_PUMP.bin_array_2)
    assert all(a.is_writable for a in ix.accounts[SWAP_ACCOUNTS_LEN:])


async def test_meteora_refuses_more_than_its_bins_hold(node: FakeAccounts) -> None:
    put_meteora(node)
    with pytest.raises(ExecutionError) as caught:
        await MeteoraOnchain(node).quote(PUMP, SOL, 10**17)
    assert caught.value.code in ("INSUFFICIENT_LIQUIDITY", "NO_POOL")
    assert not caught.value.retryable
