"""Pools as real accounts over JSON-RPC, and real venue swap instructions checked and executed.

A client reads the pools the way a bot reads mainnet (getAccountInfo, getMultipleAccounts,
getProgramAccounts with the venues' own filters), builds the venues' real instructions with
the venue packages, and the simulator checks them as the programs do and executes them with
the venues' exact math against the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solana.rpc.async_api import AsyncClient
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount
from solders.transaction import Transaction

from oee.devtools.inloop import serving
from oee.domain.tokens import LAMPORTS_PER_SOL, resolve_token
from oee.settings import SimSettings
from oee.sim import SimLedger, SimWorld, build_sim
from oee.sim.app import create_sim_app, server_config
from oee.sim.faucet import fund
from oee.solana.spl import (
    WSOL_MINT,
    associated_token_address,
    create_ata_idempotent,
    sync_native,
    transfer_lamports,
)
from oee.venues.meteora import PROGRAM_ID as DLMM
from oee.venues.meteora import discovery as dlmm_discovery
from oee.venues.meteora.instructions import SwapAccounts as DlmmSwapAccounts
from oee.venues.meteora.instructions import swap_instruction
from oee.venues.meteora.layout import BIN_ARRAY, LB_PAIR
from oee.venues.meteora.quote import quote_exact_in
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.discovery import amm_authority, pool_filters
from oee.venues.raydium.instructions import SwapBaseInData, swap_accounts, swap_base_in
from oee.venues.raydium.layout import AMM_INFO, MARKET_STATE
from oee.venues.raydium.math import pool_reserves, quote_swap_base_in, swap_direction
from tests.support.fakes import FakeClock

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
MINT = {t.symbol: Pubkey.from_string(t.mint) for t in (SOL, USDC)}
SWAP_INDEX = 5  # limit, create wSOL, transfer, sync, create output, swap


@dataclass
class Node:
    clock: FakeClock
    world: SimWorld
    ledger: SimLedger
    http: httpx.AsyncClient
    keypair: Keypair

    async def reply(self, method: str, *params: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        response = await self.http.post("/", json=body)
        assert response.status_code == 200
        reply: dict[str, Any] = response.json()
        return reply

    async def result(self, method: str, *params: Any) -> Any:
        reply = await self.reply(method, *params)
        assert "error" not in reply, reply
        return reply["result"]

    async def data(self, address: Pubkey) -> bytes:
        value = (await self.result("getAccountInfo", str(address)))["value"]
        return base64.b64decode(value["data"][0])

    async def token_amount(self, address: Pubkey) -> int:
        return TokenAccount.from_bytes(await self.data(address)).amount

    @property
    def wallet(self) -> Pubkey:
        return self.keypair.pubkey()

    async def send(self, swap: Instruction, pay: str, receive: str, amount: int) -> str:
        """A transaction as the engine builds it: wrap SOL if paying it, create the output
        account, the swap; returns the signature (sent without preflight, as the engine does)."""
        wallet, wsol = self.wallet, associated_token_address(self.wallet, WSOL_MINT)
        instructions = [set_compute_unit_limit(300_000)]
        if pay == "SOL":
            instructions += [
                create_ata_idempotent(wallet, wallet, WSOL_MINT),
                transfer_lamports(wallet, wsol, amount),
                sync_native(wsol),
            ]
        instructions += [create_ata_idempotent(wallet, wallet, MINT[receive]), swap]
        blockhash = Hash.from_string(
            (await self.result("getLatestBlockhash"))["value"]["blockhash"]
        )
        tx = Transaction([self.keypair], Message(instructions, wallet), blockhash)
        raw = base64.b64encode(bytes(tx)).decode()
        return str(
            await self.result("sendTransaction", raw, {"encoding": "base64", "skipPreflight": True})
        )

    async def status(self, signature: str) -> Any:
        self.clock.t += 0.05
        return (await self.result("getSignatureStatuses", [signature]))["value"][0]


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    clock = FakeClock()
    sim = SimSettings(latency_scale=0.01, quote_latency_ms=0)
    world, ledger = build_sim(sim, now=clock)
    app = create_sim_app(world, ledger, sim)
    keypair = Keypair()
    fund(world, ledger, str(keypair.pubkey()), 1_000_000 * LAMPORTS_PER_SOL)
    # The wallet's wSOL account already exists, empty: a swap into SOL lands in it.
    ledger.airdrop(str(keypair.pubkey()), USDC.mint, 1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield Node(clock, world, ledger, http, keypair)


def pool_key(node: Node, venue: str) -> Pubkey:
    return Pubkey.from_string(node.world.pool(venue, SOL, USDC).address)


async def raydium_swap(
    node: Node, pay: str, receive: str, amount: int, min_out: int, **replace: Pubkey
) -> Instruction:
    """A real SwapBaseIn, its accounts read from the chain as a bot assembles them."""
    amm_id = pool_key(node, "raydium")
    amm = AMM_INFO.decode(await node.data(amm_id))
    market = MARKET_STATE.decode(await node.data(amm.market))
    accounts = swap_accounts(
        amm_id, amm, market,
        user_source=associated_token_address(node.wallet, MINT[pay]),
        user_destination=associated_token_address(node.wallet, MINT[receive]),
        user_owner=node.wallet,
    )  # fmt: skip
    if replace:
        from dataclasses import replace as with_fields

        accounts = with_fields(accounts, **replace)
    return swap_base_in(accounts, SwapBaseInData(amount, min_out))


async def dlmm_swap(
    node: Node,
    pay: str,
    receive: str,
    amount: int,
    min_out: int,
    *,
    arrays: int = 3,
    **replace: Pubkey,
) -> Instruction:
    """A real DLMM swap with the bin arrays it walks, read from the pair's bitmap."""
    key = pool_key(node, "meteora")
    pair = LB_PAIR.decode(await node.data(key))
    swap_for_y = MINT[pay] == pair.token_x_mint
    bin_arrays = dlmm_discovery.bin_array_addresses_for_swap(
        key, pair, swap_for_y=swap_for_y, count=arrays
    )
    accounts = DlmmSwapAccounts(
        lb_pair=key, reserve_x=pair.reserve_x, reserve_y=pair.reserve_y,
        user_token_in=associated_token_address(node.wallet, MINT[pay]),
        user_token_out=associated_token_address(node.wallet, MINT[receive]),
        token_x_mint=pair.token_x_mint, token_y_mint=pair.token_y_mint, oracle=pair.oracle,
        user=node.wallet, bin_arrays=tuple(bin_arrays),
    )  # fmt: skip
    if replace:
        from dataclasses import replace as with_fields

        accounts = with_fields(accounts, **replace)
    return swap_instruction(accounts, amount, min_out)


