"""Swap transactions: real solders transactions that decode back to what was built."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from solders.compute_budget import ID as COMPUTE_BUDGET_ID
from solders.hash import Hash
from solders.keypair import Keypair
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import Transaction

from oee.adapters.chain.transactions import SwapTransactionBuilder, load_or_create_keypair
from oee.domain.orders import SignedSwap
from oee.domain.ports import Blockhash, ComputeBudget, SwapPlan
from oee.domain.tokens import resolve_token
from oee.solana.budget import compute_budget, memo
from oee.solana.spl import ATA_PROGRAM_ID, TOKEN_PROGRAM_ID
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.instructions import SWAP_BASE_IN_DATA
from tests.support.swaps import placeholder_swap

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
BLOCKHASH = Blockhash(str(Hash.new_unique()), 1_150)
BUDGET = ComputeBudget(150_000, 7)


def sign(
    builder: SwapTransactionBuilder, memo: str | None = None, min_out: int = 220_000_000,
    pair: tuple[str, str] = ("SOL", "USDC"), amount_in: int = 1_500_000_000,
) -> SignedSwap:  # fmt: skip
    token_in, token_out = (resolve_token(symbol) for symbol in pair)
    swap = placeholder_swap(builder.owner, amount_in, min_out)
    plan = SwapPlan("raydium", swap, token_in, token_out, amount_in, min_out, memo)
    return builder.sign(plan, BUDGET, BLOCKHASH)


def test_sign_then_wire_bytes_give_back_the_swap_its_budget_and_memo() -> None:
    keypair = Keypair()
    builder = SwapTransactionBuilder(keypair)
    signed = sign(builder, memo="order-1/1")

    tx = Transaction.from_bytes(base64.b64decode(signed.raw_tx))
    tx.verify()
    assert tx == Transaction([keypair], tx.message, tx.message.recent_blockhash)
    assert signed.signature == str(tx.signatures[0])
    assert str(tx.message.recent_blockhash) == BLOCKHASH.blockhash
    assert signed.last_valid_block_height == 1_150
    assert (signed.venue, signed.min_amount_out) == ("raydium", 220_000_000)
    assert (signed.compute_unit_limit, signed.compute_unit_price) == (150_000, 7)
    budget = compute_budget(tx)
    assert (budget.unit_limit, budget.unit_price, memo(tx)) == (150_000, 7, "order-1/1")

    message = tx.message
    programs = [message.account_keys[ix.program_id_index] for ix in message.instructions]
    assert programs[:2] == [COMPUTE_BUDGET_ID, COMPUTE_BUDGET_ID]  # the budget comes first
    swap = message.instructions[programs.index(RAYDIUM_AMM_V4)]
    data = SWAP_BASE_IN_DATA.decode(bytes(swap.data))  # the venue's bytes, untouched
    assert (data.amount_in, data.minimum_amount_out) == (1_500_000_000, 220_000_000)
    assert message.account_keys[swap.accounts[1]] == keypair.pubkey()


def _steps(token_in: str, token_out: str) -> list[tuple[str, bytes]]:
    """(program, first data byte) of each instruction of a swap from token_in to token_out."""
    signed = sign(SwapTransactionBuilder(Keypair()), pair=(token_in, token_out), amount_in=10**6)
    message = Transaction.from_bytes(base64.b64decode(signed.raw_tx)).message
    names = {
        str(COMPUTE_BUDGET_ID): "budget",
        str(SYSTEM_PROGRAM_ID): "system",
        str(TOKEN_PROGRAM_ID): "token",
        str(ATA_PROGRAM_ID): "ata",
        str(RAYDIUM_AMM_V4): "swap",
    }
    return [
        (names[str(message.account_keys[ix.program_id_index])], bytes(ix.data)[:1])
        for ix in message.instructions
    ]


def test_paying_sol_wraps_it_first_and_closes_the_wsol_account_after() -> None:
    assert _steps("SOL", "USDC") == [
        ("budget", b"\x02"),
        ("budget", b"\x03"),
        ("ata", b"\x01"),  # create the wSOL account, idempotent
        ("system", b"\x02"),  # transfer the lamports into it
        ("token", b"\x11"),  # SyncNative
        ("ata", b"\x01"),  # the output token's account, idempotent
        ("swap", b"\x09"),  # SwapBaseIn
        ("token", b"\x09"),  # CloseAccount: what is left comes back as SOL
    ]


def test_receiving_sol_unwraps_it_and_other_pairs_only_create_the_output_account() -> None:
    assert [step for step, _ in _steps("USDC", "SOL")] == [
        "budget", "budget", "ata", "swap", "token",
    ]  # fmt: skip
    assert [step for step, _ in _steps("USDC", "BONK")] == ["budget", "budget", "ata", "swap"]


def test_a_memo_makes_otherwise_identical_swaps_distinct() -> None:
    builder = SwapTransactionBuilder(Keypair())
    swap = placeholder_swap(builder.owner)

    def signature(note: str | None) -> str:
        plan = SwapPlan("raydium", swap, SOL, USDC, 10**9, 1, note)
        return builder.sign(plan, BUDGET, BLOCKHASH).signature

    assert signature(None) == signature(None)  # ed25519 is deterministic
    assert signature("a") != signature("b")


def test_keypair_file_is_private_and_reloads_the_same_wallet(tmp_path: Path) -> None:
    path = tmp_path / "data" / "wallet.json"
    created = load_or_create_keypair(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = json.loads(path.read_text())
    assert len(secret) == 64
    assert all(isinstance(b, int) and 0 <= b < 256 for b in secret)
    assert load_or_create_keypair(path).pubkey() == created.pubkey()
    # No temporary file left; beside the keypair only its published address (world-readable).
    address = path.with_name("wallet.json.pub")
    assert sorted(tmp_path.joinpath("data").iterdir()) == [path, address]
    assert address.read_text() == f"{created.pubkey()}\n"
    assert stat.S_IMODE(address.stat().st_mode) == 0o644


def test_a_keypair_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    keypair = Keypair()
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(0o644)
    assert load_or_create_keypair(path).pubkey() == keypair.pubkey()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_broken_keypair_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    path.write_text(json.dumps([7] * 10))
    with pytest.raises(ValueError, match="not a Solana keypair file") as error:
        load_or_create_keypair(path)
    assert "7, 7" not in str(error.value)
