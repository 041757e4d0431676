"""The RPC chain's reading of replies: what a swap paid, and replies that are not JSON-RPC."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.transaction import Transaction

from oee.adapters.chain.outcomes import received as _received
from oee.adapters.chain.rpc import RpcChain
from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.errors import ExecutionError
from oee.domain.ports import Blockhash, ComputeBudget, SwapPlan
from oee.domain.tokens import resolve_token
from oee.solana.spl import WSOL_MINT, associated_token_address
from tests.support.swaps import placeholder_swap

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
RENT = 2_039_280
FEE = 7_000


def usdc_to_sol() -> tuple[str, list[Any]]:
    builder = SwapTransactionBuilder(Keypair())
    plan = SwapPlan("raydium", placeholder_swap(builder.owner, 10**6), USDC, SOL, 10**6, 1, None)
    signed = builder.sign(plan, ComputeBudget(200_000, 1), Blockhash(str(Hash.new_unique()), 10))
    keys = Transaction.from_bytes(base64.b64decode(signed.raw_tx)).message.account_keys
    return signed.raw_tx, list(keys)


def meta(keys: list[Any], changes: dict[Any, tuple[int, int]]) -> dict[str, Any]:
    pre = [changes.get(key, (0, 0))[0] for key in keys]
    post = [changes.get(key, (0, 0))[1] for key in keys]
    return {"fee": FEE, "preBalances": pre, "postBalances": post}


def test_sol_out_is_the_payers_gain_plus_the_fee_when_the_wsol_account_was_new() -> None:
    raw, keys = usdc_to_sol()
    payer = keys[0]
    # The wSOL account is created (rent paid) and closed (rent back) within the swap.
    landed = meta(keys, {payer: (10**9, 10**9 + 6_000_000 - FEE)})
    assert _received(raw, landed) == 6_000_000


def test_sol_out_leaves_out_wsol_the_wallet_held_before() -> None:
    raw, keys = usdc_to_sol()
    payer = keys[0]
    wsol = associated_token_address(payer, WSOL_MINT)
    held = 5 * 10**9 + RENT  # 5 wSOL and the account's rent, all swept to the payer on close
    landed = meta(keys, {payer: (10**9, 10**9 + 6_000_000 + held - FEE), wsol: (held, 0)})
    assert _received(raw, landed) == 6_000_000


@pytest.mark.parametrize("body", [b"[]", b'"ok"', b'{"jsonrpc": "2.0", "id": 1}', b"{}"])
async def test_a_reply_that_is_not_a_json_rpc_response_is_a_retryable_failure(
    body: bytes,
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(ExecutionError) as failed:
            await RpcChain(client, "http://node/").block_height()
    assert (failed.value.code, failed.value.retryable) == ("RPC_UNAVAILABLE", True)