async def venue_quote(node: Node, venue: str, pay: str, amount: int) -> int:
    """The venue package's quote on the accounts the RPC serves."""
    key = pool_key(node, venue)
    if venue == "raydium":
        amm = AMM_INFO.decode(await node.data(key))
        reserves = pool_reserves(
            amm, await node.token_amount(amm.coin_vault), await node.token_amount(amm.pc_vault)
        )
        other = USDC if pay == "SOL" else SOL
        direction = swap_direction(amm, MINT[pay], Pubkey.from_string(other.mint))
        return quote_swap_base_in(amm.fees, reserves, direction, amount).amount_out
    pair = LB_PAIR.decode(await node.data(key))
    swap_for_y = MINT[pay] == pair.token_x_mint
    addresses = [dlmm_discovery.bin_array_address(key, i) for i in range(-512, 512)
                 if dlmm_discovery.bitmap_value(pair) >> (i + 512) & 1]  # fmt: skip
    values = (await node.result("getMultipleAccounts", [str(a) for a in addresses]))["value"]
    arrays = [BIN_ARRAY.decode(base64.b64decode(v["data"][0])) for v in values]
    quote = quote_exact_in(pair, arrays, amount, swap_for_y=swap_for_y, now=node.world.unix_time())
    return quote.amount_out


# -- reading accounts -----------------------------------------------------------------------


