"""The simulator's Solana JSON-RPC, through the real ASGI app.

Shapes are checked by parsing every answer with solders' own RPC response types (the serde
structs of the Rust client), a real Solana client (solana-py's `AsyncClient`) talks to the app
served by uvicorn on a socket, and `RpcChain` is driven against both.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc import errors as E
from solders.rpc import responses as R
from solders.signature import Signature

from oee.adapters.chain.rpc import RpcChain
from oee.adapters.chain.rpc_transport import InProcessTransport
from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.adapters.http1 import Http1Client
from oee.devtools.inloop import serving
from oee.domain.errors import ExecutionError
from oee.domain.orders import SignedSwap
from oee.domain.ports import Blockhash, TxState
from oee.domain.tokens import LAMPORTS_PER_SOL, Token, resolve_token
from oee.settings import SimSettings
from oee.sim import SimLedger, SimWorld, build_sim
from oee.sim.app import create_sim_app, server_config
from oee.sim.faucet import fund
from oee.sim.ledger import NATIVE_MINT
from tests.support.fakes import FakeClock
from tests.support.swaps import SimSwaps, with_amounts

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
AMOUNT = 1_500_000_000
SWAP_INDEX = 6  # paying SOL: 2 compute budget, create wSOL, transfer, sync, create USDC, swap
SLIPPAGE_CODES = {"raydium": 30, "meteora": 6003}
# latency_scale 0.01 on a fake clock: blocks of 4 ms, landings 20-30 ms after a send.
LANDED_S, EXPIRED_S = 0.05, 1.0


@dataclass
class Node:
    clock: FakeClock
    world: SimWorld
    ledger: SimLedger
    app: Any
    http: httpx.AsyncClient
    builder: SwapTransactionBuilder

    async def call(self, method: str, *params: Any) -> str:
        body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}
        response = await self.http.post("/", json=body)
        assert response.status_code == 200
        return response.text

    async def result(self, method: str, *params: Any) -> Any:
        reply = json.loads(await self.call(method, *params))
        assert "error" not in reply, reply
        return reply["result"]

    async def blockhash(self) -> Blockhash:
        value = (await self.result("getLatestBlockhash"))["value"]
        return Blockhash(value["blockhash"], value["lastValidBlockHeight"])

    async def swap(
        self,
        venue: str = "raydium",
        *,
        min_out: int | None = None,
        pair: tuple[Token, Token] = (SOL, USDC),
        amount: int = AMOUNT,
    ) -> SignedSwap:
        quote = self.world.quote(venue, *pair, amount)
        return SimSwaps(self.world, self.ledger).signed(
            self.builder, venue, *pair, amount,
            quote.amount_out if min_out is None else min_out,
            await self.blockhash(), memo="order/1",
        )  # fmt: skip

    def reserves(self, venue: str) -> tuple[int, int]:
        return self.world.pool(venue, SOL, USDC).reserves()


def make_node(**settings: Any) -> tuple[FakeClock, SimWorld, SimLedger, Any]:
    clock = FakeClock()
    sim = SimSettings(latency_scale=0.01, quote_latency_ms=0, **settings)
    world, ledger = build_sim(sim, now=clock)
    return clock, world, ledger, create_sim_app(world, ledger, sim)


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    clock, world, ledger, app = make_node()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        builder = SwapTransactionBuilder(Keypair())
        fund(world, ledger, str(builder.wallet), 1_000_000 * LAMPORTS_PER_SOL)
        yield Node(clock, world, ledger, app, http, builder)


def send_params(swap: SignedSwap, **config: Any) -> tuple[str, dict[str, Any]]:
    return swap.raw_tx, {"encoding": "base64", **config}


def tampered(raw_tx: str) -> str:
    raw = bytearray(base64.b64decode(raw_tx))
    raw[-1] ^= 0x01  # the memo's last byte: the signature no longer matches the message
    return base64.b64encode(bytes(raw)).decode()


# -- shapes ---------------------------------------------------------------------------------


async def test_blockhash_heights_and_node_info_parse_as_real_responses(node: Node) -> None:
    latest = R.GetLatestBlockhashResp.from_json(await node.call("getLatestBlockhash"))
    height = R.GetBlockHeightResp.from_json(await node.call("getBlockHeight")).value
    slot = R.GetSlotResp.from_json(await node.call("getSlot")).value
    assert latest.value.last_valid_block_height == height + 150
    assert slot > height  # slots run ahead of block heights
    assert latest.context.slot == slot
    valid = R.IsBlockhashValidResp.from_json(
        await node.call("isBlockhashValid", str(latest.value.blockhash))
    )
    assert valid.value is True
    assert R.GetHealthResp.from_json(await node.call("getHealth")).value == "ok"
    assert R.GetVersionResp.from_json(await node.call("getVersion")).value.solana_core
    genesis = R.GetGenesisHashResp.from_json(await node.call("getGenesisHash")).value
    assert str(genesis) == await node.result("getGenesisHash")


async def test_a_landed_swap_is_reported_with_its_amounts(node: Node) -> None:
    swap = await node.swap()
    sent = R.SendTransactionResp.from_json(await node.call("sendTransaction", *send_params(swap)))
    assert str(sent.value) == swap.signature
    in_flight = await node.call("getSignatureStatuses", [swap.signature])
    assert R.GetSignatureStatusesResp.from_json(in_flight).value == [None]
    assert await node.result("getTransaction", swap.signature, {"commitment": "confirmed"}) is None

    node.clock.t += LANDED_S
    (landed,) = node.ledger.landed_swaps()
    (audited,) = (await node.http.get("/admin/swaps")).json()
    assert (audited["signature"], audited["amount_out"]) == (swap.signature, landed.amount_out)
    status = R.GetSignatureStatusesResp.from_json(
        await node.call("getSignatureStatuses", [swap.signature])
    ).value[0]
    assert status is not None
    assert (status.err, str(status.confirmation_status)) == (
        None,
        "TransactionConfirmationStatus.Confirmed",
    )
    config = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}
    for encoding in ("json", "base64", "base58"):
        text = await node.call("getTransaction", swap.signature, {**config, "encoding": encoding})
        tx = R.GetTransactionResp.from_json(text).value
        assert tx is not None
        meta = tx.transaction.meta
        assert meta is not None
        assert (meta.err, meta.fee) == (None, landed.fee_lamports)
        wallet = node.builder.wallet  # the pool's vaults are token accounts of the swap too
        pre = {str(b.mint): int(b.ui_token_amount.amount) for b in meta.pre_token_balances
               if b.owner == wallet}  # fmt: skip
        post = {str(b.mint): int(b.ui_token_amount.amount) for b in meta.post_token_balances
                if b.owner == wallet}  # fmt: skip
        assert post[USDC.mint] - pre.get(USDC.mint, 0) == landed.amount_out
        assert SOL.mint not in post  # the wSOL account was opened and closed in the swap
        # The SOL paid: exactly the amount and the fee (the wSOL account's rent came back).
        assert meta.pre_balances[0] - meta.post_balances[0] == AMOUNT + landed.fee_lamports
        assert any("success" in line for line in meta.log_messages)
    assert await node.result("getTransaction", swap.signature) is None  # not finalized yet

    node.clock.t += 40 * 0.004  # 32+ blocks later the landing block is rooted
    final = await node.result("getSignatureStatuses", [swap.signature])
    assert final["value"][0]["confirmationStatus"] == "finalized"
    assert final["value"][0]["confirmations"] is None
    assert await node.result("getTransaction", swap.signature) is not None


async def test_base58_wire_transactions_are_accepted(node: Node) -> None:
    swap = await node.swap()
    raw = base64.b64decode(swap.raw_tx)
    from oee.solana.base58 import b58encode

    text = await node.call("sendTransaction", b58encode(raw))  # base58 is the default encoding
    assert str(R.SendTransactionResp.from_json(text).value) == swap.signature


async def test_a_resent_transaction_executes_once(node: Node) -> None:
    swap = await node.swap()
    for skip in (False, True, False):
        assert await node.result("sendTransaction", *send_params(swap, skipPreflight=skip)) == (
            swap.signature
        )
    node.clock.t += LANDED_S
    assert len(node.ledger.landed_swaps()) == 1
    # Landed: without preflight the node takes it and nothing happens; with it, AlreadyProcessed.
    again = await node.result("sendTransaction", *send_params(swap, skipPreflight=True))
    assert again == swap.signature
    refused = R.SendTransactionResp.from_json(
        await node.call("sendTransaction", *send_params(swap))
    )
    assert isinstance(refused, E.SendTransactionPreflightFailureMessage)
    assert str(refused.data.err) == "TransactionErrorFieldless.AlreadyProcessed"
    node.clock.t += LANDED_S
    assert len(node.ledger.landed_swaps()) == 1


async def test_an_expired_blockhash_is_refused_or_never_lands(node: Node) -> None:
    swap = await node.swap()
    node.clock.t += EXPIRED_S
    refused = R.SendTransactionResp.from_json(
        await node.call("sendTransaction", *send_params(swap))
    )
    assert isinstance(refused, E.SendTransactionPreflightFailureMessage)
    assert refused.message == "Transaction simulation failed: Blockhash not found"
    assert str(refused.data.err) == "TransactionErrorFieldless.BlockhashNotFound"
    # Without preflight a node forwards it and the leader drops it: a signature, then nothing.
    sent = await node.result("sendTransaction", *send_params(swap, skipPreflight=True))
    assert sent == swap.signature
    node.clock.t += LANDED_S
    statuses = await node.result(
        "getSignatureStatuses", [swap.signature], {"searchTransactionHistory": True}
    )
    assert statuses["value"] == [None]
    assert node.ledger.landed_swaps() == []


@pytest.mark.parametrize("venue", ["raydium", "meteora"])
async def test_slippage_fails_with_the_program_error_and_leaves_the_pool(
    node: Node, venue: str
) -> None:
    swap = await node.swap(venue, min_out=10**15)
    before = node.reserves(venue)
    code = SLIPPAGE_CODES[venue]
    expected = {"InstructionError": [SWAP_INDEX, {"Custom": code}]}

    refused = json.loads(await node.call("sendTransaction", *send_params(swap)))["error"]
    assert refused["code"] == -32002
    assert refused["message"].endswith(f"custom program error: {code:#x}")
    assert refused["data"]["err"] == expected
    assert refused["data"]["logs"][-1].endswith(f"failed: custom program error: {code:#x}")
    assert isinstance(
        R.SendTransactionResp.from_json(json.dumps({"jsonrpc": "2.0", "error": refused, "id": 1})),
        E.SendTransactionPreflightFailureMessage,
    )

    await node.result("sendTransaction", *send_params(swap, skipPreflight=True))
    node.clock.t += LANDED_S
    status = (await node.result("getSignatureStatuses", [swap.signature]))["value"][0]
    assert (status["err"], status["status"]) == (expected, {"Err": expected})
    tx = await node.result("getTransaction", swap.signature, {"commitment": "confirmed"})
    assert tx["meta"]["err"] == expected
    assert tx["meta"]["fee"] > 0
    assert node.reserves(venue) == before
    assert node.ledger.landed_swaps() == []


async def test_simulate_runs_the_swap_without_landing_it(node: Node) -> None:
    swap = await node.swap("meteora")
    before = node.reserves("meteora")
    text = await node.call("simulateTransaction", swap.raw_tx, {"encoding": "base64"})
    result = R.SimulateTransactionResp.from_json(text).value
    assert result.err is None
    assert result.units_consumed
    assert "Program log: Instruction: Swap" in result.logs  # the DLMM program's own log
    assert result.units_consumed > 60_000  # the swap's model figure plus the token programs'

    too_greedy = await node.swap("meteora", min_out=10**15)
    failed = await node.result("simulateTransaction", too_greedy.raw_tx, {"encoding": "base64"})
    assert failed["value"]["err"] == {"InstructionError": [SWAP_INDEX, {"Custom": 6003}]}
    assert any("AnchorError" in line for line in failed["value"]["logs"])

    node.clock.t += EXPIRED_S
    stale = await node.result("simulateTransaction", swap.raw_tx, {"encoding": "base64"})
    assert stale["value"]["err"] == "BlockhashNotFound"
    replaced = await node.result(
        "simulateTransaction", swap.raw_tx, {"encoding": "base64", "replaceRecentBlockhash": True}
    )
    assert replaced["value"]["err"] is None
    assert replaced["value"]["replacementBlockhash"]["lastValidBlockHeight"] > 0

    node.clock.t += LANDED_S
    assert node.ledger.landed_swaps() == []
    assert node.reserves("meteora") == before


async def test_a_swap_larger_than_the_bins_fails(node: Node) -> None:
    swaps = SimSwaps(node.world, node.ledger)
    fits = swaps.instruction("meteora", SOL, USDC, node.builder.wallet, AMOUNT, 1)
    big = 10**14  # 100,000 SOL, beyond every bin of a pool of a few million USD a side
    oversize = swaps.signed(
        node.builder, "meteora", SOL, USDC, big, 1, await node.blockhash(),
        swap=with_amounts(fits, big, 1),
    )  # fmt: skip
    refused = json.loads(await node.call("sendTransaction", *send_params(oversize)))["error"]
    assert refused["code"] == -32002
    # DLMM's PairInsufficientLiquidity (6012 = 0x177c)
    assert refused["data"]["err"] == {"InstructionError": [SWAP_INDEX, {"Custom": 6012}]}
    assert refused["message"].endswith("custom program error: 0x177c")
    # Sent anyway, it lands as a failed transaction (fee paid, pool untouched).
    before = node.reserves("meteora")
    await node.result("sendTransaction", *send_params(oversize, skipPreflight=True))
    node.clock.t += LANDED_S
    status = (await node.result("getSignatureStatuses", [oversize.signature]))["value"][0]
    assert status["err"] == {"InstructionError": [SWAP_INDEX, {"Custom": 6012}]}
    assert node.reserves("meteora") == before


async def test_a_bad_signature_is_refused_by_preflight(node: Node) -> None:
    bad = tampered((await node.swap()).raw_tx)
    text = await node.call("sendTransaction", bad, {"encoding": "base64"})
    assert (
        R.SendTransactionResp.from_json(text)
        == E.RpcCustomErrorFieldless.TransactionSignatureVerificationFailure
    )
    verify = await node.call("simulateTransaction", bad, {"encoding": "base64", "sigVerify": True})
    assert json.loads(verify)["error"]["code"] == -32003


async def test_protocol_errors_follow_json_rpc(node: Node) -> None:
    garbage = await node.http.post("/", content=b"{not json")
    assert json.loads(garbage.text) == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error"},
        "id": None,
    }
    assert isinstance(
        R.GetSlotResp.from_json(await node.call("getNothing")), E.MethodNotFoundMessage
    )
    assert isinstance(
        R.GetBalanceResp.from_json(await node.call("getBalance", "nope")), E.InvalidParamsMessage
    )
    undecodable = await node.call("sendTransaction", "AAAA", {"encoding": "base64"})
    assert isinstance(R.SendTransactionResp.from_json(undecodable), E.InvalidParamsMessage)
    invalid = await node.http.post("/", json={"id": 1, "method": "getSlot"})
    assert invalid.json()["error"]["code"] == -32600
    assert (await node.http.post("/", json=[])).json()["error"]["code"] == -32600
    notification = await node.http.post("/", json={"jsonrpc": "2.0", "method": "getSlot"})
    assert notification.content == b""
    too_many = await node.call("getSignatureStatuses", [str(Signature.default())] * 257)
    assert json.loads(too_many)["error"]["code"] == -32602

    batch = await node.http.post(
        "/",
        json=[
            {"jsonrpc": "2.0", "id": 1, "method": "getBlockHeight"},
            {"jsonrpc": "2.0", "method": "getSlot"},  # a notification: no answer
            {"jsonrpc": "2.0", "id": 2, "method": "nope"},
            {"jsonrpc": "2.0", "id": 3, "method": "getHealth"},
        ],
    )
    replies = batch.json()
    assert [r["id"] for r in replies] == [1, 2, 3]
    assert replies[1]["error"]["code"] == -32601
    assert replies[2]["result"] == "ok"


async def test_statuses_older_than_the_cache_need_history_search(node: Node) -> None:
    swap = await node.swap()
    await node.result("sendTransaction", *send_params(swap))
    node.clock.t += 400 * 0.004  # 400 blocks: past the 300-block status cache
    recent = await node.result("getSignatureStatuses", [swap.signature])
    history = await node.result(
        "getSignatureStatuses", [swap.signature], {"searchTransactionHistory": True}
    )
    assert recent["value"] == [None]
    assert history["value"][0]["confirmationStatus"] == "finalized"


async def test_balances_follow_airdrops_and_swaps(node: Node) -> None:
    node.builder = SwapTransactionBuilder(Keypair())
    wallet = str(node.builder.wallet)
    funded = await node.http.post("/admin/airdrop", json={"owner": wallet, "amount": 5 * AMOUNT})
    assert funded.status_code == 200
    assert R.GetBalanceResp.from_json(await node.call("getBalance", wallet)).value == 5 * AMOUNT
    assert await node.result("getTokenAccountsByOwner", wallet, {"programId": str(TOKEN)}) == {
        "context": ANY,
        "value": [],
    }

    swap = await node.swap()
    await node.result("sendTransaction", *send_params(swap))
    node.clock.t += LANDED_S
    (landed,) = node.ledger.landed_swaps()

    # Paid: the SOL swapped, the fee and the rent of the new USDC account.
    lamports = await node.result("getBalance", wallet)
    rent = 2_039_280
    assert lamports["value"] == 5 * AMOUNT - AMOUNT - landed.fee_lamports - rent
    accounts = R.GetTokenAccountsByOwnerResp.from_json(
        await node.call(
            "getTokenAccountsByOwner", wallet, {"programId": str(TOKEN)}, {"encoding": "base64"}
        )
    ).value
    assert len(accounts) == 1  # USDC; the wSOL account was closed
    parsed = R.GetTokenAccountsByOwnerJsonParsedResp.from_json(
        await node.call(
            "getTokenAccountsByOwner", wallet, {"mint": USDC.mint}, {"encoding": "jsonParsed"}
        )
    ).value
    (usdc,) = parsed
    assert usdc.account.data.parsed["info"]["tokenAmount"]["amount"] == str(landed.amount_out)
    balance = R.GetTokenAccountBalanceResp.from_json(
        await node.call("getTokenAccountBalance", str(usdc.pubkey))
    ).value
    assert (int(balance.amount), balance.decimals) == (landed.amount_out, 6)
    unknown = await node.call("getTokenAccountBalance", str(Pubkey.new_unique()))
    assert json.loads(unknown)["error"]["code"] == -32602
    assert node.ledger.balances(wallet) == {
        NATIVE_MINT: lamports["value"],
        USDC.mint: landed.amount_out,
    }


async def test_a_swap_the_wallet_cannot_pay_fails_and_moves_nothing_but_the_fee(
    node: Node,
) -> None:
    node.builder = SwapTransactionBuilder(Keypair())
    wallet = str(node.builder.wallet)
    await node.http.post("/admin/airdrop", json={"owner": wallet, "amount": AMOUNT // 2})
    swap = await node.swap()
    refused = json.loads(await node.call("sendTransaction", *send_params(swap)))["error"]
    assert refused["code"] == -32002
    # The System program's transfer into the wSOL account: ResultWithNegativeLamports.
    assert refused["data"]["err"] == {"InstructionError": [3, {"Custom": 1}]}
    before = node.reserves("raydium")
    await node.result("sendTransaction", *send_params(swap, skipPreflight=True))
    node.clock.t += LANDED_S
    status = (await node.result("getSignatureStatuses", [swap.signature]))["value"][0]
    assert status["err"] == {"InstructionError": [3, {"Custom": 1}]}
    tx = await node.result("getTransaction", swap.signature, {"commitment": "confirmed"})
    assert tx["meta"]["preBalances"][0] - tx["meta"]["postBalances"][0] == tx["meta"]["fee"]
    assert node.ledger.balances(wallet) == {NATIVE_MINT: AMOUNT // 2 - tx["meta"]["fee"]}
    assert node.reserves("raydium") == before
    assert node.ledger.landed_swaps() == []


async def test_request_airdrop_funds_sol_and_the_faucet_grants_tokens_once(node: Node) -> None:
    wallet = str(Pubkey.new_unique())
    signature = await node.result("requestAirdrop", wallet, 2 * LAMPORTS_PER_SOL)
    assert isinstance(signature, str)
    assert len(signature) > 80
    statuses = await node.result("getSignatureStatuses", [signature])
    assert statuses["value"][0]["err"] is None  # confirmable, as solana-py's client expects
    first = node.ledger.balances(wallet)
    assert first[NATIVE_MINT] == 2 * LAMPORTS_PER_SOL
    assert first[USDC.mint] == 10_000_000 * 10**6  # the faucet's starter grant
    await node.result("requestAirdrop", wallet, LAMPORTS_PER_SOL)
    again = node.ledger.balances(wallet)
    assert again[NATIVE_MINT] == 3 * LAMPORTS_PER_SOL
    assert again[USDC.mint] == first[USDC.mint]  # tokens only the first time
    bad = json.loads(await node.call("requestAirdrop", wallet, -5))
    assert bad["error"]["code"] == -32602
    too_much = json.loads(await node.call("requestAirdrop", wallet, 2**64 - 1))
    assert too_much["error"]["code"] == -32602  # the balance would pass 2^64-1
    assert node.ledger.balances(wallet)[NATIVE_MINT] == 3 * LAMPORTS_PER_SOL


async def test_an_airdrop_to_an_account_with_data_credits_lamports_only(node: Node) -> None:
    await node.http.post("/admin/airdrop", json={"owner": USDC.mint, "amount": 1})
    assert node.ledger.decimals(USDC.mint) == 6  # still the mint it was
    wallet = str(node.builder.wallet)
    (account, _, held) = next(a for a in node.ledger.token_accounts(wallet) if a[1] == USDC.mint)
    await node.http.post("/admin/airdrop", json={"owner": account, "amount": 1})
    assert node.ledger.token_account(account) == (wallet, USDC.mint, held)
    overflow = await node.http.post(
        "/admin/airdrop", json={"owner": wallet, "mint": USDC.mint, "amount": 2**64 - 1}
    )
    assert (overflow.status_code, overflow.json()["error"]) == (400, "BAD_REQUEST")


async def test_admin_airdrop_checks_its_input(node: Node) -> None:
    for body in ({"owner": "nope", "amount": 1}, {"owner": str(Pubkey.new_unique()), "amount": -1}):
        response = await node.http.post("/admin/airdrop", json=body)
        assert (response.status_code, response.json()["error"]) == (400, "BAD_REQUEST")
    assert (await node.http.get("/health")).text == "ok"


TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


# -- a real Solana client over a socket ------------------------------------------------------


async def test_solana_py_client_works_unchanged(node: Node) -> None:
    async with serving(node.app, config=server_config) as port:
        url = f"http://127.0.0.1:{port}"
        client = AsyncClient(url, commitment=Confirmed)
        try:
            latest = (await client.get_latest_blockhash()).value
            height = (await client.get_block_height()).value
            assert latest.last_valid_block_height == height + 150
            swap = SimSwaps(node.world, node.ledger).signed(
                node.builder, "raydium", SOL, USDC, AMOUNT, 1,
                Blockhash(str(latest.blockhash), latest.last_valid_block_height),
            )  # fmt: skip
            raw = base64.b64decode(swap.raw_tx)
            sent = await client.send_raw_transaction(raw, TxOpts(skip_preflight=False))
            assert str(sent.value) == swap.signature
            node.clock.t += LANDED_S
            status = (await client.get_signature_statuses([sent.value])).value[0]
            assert status is not None
            assert status.err is None
            tx = await client.get_transaction(sent.value, "json", Confirmed, 0)
            assert tx.value is not None
            assert tx.value.transaction.meta is not None
            assert tx.value.transaction.meta.err is None
            with pytest.raises(RPCException):
                await client.send_raw_transaction(raw, TxOpts(skip_preflight=False))  # processed
        finally:
            await client.close()


# -- RpcChain --------------------------------------------------------------------------------


async def test_rpc_chain_follows_a_swap_to_its_landed_amounts(node: Node) -> None:
    chain = RpcChain(node.http, "http://sim/")
    blockhash = await chain.latest_blockhash()
    assert blockhash.last_valid_block_height == await chain.block_height() + 150
    swap = await node.swap()
    assert await chain.send_transaction(swap.raw_tx) == swap.signature
    assert await chain.send_transaction(swap.raw_tx) == swap.signature
    assert await chain.signature_status(swap.signature) is None
    node.clock.t += LANDED_S
    status = await chain.signature_status(swap.signature)
    (landed,) = node.ledger.landed_swaps()
    assert status is not None
    assert (status.state, status.amount_out, status.fee_lamports) == (
        TxState.LANDED,
        landed.amount_out,
        landed.fee_lamports,
    )


async def test_rpc_chain_reads_sol_received_from_lamports_after_the_unwrap(node: Node) -> None:
    chain = RpcChain(node.http, "http://sim/")
    swap = await node.swap("meteora", pair=(USDC, SOL), amount=300 * 10**6)
    await chain.send_transaction(swap.raw_tx)
    node.clock.t += LANDED_S
    status = await chain.signature_status(swap.signature)
    (landed,) = node.ledger.landed_swaps()
    assert status is not None
    assert (status.state, status.amount_out) == (TxState.LANDED, landed.amount_out)
    assert landed.amount_out > 10**9  # about two SOL


@pytest.mark.parametrize("venue", ["raydium", "meteora"])
async def test_rpc_chain_reports_slippage_as_a_definitive_failure(node: Node, venue: str) -> None:
    chain = RpcChain(node.http, "http://sim/")
    swap = await node.swap(venue, min_out=10**15)
    await chain.send_transaction(swap.raw_tx)
    node.clock.t += LANDED_S
    status = await chain.signature_status(swap.signature)
    assert status is not None
    assert (status.state, status.error_code) == (TxState.FAILED, "SLIPPAGE_EXCEEDED")
    assert status.error_message is not None
    # The program's own words, from its logs: Raydium's and DLMM's slippage errors.
    assert "slippage" in status.error_message.lower()
    assert status.fee_lamports > 0


async def test_rpc_chain_maps_preflight_refusals(node: Node) -> None:
    chain = RpcChain(node.http, "http://sim/", skip_preflight=False)
    swap = await node.swap()

    async def refusal(raw_tx: str) -> tuple[str, bool]:
        with pytest.raises(ExecutionError) as caught:
            await chain.send_transaction(raw_tx)
        return caught.value.code, caught.value.retryable

    assert await refusal(tampered(swap.raw_tx)) == ("INVALID_SIGNATURE", False)
    assert await refusal("AAAA") == ("INVALID_TRANSACTION", False)
    greedy = await node.swap(min_out=10**15)
    assert await refusal(greedy.raw_tx) == ("SLIPPAGE_EXCEEDED", True)
    await chain.send_transaction(swap.raw_tx)
    node.clock.t += LANDED_S
    assert await chain.send_transaction(swap.raw_tx) == swap.signature  # AlreadyProcessed
    stale = await node.swap()
    node.clock.t += EXPIRED_S
    assert await refusal(stale.raw_tx) == ("BLOCKHASH_EXPIRED", True)


async def test_rpc_chain_treats_an_unavailable_node_as_retryable(node: Node) -> None:
    swap = await node.swap()
    _, _, _, faulty = make_node(fault_rate=1.0)
    transport = httpx.ASGITransport(app=faulty)
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(ExecutionError) as caught:
            await RpcChain(http, "http://sim/").send_transaction(swap.raw_tx)
    assert (caught.value.code, caught.value.retryable) == ("RPC_UNAVAILABLE", True)
    assert "503" in caught.value.message

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(5)
        writer.close()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    async with silent, httpx.AsyncClient() as http:
        for url, timeout in ((f"http://127.0.0.1:{port}/", 0.2), ("http://127.0.0.1:1/", 2.0)):
            with pytest.raises(ExecutionError) as caught:
                await RpcChain(http, url, timeout_s=timeout).block_height()
            assert (caught.value.code, caught.value.retryable) == ("RPC_UNAVAILABLE", True)
        silent.close()


async def test_concurrent_polls_share_rpc_calls(node: Node) -> None:
    calls: list[str] = []

    async def count(request: httpx.Request) -> None:
        calls.append(json.loads(request.content)["method"])

    transport = httpx.ASGITransport(app=node.app)
    async with httpx.AsyncClient(transport=transport, event_hooks={"request": [count]}) as http:
        chain = RpcChain(http, "http://sim/")
        swaps = [await node.swap(min_out=1) for _ in range(300)]
        for swap in swaps:
            await chain.send_transaction(swap.raw_tx)
        node.clock.t += LANDED_S
        calls.clear()

        heights = await asyncio.gather(*(chain.block_height() for _ in range(50)))
        assert len(set(heights)) == 1
        assert calls.count("getBlockHeight") == 1

        gave_up = asyncio.ensure_future(chain.signature_status(swaps[0].signature))
        statuses = asyncio.gather(*(chain.signature_status(s.signature) for s in swaps))
        await asyncio.sleep(0)
        gave_up.cancel()  # one poller giving up does not disturb the others
        landed = {s.signature: s for s in node.ledger.landed_swaps()}
        for swap, status in zip(swaps, await statuses, strict=True):
            assert status is not None
            assert status.amount_out == landed[swap.signature].amount_out
        assert calls.count("getSignatureStatuses") == 2  # 300 signatures: 256 + 44


@pytest.mark.parametrize("path", ["inprocess", "lean"])
async def test_rpc_chain_over_the_in_process_and_lean_transports_with_batching(
    node: Node, path: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        if path == "inprocess":
            client: Any = InProcessTransport(node.app.state.json_rpc)
            url = "http://sim/"
        else:
            port = await stack.enter_async_context(serving(node.app, config=server_config))
            client, url = Http1Client(connections=2), f"http://127.0.0.1:{port}/"
            stack.push_async_callback(client.aclose)
        chain = RpcChain(client, url, batch_window_s=0.002, batch_max=4)
        swaps = [await node.swap(min_out=1) for _ in range(6)]
        sent = await asyncio.gather(*(chain.send_transaction(s.raw_tx) for s in swaps))
        assert sent == [s.signature for s in swaps]
        blockhash, height, fees, accounts = await asyncio.gather(
            chain.latest_blockhash(),
            chain.block_height(),
            chain.prioritization_fees([str(node.builder.wallet)]),
            chain.multiple_accounts([str(node.builder.wallet), str(Keypair().pubkey())]),
        )
        assert blockhash.last_valid_block_height == height + 150
        assert isinstance(fees, list)
        assert accounts.accounts[0] is not None
        assert accounts.accounts[1] is None
        node.clock.t += LANDED_S
        statuses = await asyncio.gather(*(chain.signature_status(s.signature) for s in swaps))
        assert [s.state if s else None for s in statuses] == [TxState.LANDED] * 6
        # In one batch: a bad call's error object is its own, the other call is answered.
        bad, good = await asyncio.gather(
            chain.rpc.result("getBalance", ["not-a-key"]),
            chain.rpc.result("getBlockHeight", []),
            return_exceptions=True,
        )
        assert isinstance(bad, ExecutionError)
        assert bad.code == "RPC_ERROR"
        assert isinstance(good, int)
        assert good >= height
