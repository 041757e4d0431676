"""Funding the wallet at worker start, and the RPC shapes of getBalance/requestAirdrop.

The funder is exercised against a scripted chain (what it reads, what the faucet answers); the
RPC client against `httpx.MockTransport`, answering exactly as an agave node does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from oee.adapters.chain.rpc import RpcChain
from oee.domain.errors import ExecutionError
from oee.domain.ports import Blockhash, TokenBalance, TxStatus, WalletBalances
from oee.services.wallet import WalletFunder

WALLET = str(Keypair().pubkey())
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


class FakeClock:
    """Time moves only when slept."""

    def __init__(self) -> None:
        self.at = datetime(2025, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class ScriptedChain:
    """A chain whose balance reads and faucet answers are scripted."""

    lamports: list[int]  # successive balance reads; the last one repeats
    airdrop_error: ExecutionError | None = None
    balance_error: ExecutionError | None = None
    airdrops: list[tuple[str, int]] = field(default_factory=list)
    reads: int = 0

    async def balances(self, owner: str) -> WalletBalances:
        if self.balance_error is not None:
            raise self.balance_error
        value = self.lamports[min(self.reads, len(self.lamports) - 1)]
        self.reads += 1
        return WalletBalances(value)

    async def request_airdrop(self, owner: str, lamports: int) -> str:
        self.airdrops.append((owner, lamports))
        if self.airdrop_error is not None:
            raise self.airdrop_error
        return "5igAirdrop"

    async def latest_blockhash(self) -> Blockhash:
        raise NotImplementedError

    async def block_height(self) -> int:
        raise NotImplementedError

    async def send_transaction(self, raw_tx: str) -> str:
        raise NotImplementedError

    async def signature_status(self, signature: str) -> TxStatus | None:
        raise NotImplementedError


def funder(
    chain: ScriptedChain, *, min_lamports: int = 1_000, airdrop: int = 5_000
) -> WalletFunder:
    return WalletFunder(
        chain, WALLET, FakeClock(), min_lamports=min_lamports, airdrop_lamports=airdrop, wait_s=3
    )


async def test_a_wallet_below_the_threshold_gets_one_airdrop_and_waits_for_it() -> None:
    chain = ScriptedChain(lamports=[10, 10, 10, 5_010])
    assert await funder(chain).ensure_funded()
    assert chain.airdrops == [(WALLET, 5_000)]
    assert chain.reads == 4


async def test_a_funded_wallet_asks_nothing() -> None:
    chain = ScriptedChain(lamports=[1_000])
    assert not await funder(chain).ensure_funded()
    assert chain.airdrops == []


@pytest.mark.parametrize(("min_lamports", "airdrop"), [(0, 5_000), (1_000, 0)])
async def test_zero_disables_funding(min_lamports: int, airdrop: int) -> None:
    chain = ScriptedChain(lamports=[0])
    assert not await funder(chain, min_lamports=min_lamports, airdrop=airdrop).ensure_funded()
    assert (chain.reads, chain.airdrops) == (0, [])


@pytest.mark.parametrize(
    "error",
    [
        ExecutionError("HTTP 429", code="RPC_UNAVAILABLE", retryable=True),
        ExecutionError("no faucet", code="RPC_METHOD_NOT_FOUND", retryable=False),
    ],
)
async def test_a_refused_airdrop_is_a_warning_not_a_failure(error: ExecutionError) -> None:
    chain = ScriptedChain(lamports=[0], airdrop_error=error)
    assert not await funder(chain).ensure_funded()
    assert len(chain.airdrops) == 1


async def test_an_unreachable_chain_is_a_warning_not_a_failure() -> None:
    down = ExecutionError("connection refused", code="RPC_UNAVAILABLE", retryable=True)
    chain = ScriptedChain(lamports=[0], balance_error=down)
    assert not await funder(chain).ensure_funded()
    assert chain.airdrops == []


async def test_an_airdrop_that_never_lands_gives_up_after_the_wait() -> None:
    chain = ScriptedChain(lamports=[0])
    assert not await funder(chain).ensure_funded()
    assert chain.reads == 1 + 7  # the first read, then every 0.5 s for 3 s


# --- RpcChain ----------------------------------------------------------------------------------


def node(answers: dict[str, Any], seen: list[dict[str, Any]]) -> httpx.AsyncClient:
    """An HTTP client to a JSON-RPC node answering `answers[method]` (a result or an error)."""

    def handle(request: httpx.Request) -> httpx.Response:
        call = json.loads(request.content)
        seen.append(call)
        answer = answers[call["method"]]
        key = "error" if isinstance(answer, dict) and "code" in answer else "result"
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": call["id"], key: answer})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def parsed_account(address: str, mint: str, amount: int, decimals: int) -> dict[str, Any]:
    info = {
        "isNative": False,
        "mint": mint,
        "owner": WALLET,
        "state": "initialized",
        "tokenAmount": {"amount": str(amount), "decimals": decimals, "uiAmountString": "x"},
    }
    data = {"program": "spl-token", "parsed": {"info": info, "type": "account"}, "space": 165}
    return {"pubkey": address, "account": {"data": data, "owner": TOKEN_PROGRAM, "lamports": 1}}


async def test_rpc_balances_read_get_balance_and_token_accounts_by_program() -> None:
    seen: list[dict[str, Any]] = []
    accounts = [parsed_account("Acct1", USDC, 2_500_000, 6)]
    answers = {
        "getBalance": {"context": {"slot": 12}, "value": 3_000_000_000},
        "getTokenAccountsByOwner": {"context": {"slot": 11}, "value": accounts},
    }
    async with node(answers, seen) as client:
        balances = await RpcChain(client, "http://node/").balances(WALLET)
    assert balances == WalletBalances(
        3_000_000_000, (TokenBalance(USDC, "Acct1", 2_500_000, 6),), 11
    )
    by_method = {call["method"]: call["params"] for call in seen}
    assert by_method["getBalance"][0] == WALLET
    owner, wanted, config = by_method["getTokenAccountsByOwner"]
    assert (owner, wanted) == (WALLET, {"programId": TOKEN_PROGRAM})
    assert config["encoding"] == "jsonParsed"


async def test_rpc_request_airdrop_sends_pubkey_and_lamports_and_returns_the_signature() -> None:
    seen: list[dict[str, Any]] = []
    async with node({"requestAirdrop": "5igAirdrop"}, seen) as client:
        signature = await RpcChain(client, "http://node/").request_airdrop(WALLET, 10**9)
    assert signature == "5igAirdrop"
    assert seen[0]["params"] == [WALLET, 10**9]


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        ({"code": -32601, "message": "Method not found"}, "RPC_METHOD_NOT_FOUND", False),
        (
            {"code": -32603, "message": "airdrop request failed: rate limit"},
            "RPC_UNAVAILABLE",
            True,
        ),
        ({"code": -32602, "message": "Invalid params"}, "RPC_ERROR", False),
    ],
)
async def test_rpc_airdrop_failures_keep_the_node_s_meaning(
    error: dict[str, Any], code: str, retryable: bool
) -> None:
    async with node({"requestAirdrop": error}, []) as client:
        with pytest.raises(ExecutionError) as caught:
            await RpcChain(client, "http://node/").request_airdrop(WALLET, 1)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)


async def test_rpc_balances_of_an_unreadable_answer_are_unavailable() -> None:
    answers = {
        "getBalance": {"context": {"slot": 1}, "value": 1},
        "getTokenAccountsByOwner": {"context": {"slot": 1}, "value": [{"pubkey": "x"}]},
    }
    async with node(answers, []) as client:
        with pytest.raises(ExecutionError) as caught:
            await RpcChain(client, "http://node/").balances(WALLET)
    assert caught.value.code == "RPC_UNAVAILABLE"