async def test_a_raydium_pool_is_an_amm_info_with_its_vaults_and_market(node: Node) -> None:
    key = pool_key(node, "raydium")
    value = (await node.result("getAccountInfo", str(key)))["value"]
    assert set(value) == {"data", "executable", "lamports", "owner", "rentEpoch", "space"}
    assert (value["owner"], value["space"], value["data"][1]) == (
        str(RAYDIUM_AMM_V4),
        752,
        "base64",
    )
    amm = AMM_INFO.decode(base64.b64decode(value["data"][0]))
    assert (amm.coin_vault_mint, amm.pc_vault_mint) == (MINT["SOL"], MINT["USDC"])
    authority = Pubkey.from_string("5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1")
    assert amm_authority()[0] == authority
    for vault in (amm.coin_vault, amm.pc_vault):
        account = TokenAccount.from_bytes(await node.data(vault))
        assert account.owner == authority
    reserves = (await node.token_amount(amm.coin_vault), await node.token_amount(amm.pc_vault))
    assert reserves == node.world.pool("raydium", SOL, USDC).reserves()
    market = (await node.result("getAccountInfo", str(amm.market)))["value"]
    assert (market["owner"], market["space"]) == (
        "srmqPvymJeFKQ4zGQed1GFppgkRHL9kaELCbyksJtPX",
        388,
    )
    state = MARKET_STATE.decode(base64.b64decode(market["data"][0]))
    keys = [
        state.bids,
        state.asks,
        state.event_q,
        state.coin_vault,
        state.pc_vault,
        amm.open_orders,
        amm.target_orders,
        amm.lp_mint,
    ]
    found = (await node.result("getMultipleAccounts", [str(k) for k in keys]))["value"]
    assert all(account is not None for account in found)


async def test_account_reads_take_agave_options_and_refuse_as_agave(node: Node) -> None:
    key = str(pool_key(node, "meteora"))
    sliced = (
        await node.result(
            "getAccountInfo", key, {"encoding": "base64", "dataSlice": {"offset": 88, "length": 32}}
        )
    )["value"]
    assert base64.b64decode(sliced["data"][0]) == bytes(MINT["SOL"])  # token X at offset 88
    assert sliced["space"] == 904
    small = (
        await node.result(
            "getAccountInfo", key, {"encoding": "base58", "dataSlice": {"offset": 0, "length": 8}}
        )
    )["value"]
    assert small["data"][1] == "base58"
    too_big = await node.reply("getAccountInfo", key, {"encoding": "base58"})
    assert too_big["error"]["code"] == -32600
    assert (await node.reply("getAccountInfo", key, {"encoding": "base64+zstd"}))["error"][
        "code"
    ] == -32602
    missing = await node.result(
        "getAccountInfo", str(Pubkey.new_unique()), {"commitment": "confirmed"}
    )
    assert missing["value"] is None
    assert (await node.reply("getAccountInfo", "not-a-key"))["error"]["code"] == -32602
    future = await node.reply("getAccountInfo", key, {"minContextSlot": 10**12})
    assert future["error"]["code"] == -32016
    many = await node.reply("getMultipleAccounts", [key] * 101)
    assert many["error"] == {"code": -32602, "message": "Too many inputs provided; max 100"}
    both = (await node.result("getMultipleAccounts", [key, str(Pubkey.new_unique())]))["value"]
    assert both[0]["owner"] == str(DLMM)
    assert both[1] is None


async def test_program_accounts_find_pools_by_the_venues_own_filters(node: Node) -> None:
    found = await node.result(
        "getProgramAccounts", str(RAYDIUM_AMM_V4),
        {"encoding": "base64", "filters": pool_filters(MINT["SOL"], MINT["USDC"])},
    )  # fmt: skip
    assert [entry["pubkey"] for entry in found] == [str(pool_key(node, "raydium"))]
    pairs = await node.result(
        "getProgramAccounts", str(DLMM),
        {"filters": dlmm_discovery.pair_filters_for_mints(MINT["SOL"], MINT["USDC"]), "withContext": True},
    )  # fmt: skip
    assert [entry["pubkey"] for entry in pairs["value"]] == [str(pool_key(node, "meteora"))]
    assert pairs["context"]["slot"] > 0
    usdc_b64 = base64.b64encode(bytes(MINT["USDC"])).decode()
    by_y = await node.result(
        "getProgramAccounts", str(DLMM),
        {"filters": [{"dataSize": 904}, {"memcmp": {"offset": 120, "bytes": usdc_b64, "encoding": "base64"}}],
         "dataSlice": {"offset": 0, "length": 0}},
    )  # fmt: skip
    assert [entry["pubkey"] for entry in by_y] == [str(pool_key(node, "meteora"))]  # SOL/USDC
    assert all(entry["account"]["data"] == ["", "base64"] for entry in by_y)
    bad = await node.reply(
        "getProgramAccounts", str(DLMM), {"filters": [{"memcmp": {"offset": 0, "bytes": "0OIl"}}]}
    )
    assert bad["error"]["code"] == -32602


