"""The JSON-RPC client's account and fee reads, the compute-budget policy and the cluster rules."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from solders.hash import Hash
from solders.keypair import Keypair

from oee.adapters.chain.rpc import RpcChain
from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.errors import ExecutionError
from oee.domain.ports import Blockhash, SwapPlan
from oee.domain.tokens import resolve_token
from oee.services.fees import ComputeBudgeter, FeePolicy, percentile
from oee.settings import Settings
from tests.support.swaps import placeholder_swap

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")


class Node:
    """A JSON-RPC node answering from a handler per method, recording every request."""

    def __init__(self, **answers: Any) -> None:
        self.answers, self.requests = answers, []  # type: ignore[var-annotated]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        answer = self.answers[body["method"]]
        result = answer(body["params"]) if callable(answer) else answer
        if isinstance(result, dict) and "error" in result:
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], **result})
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})

    def chain(self, **options: Any) -> RpcChain:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return RpcChain(client, "http://node/", **options)


def account(data: bytes, owner: str = "11111111111111111111111111111111") -> dict[str, Any]:
    b64 = base64.b64encode(data).decode()
    return {"data": [b64, "base64"], "owner": owner, "lamports": 5, "executable": False}


async def test_multiple_accounts_chunks_by_100_and_keeps_the_order() -> None:
    def answer(params: list[Any]) -> dict[str, Any]:
        addresses = params[0]
        assert len(addresses) <= 100
        assert params[1]["encoding"] == "base64"
        value = [None if a.endswith("7") else account(a.encode()) for a in addresses]
        return {"context": {"slot": 40 + len(addresses)}, "value": value}

    node = Node(getMultipleAccounts=answer)
    addresses = [f"address{i}" for i in range(250)]
    read = await node.chain().multiple_accounts(addresses)
    assert len(node.requests) == 3
    assert read.slot == 40 + 50  # the oldest chunk's slot
    assert [a.data.decode() if a else None for a in read.accounts] == [
        None if a.endswith("7") else a for a in addresses
    ]


async def test_program_accounts_sends_the_filters_and_reads_both_answer_shapes() -> None:
    filters = [{"dataSize": 752}, {"memcmp": {"offset": 400, "bytes": "x"}}]
    entry = {"pubkey": "Pool1", "account": account(b"amm", owner="Prog")}
    node = Node(getProgramAccounts=lambda p: [entry] if p[1]["filters"] == filters else [])
    found = await node.chain().program_accounts("Prog", filters)
    assert [(a, acc.owner, acc.data) for a, acc in found] == [("Pool1", "Prog", b"amm")]
    node = Node(getProgramAccounts={"context": {"slot": 1}, "value": [entry]})
    assert len(await node.chain().program_accounts("Prog", filters)) == 1


async def test_a_node_without_get_program_accounts_is_a_clear_error() -> None:
    node = Node(getProgramAccounts={"error": {"code": -32601, "message": "Method not found"}})
    with pytest.raises(ExecutionError, match="Method not found") as caught:
        await node.chain().program_accounts("Prog", [])
    assert (caught.value.code, caught.value.retryable) == ("RPC_ERROR", False)


async def test_prioritization_fees_are_oldest_first_and_reused_for_a_while() -> None:
    fees = [{"slot": 9, "prioritizationFee": 300}, {"slot": 7, "prioritizationFee": 100}]
    node = Node(getRecentPrioritizationFees=fees)
    chain = node.chain(fee_ttl_s=60)
    assert await chain.prioritization_fees(["Pool1"]) == [100, 300]
    assert await chain.prioritization_fees(["Pool1"]) == [100, 300]
    assert len(node.requests) == 1
    await chain.prioritization_fees(["Pool2"])
    assert len(node.requests) == 2  # another account set is another reading


async def test_simulate_units_reads_units_consumed_and_names_a_failure() -> None:
    ok = {"context": {"slot": 1}, "value": {"err": None, "logs": [], "unitsConsumed": 61_234}}
    node = Node(simulateTransaction=ok)
    assert await node.chain().simulate_units("AAAA") == 61_234
    config = node.requests[0]["params"][1]
    assert (config["sigVerify"], config["replaceRecentBlockhash"]) == (False, True)
    failed = {
        "context": {"slot": 1},
        "value": {"err": {"InstructionError": [3, {"Custom": 30}]}, "unitsConsumed": 9,
                  "logs": ["Program log: Error: exceeds desired slippage limit"]},
    }  # fmt: skip
    with pytest.raises(ExecutionError, match="slippage limit") as caught:
        await Node(simulateTransaction=failed).chain().simulate_units("AAAA")
    assert caught.value.code == "SIMULATION_FAILED"


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 75) == 0
    assert percentile([5], 75) == 5
    assert percentile(list(range(1, 101)), 75) == 75
    assert percentile([40, 10, 30, 20], 75) == 30
    assert percentile([40, 10, 30, 20], 100) == 40


class FakeFees:
    def __init__(self, fees: list[int] | None, units: int | None) -> None:
        self.fees, self.units, self.drafts = fees, units, 0

    async def prioritization_fees(self, accounts: Any) -> list[int]:
        if self.fees is None:
            raise ExecutionError("down", code="RPC_UNAVAILABLE", retryable=True)
        return self.fees

    async def simulate_units(self, raw_tx: str) -> int:
        self.drafts += 1
        if self.units is None:
            raise ExecutionError("would fail", code="SIMULATION_FAILED", retryable=False)
        return self.units


def plan() -> SwapPlan:
    swap = placeholder_swap(str(Keypair().pubkey()), 10**9, 1)
    return SwapPlan("raydium", swap, SOL, USDC, 10**9, 1, "memo")


BLOCKHASH = Blockhash(str(Hash.new_unique()), 100)


async def test_budget_is_simulated_units_plus_margin_and_a_capped_percentile() -> None:
    chain = FakeFees(fees=[0, 5_000, 50_000, 9_000_000], units=60_000)
    signer = SwapTransactionBuilder(Keypair())
    policy = FeePolicy(margin=0.2, percentile=75, min_price=1_000, max_price=100_000)
    budget = await ComputeBudgeter(chain, signer, policy).budget(  # type: ignore[arg-type]
        plan(), "Pool", 150_000, BLOCKHASH
    )
    assert (budget.unit_limit, budget.unit_price) == (72_000, 50_000)
    chain.fees = [9_000_000]
    budget = await ComputeBudgeter(chain, signer, policy).budget(plan(), "P", 1, BLOCKHASH)  # type: ignore[arg-type]
    assert budget.unit_price == 100_000  # the cap


async def test_budget_falls_back_to_the_venue_default_and_the_floor() -> None:
    chain = FakeFees(fees=None, units=None)
    signer = SwapTransactionBuilder(Keypair())
    budgeter = ComputeBudgeter(chain, signer, FeePolicy(min_price=1_000))  # type: ignore[arg-type]
    budget = await budgeter.budget(plan(), "Pool", 150_000, BLOCKHASH)
    assert (budget.unit_limit, budget.unit_price) == (150_000, 1_000)
    off = ComputeBudgeter(chain, signer, FeePolicy(simulate=False))  # type: ignore[arg-type]
    drafts = chain.drafts
    assert (await off.budget(plan(), "Pool", 123, BLOCKHASH)).unit_limit == 123
    assert chain.drafts == drafts  # no simulation asked for


async def test_a_routes_compute_estimate_is_reused_for_its_ttl() -> None:
    chain = FakeFees(fees=[5_000], units=60_000)
    signer = SwapTransactionBuilder(Keypair())
    budgeter = ComputeBudgeter(chain, signer, FeePolicy(estimate_ttl_s=0.2))  # type: ignore[arg-type]
    route = plan()
    for _ in range(3):
        assert (await budgeter.budget(route, "Pool", 1, BLOCKHASH)).unit_limit == 72_000
    assert chain.drafts == 1
    bigger = dataclasses.replace(route, amount_in=route.amount_in * 4)  # may cross more bins
    await budgeter.budget(bigger, "Pool", 1, BLOCKHASH)
    await budgeter.budget(plan(), "Pool", 1, BLOCKHASH)  # another pool's accounts
    assert chain.drafts == 3
    await asyncio.sleep(0.25)
    chain.units = 80_000
    assert (await budgeter.budget(route, "Pool", 1, BLOCKHASH)).unit_limit == 96_000
    chain.units = None  # a failed simulation falls back and is not remembered
    off = ComputeBudgeter(chain, signer, FeePolicy(estimate_ttl_s=10))  # type: ignore[arg-type]
    assert (await off.budget(route, "Pool", 123, BLOCKHASH)).unit_limit == 123
    chain.units = 50_000
    assert (await off.budget(route, "Pool", 123, BLOCKHASH)).unit_limit == 60_000


def test_mainnet_refuses_to_start_without_both_opt_ins() -> None:
    with pytest.raises(ValidationError, match="OEE_MAINNET_I_UNDERSTAND=true"):
        Settings(cluster="mainnet-beta")
    with pytest.raises(ValidationError, match="OEE_MAX_NOTIONAL_USD"):
        Settings(cluster="mainnet-beta", mainnet_i_understand=True)
    with pytest.raises(ValidationError, match="no faucet"):
        Settings(cluster="mainnet-beta", mainnet_i_understand=True, max_notional_usd=100)
    ok = Settings(
        cluster="mainnet-beta", mainnet_i_understand=True, max_notional_usd=Decimal(100),
        wallet_airdrop_sol=0,
    )  # fmt: skip
    assert ok.chain_quotes


def test_devnet_rules() -> None:
    with pytest.raises(ValidationError, match="at most 5 SOL"):
        Settings(cluster="devnet")
    with pytest.raises(ValidationError, match="OEE_QUOTE_SOURCE=api"):
        Settings(cluster="devnet", quote_source="api", wallet_airdrop_sol=2)
    assert Settings(cluster="devnet", wallet_airdrop_sol=2, wallet_min_sol=1).cluster == "devnet"


def test_notional_cap_values_orders_by_their_stablecoin_side() -> None:
    from datetime import UTC, datetime

    from oee.domain.orders import Order, SubmitOrder
    from oee.domain.routing import Quote, RoutingDecision
    from oee.services.risk import check_notional

    def order_and_decision(
        token_in: str, token_out: str, amount: str, out: int
    ) -> tuple[Order, RoutingDecision]:
        cmd = SubmitOrder.parse(token_in, token_out, amount, 50)
        order, _ = Order.accept(cmd, "o-1", datetime.now(UTC))
        quote = Quote("raydium", cmd.amount_in, out, 0, 25, Decimal(1), Decimal(0), "P")
        return order, RoutingDecision(quote, (quote,), Decimal(0), out)

    check_notional(*order_and_decision("USDC", "SOL", "100", 10**9), Decimal(100))
    with pytest.raises(ExecutionError) as over:
        check_notional(*order_and_decision("USDC", "SOL", "100.01", 10**9), Decimal(100))
    assert (over.value.code, over.value.retryable) == ("NOTIONAL_LIMIT_EXCEEDED", False)
    with pytest.raises(ExecutionError, match="above the 100 USD cap"):
        check_notional(*order_and_decision("SOL", "USDC", "1", 150 * 10**6), Decimal(100))
    with pytest.raises(ExecutionError) as unknown:
        check_notional(*order_and_decision("SOL", "BONK", "1", 10**5), Decimal(100))
    assert unknown.value.code == "NOTIONAL_UNKNOWN"
    check_notional(*order_and_decision("SOL", "BONK", "1", 10**5), None)  # no cap, no check
