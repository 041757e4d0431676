"""Swap transactions: real solders transactions that decode back to what was built."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from solders.compute_budget import ID as COMPUTE_BUDGET_ID
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import Transaction

from oee.adapters.chain.transactions import (
    SWAP_DISCRIMINATOR,
    SwapTransactionBuilder,
    decode_swap,
    load_or_create_keypair,
)
from oee.domain.ports import Blockhash
from oee.domain.tokens import resolve_token
from oee.solana.spl import ATA_PROGRAM_ID, TOKEN_PROGRAM_ID

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
RAYDIUM = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
POOL = str(Pubkey.create_with_seed(Pubkey.default(), "pool", Pubkey.from_string(RAYDIUM)))
BLOCKHASH = Blockhash(str(Hash.new_unique()), 1_150)


def build(builder: SwapTransactionBuilder, memo: str | None = None, min_out: int = 220_000_000):
    return builder.build(
        "raydium", RAYDIUM, POOL, SOL, USDC, 1_500_000_000, min_out, BLOCKHASH, memo=memo
    )


def test_build_then_wire_bytes_then_decode_gives_back_the_swap() -> None:
    keypair = Keypair()
    builder = SwapTransactionBuilder(keypair, compute_unit_limit=150_000, compute_unit_price=7)
    signed = build(builder, memo="order-1/1")

    tx = Transaction.from_bytes(base64.b64decode(signed.raw_tx))
    tx.verify()
    assert tx == Transaction([keypair], tx.message, tx.message.recent_blockhash)
    assert signed.signature == str(tx.signatures[0])
    assert str(tx.message.recent_blockhash) == BLOCKHASH.blockhash
    assert signed.last_valid_block_height == 1_150
    assert (signed.venue, signed.min_amount_out, signed.compute_unit_price) == (
        "raydium",
        220_000_000,
        7,
    )

    swap = decode_swap(tx)
    assert (swap.amount_in, swap.min_amount_out) == (1_500_000_000, 220_000_000)
    assert (swap.program_id, swap.pool, swap.wallet) == (RAYDIUM, POOL, str(keypair.pubkey()))
    assert (swap.mint_in, swap.mint_out) == (SOL.mint, USDC.mint)
    assert (swap.compute_unit_limit, swap.compute_unit_price, swap.memo) == (
        150_000,
        7,
        "order-1/1",
    )


def test_compute_budget_comes_first_and_the_swap_data_is_discriminator_plus_two_u64() -> None:
    signed = build(SwapTransactionBuilder(Keypair()))
    message = Transaction.from_bytes(base64.b64decode(signed.raw_tx)).message
    programs = [message.account_keys[ix.program_id_index] for ix in message.instructions]
    assert programs[:2] == [COMPUTE_BUDGET_ID, COMPUTE_BUDGET_ID]
    data = bytes(message.instructions[programs.index(Pubkey.from_string(RAYDIUM))].data)
    assert data == SWAP_DISCRIMINATOR + (1_500_000_000).to_bytes(8, "little") + (
        220_000_000
    ).to_bytes(8, "little")


def _steps(token_in: str, token_out: str) -> list[tuple[str, bytes]]:
    """(program, first data byte) of each instruction of a swap from token_in to token_out."""
    builder = SwapTransactionBuilder(Keypair())
    signed = builder.build(
        "raydium", RAYDIUM, POOL, resolve_token(token_in), resolve_token(token_out), 10**6, 1,
        BLOCKHASH,
    )  # fmt: skip
    message = Transaction.from_bytes(base64.b64decode(signed.raw_tx)).message
    names = {
        str(COMPUTE_BUDGET_ID): "budget",
        str(SYSTEM_PROGRAM_ID): "system",
        str(TOKEN_PROGRAM_ID): "token",
        str(ATA_PROGRAM_ID): "ata",
        RAYDIUM: "swap",
    }
    return [
        (names[str(message.account_keys[ix.program_id_index])], bytes(ix.data)[:1])
        for ix in message.instructions
    ]


def test_paying_sol_wraps_it_first_and_closes_the_wsol_account_after() -> None:
    assert (
        _steps("SOL", "USDC")
        == [
            ("budget", b"\x02"),
            ("budget", b"\x03"),
            ("ata", b"\x01"),  # create the wSOL account, idempotent
            ("system", b"\x02"),  # transfer the lamports into it
            ("token", b"\x11"),  # SyncNative
            ("ata", b"\x01"),  # the output token's account, idempotent
            ("swap", SWAP_DISCRIMINATOR[:1]),
            ("token", b"\x09"),  # CloseAccount: what is left comes back as SOL
        ]
    )


def test_receiving_sol_unwraps_it_and_other_pairs_only_create_the_output_account() -> None:
    assert [step for step, _ in _steps("USDC", "SOL")] == [
        "budget", "budget", "ata", "swap", "token",
    ]  # fmt: skip
    assert [step for step, _ in _steps("USDC", "BONK")] == ["budget", "budget", "ata", "swap"]


def test_a_memo_makes_otherwise_identical_swaps_distinct() -> None:
    builder = SwapTransactionBuilder(Keypair())
    assert build(builder).signature == build(builder).signature  # ed25519 is deterministic
    assert build(builder, memo="a").signature != build(builder, memo="b").signature


def test_decode_refuses_a_transaction_without_a_swap() -> None:
    keypair = Keypair()
    message = Message.new_with_blockhash(
        [Instruction(Pubkey.default(), b"\x02\x00\x00\x00", [])], keypair.pubkey(), Hash.default()
    )
    with pytest.raises(ValueError, match="one swap instruction"):
        decode_swap(Transaction([keypair], message, Hash.default()))


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