async def test_recent_prioritization_fees_are_mainnet_shaped_and_reproducible(node: Node) -> None:
    fees = await node.result("getRecentPrioritizationFees")
    assert len(fees) == 150
    assert [f["slot"] for f in fees] == sorted(f["slot"] for f in fees)
    values = sorted(f["prioritizationFee"] for f in fees)
    assert values[len(values) // 2] < 20_000 < values[-1]  # mostly small, with spikes
    pool = str(pool_key(node, "raydium"))
    assert await node.result("getRecentPrioritizationFees", [pool]) == await node.result(
        "getRecentPrioritizationFees", [pool]
    )
    assert (await node.reply("getRecentPrioritizationFees", [pool] * 129))["error"][
        "code"
    ] == -32602


async def test_solana_py_reads_a_pool_account() -> None:
    clock = FakeClock()
    sim = SimSettings(latency_scale=0.01, quote_latency_ms=0)
    world, ledger = build_sim(sim, now=clock)
    async with serving(create_sim_app(world, ledger, sim), config=server_config) as port:
        client = AsyncClient(f"http://127.0.0.1:{port}")
        try:
            key = Pubkey.from_string(world.pool("meteora", SOL, USDC).address)
            info = (await client.get_account_info(key)).value
        finally:
            await client.close()
    assert info is not None
    assert info.owner == DLMM
    assert LB_PAIR.decode(bytes(info.data)).token_y_mint == MINT["USDC"]


# -- real swap instructions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("venue", "pay", "receive"),
    [
        ("raydium", "SOL", "USDC"),
        ("raydium", "USDC", "SOL"),
        ("meteora", "SOL", "USDC"),
        ("meteora", "USDC", "SOL"),
    ],
)
async def test_a_real_swap_instruction_lands_with_the_venues_logs(
    node: Node, venue: str, pay: str, receive: str
) -> None:
    amount = 2 * LAMPORTS_PER_SOL if pay == "SOL" else 300 * 10**6
    expected = await venue_quote(node, venue, pay, amount)
    build = raydium_swap if venue == "raydium" else dlmm_swap
    signature = await node.send(
        await build(node, pay, receive, amount, expected), pay, receive, amount
    )
    status = await node.status(signature)
    assert status["err"] is None, status
    (landed,) = node.ledger.landed_swaps()
    assert (landed.venue, landed.amount_in, landed.amount_out) == (venue, amount, expected)
    tx = await node.result(
        "getTransaction", signature, {"commitment": "confirmed", "encoding": "base64"}
    )
    logs = tx["meta"]["logMessages"]
    marker = "Program log: ray_log: " if venue == "raydium" else "Program log: Instruction: Swap"
    assert any(line.startswith(marker) for line in logs)
    assert tx["meta"]["computeUnitsConsumed"] > 40_000


async def test_the_program_refuses_wrong_accounts_with_its_own_errors(node: Node) -> None:
    amount = LAMPORTS_PER_SOL
    wrong_vault = await raydium_swap(
        node, "SOL", "USDC", amount, 1, amm_pc_vault=Pubkey.new_unique()
    )
    signature = await node.send(wrong_vault, "SOL", "USDC", amount)
    assert (await node.status(signature))["err"] == {
        "InstructionError": [SWAP_INDEX, {"Custom": 5}]
    }  # InvalidPCVault
    wrong_authority = await raydium_swap(
        node, "SOL", "USDC", amount, 1, amm_authority=Pubkey.new_unique()
    )
    signature = await node.send(wrong_authority, "SOL", "USDC", amount)
    assert (await node.status(signature))["err"] == {
        "InstructionError": [SWAP_INDEX, {"Custom": 1}]
    }
    wrong_pool = await raydium_swap(node, "SOL", "USDC", amount, 1, amm=Pubkey.new_unique())
    signature = await node.send(wrong_pool, "SOL", "USDC", amount)
    assert (await node.status(signature))["err"] == {
        "InstructionError": [SWAP_INDEX, {"Custom": 27}]
    }
    wrong_reserve = await dlmm_swap(node, "SOL", "USDC", amount, 1, reserve_x=Pubkey.new_unique())
    signature = await node.send(wrong_reserve, "SOL", "USDC", amount)
    assert (await node.status(signature))["err"] == {
        "InstructionError": [SWAP_INDEX, {"Custom": 2001}]
    }  # ConstraintHasOne
    tx = await node.result("getTransaction", signature, {"commitment": "confirmed"})
    assert any("ConstraintHasOne" in line for line in tx["meta"]["logMessages"])
    # A swap that lists none of the bin arrays it walks: the program's BinArrayNotFound.
    no_arrays = await dlmm_swap(node, "SOL", "USDC", amount, 1, arrays=0)
    signature = await node.send(no_arrays, "SOL", "USDC", amount)
    assert (await node.status(signature))["err"] == {
        "InstructionError": [SWAP_INDEX, {"Custom": 6009}]
    }
    assert node.ledger.landed_swaps() == []


@pytest.mark.parametrize(("venue", "code"), [("raydium", 30), ("meteora", 6003)])
async def test_a_real_swap_below_its_minimum_fails_with_the_venues_slippage_error(
    node: Node, venue: str, code: int
) -> None:
    amount = LAMPORTS_PER_SOL
    expected = await venue_quote(node, venue, "SOL", amount)
    build = raydium_swap if venue == "raydium" else dlmm_swap
    before = node.world.pool(venue, SOL, USDC).reserves()
    signature = await node.send(
        await build(node, "SOL", "USDC", amount, expected + 1), "SOL", "USDC", amount
    )
    assert (await node.status(signature))["err"] == {
        "InstructionError": [SWAP_INDEX, {"Custom": code}]
    }
    status = node.ledger.signature_status(signature)
    assert status is not None
    assert status.error_code == "SLIPPAGE_EXCEEDED"
    assert node.world.pool(venue, SOL, USDC).reserves() == before


# -- what is quoted is what executes -------------------------------------------------------


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    venue=st.sampled_from(["raydium", "meteora"]),
    sell_sol=st.booleans(),
    units=st.integers(min_value=1_000, max_value=10**11),
)
async def test_the_venue_quote_on_served_accounts_is_what_executes(
    node: Node, venue: str, sell_sol: bool, units: int
) -> None:
    pay, receive = ("SOL", "USDC") if sell_sol else ("USDC", "SOL")
    amount = units if sell_sol else units // 100  # USDC has 6 decimals to SOL's 9
    expected = await venue_quote(node, venue, pay, amount)
    build = raydium_swap if venue == "raydium" else dlmm_swap
    signature = await node.send(
        await build(node, pay, receive, amount, expected), pay, receive, amount
    )
    status = await node.status(signature)
    assert status["err"] is None, status
    landed = node.ledger.landed_swaps()[-1]
    assert (landed.signature, landed.amount_out) == (signature, expected)


# -- launches -------------------------------------------------------------------------------


async def test_a_launch_takes_a_chosen_mint_once_per_venue(node: Node) -> None:
    mint = str(Pubkey.new_unique())
    body = {"symbol": "MOON", "decimals": 6, "venues": ["raydium", "meteora"], "mint": mint}
    launched = await node.http.post("/admin/pools", json=body)
    assert launched.status_code == 201
    assert launched.json()["mint"] == mint
    again = await node.http.post("/admin/pools", json={**body, "symbol": "MOON2"})
    assert again.status_code == 409
    assert again.json()["error"] == "POOL_EXISTS"
    bad = await node.http.post("/admin/pools", json={**body, "symbol": "X", "mint": "nope"})
    assert (bad.status_code, bad.json()["error"]) == (400, "INVALID_MINT")
    taken = await node.http.post(
        "/admin/pools", json={"symbol": "Y", "decimals": 6, "mint": USDC.mint}
    )
    assert (taken.status_code, taken.json()["error"]) == (409, "POOL_EXISTS")
    for pool in launched.json()["pools"]:
        account = (await node.result("getAccountInfo", pool["address"]))["value"]
        assert account["owner"] == pool["programId"]
        tx = await node.result("getTransaction", pool["signature"], {"commitment": "confirmed"})
        assert tx["meta"]["err"] is None
        program = tx["transaction"]["message"]["accountKeys"][
            tx["transaction"]["message"]["instructions"][1]["programIdIndex"]
        ]
        assert program == pool["programId"]
