"""Real program binaries in `OEE_SIM_PROGRAMS_DIR` run in litesvm instead of the models.

No venue binary ships with the engine, so these tests borrow one litesvm carries itself: the
SPL Memo program (v2, an SBF ELF in its program account), loaded under an unused id or under a
venue's id. A memo's log line can only come from running the binary.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.ports import TxState
from oee.domain.tokens import LAMPORTS_PER_SOL, resolve_token
from oee.settings import SimSettings
from oee.sim import build_sim
from oee.sim.ledger import NATIVE_MINT, LedgerError, SimLedger
from oee.sim.programs import ProgramLoadError
from oee.sim.world import SimWorld
from oee.venues.meteora import PROGRAM_ID as DLMM_PROGRAM
from tests.support.fakes import FakeClock
from tests.support.swaps import SimSwaps, with_amounts

MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
SOL, USDC = resolve_token("SOL"), resolve_token("USDC")


def memo_elf() -> bytes:
    """The Memo program's ELF, from a LiteSVM's own program account (BPF loader 2)."""
    account = LiteSVM().get_account(MEMO)
    assert account is not None
    assert bytes(account.data[:4]) == b"\x7fELF"
    return bytes(account.data)


def simulator(programs: Path) -> tuple[SimWorld, SimLedger, Keypair]:
    settings = SimSettings(latency_scale=0.0, programs_dir=programs)
    world, ledger = build_sim(settings, now=FakeClock())
    payer = Keypair()
    ledger.airdrop(str(payer.pubkey()), NATIVE_MINT, 10 * LAMPORTS_PER_SOL)
    return world, ledger, payer


def signed(payer: Keypair, ledger: SimLedger, *instructions: Instruction) -> str:
    blockhash = Hash.from_string(ledger.latest_blockhash().blockhash)
    message = Message.new_with_blockhash(list(instructions), payer.pubkey(), blockhash)
    return base64.b64encode(bytes(Transaction([payer], message, blockhash))).decode()


def test_a_loaded_program_runs_for_real(tmp_path: Path) -> None:
    program = Pubkey.new_unique()
    (tmp_path / f"{program}.so").write_bytes(memo_elf())
    _, ledger, payer = simulator(tmp_path)
    memo = Instruction(
        program, b"hello from the binary", [AccountMeta(payer.pubkey(), True, False)]
    )
    signature = ledger.send(signed(payer, ledger, memo))

    processed = ledger.processed(signature)
    assert processed is not None
    assert processed.status.state is TxState.LANDED
    assert f"Program {program} invoke [1]" in processed.logs
    memo_lines = ["Program log: Memo (len 21)", "Program log: hello from the binary"]
    assert processed.logs[3:5] == (*memo_lines,)  # after "Signed by:" and the payer
    consumed = [line for line in processed.logs if line.startswith(f"Program {program} consumed")]
    assert consumed  # the SBF VM metered it
    assert processed.units > 0
    assert processed.status.fee_lamports == 5_000


def test_a_loaded_program_fails_as_the_binary_fails(tmp_path: Path) -> None:
    program = Pubkey.new_unique()
    (tmp_path / f"{program}.so").write_bytes(memo_elf())
    _, ledger, payer = simulator(tmp_path)
    # The Memo program requires every account it is given to sign.
    stranger = AccountMeta(Pubkey.new_unique(), False, False)
    signature = ledger.send(signed(payer, ledger, Instruction(program, b"hi", [stranger])))
    processed = ledger.processed(signature)
    assert processed is not None
    assert processed.status.state is TxState.FAILED
    assert processed.err == {"InstructionError": [0, "MissingRequiredSignature"]}


def test_a_binary_under_a_venue_id_takes_its_swaps_from_the_model(tmp_path: Path) -> None:
    (tmp_path / f"{DLMM_PROGRAM}.so").write_bytes(memo_elf())
    world, ledger, _ = simulator(tmp_path)
    builder = SwapTransactionBuilder(Keypair())
    ledger.airdrop(str(builder.wallet), NATIVE_MINT, 10 * LAMPORTS_PER_SOL)
    pool = world.pool("meteora", SOL, USDC)
    reserves = pool.reserves()
    # A minimum no pool can pay: the model would fail it with DLMM's slippage error (6003).
    swaps = SimSwaps(world, ledger)
    real = swaps.instruction("meteora", SOL, USDC, builder.wallet, LAMPORTS_PER_SOL, 1)
    swap = swaps.signed(
        builder, "meteora", SOL, USDC, LAMPORTS_PER_SOL, 10**18, ledger.latest_blockhash(),
        swap=with_amounts(real, LAMPORTS_PER_SOL, 10**18),
    )  # fmt: skip
    ledger.send(swap.raw_tx)
    processed = ledger.processed(swap.signature)
    assert processed is not None
    assert processed.status.state is TxState.FAILED
    # The Memo binary ran as "DLMM": it refuses the swap's accounts that did not sign.
    [index, error] = processed.err["InstructionError"]
    assert error == "MissingRequiredSignature"
    assert f"Program {DLMM_PROGRAM} invoke [1]" in processed.logs
    assert pool.reserves() == reserves  # the model wrote nothing
    assert ledger.landed_swaps() == []
    # Raydium is still the model's.
    quote = world.quote("raydium", SOL, USDC, LAMPORTS_PER_SOL)
    ok = swaps.signed(
        builder, "raydium", SOL, USDC, LAMPORTS_PER_SOL, quote.amount_out,
        ledger.latest_blockhash(),
    )  # fmt: skip
    ledger.send(ok.raw_tx)
    status = ledger.signature_status(ok.signature)
    assert status is not None
    assert status.state is TxState.LANDED
    assert index >= 0


def test_without_a_loaded_program_a_non_swap_is_still_refused(tmp_path: Path) -> None:
    _, ledger, payer = simulator(tmp_path)
    memo = Instruction(Pubkey.new_unique(), b"x", [AccountMeta(payer.pubkey(), True, False)])
    with pytest.raises(LedgerError) as caught:
        ledger.send(signed(payer, ledger, memo))
    assert caught.value.code == "UNSUPPORTED_TRANSACTION"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("not-a-key.so", b"\x7fELF", "must be the program id"),
        (f"{Pubkey.new_unique()}.so", b"not an elf", "litesvm rejects it"),
    ],
)
def test_a_bad_program_file_fails_start_naming_it(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ProgramLoadError) as caught:
        build_sim(SimSettings(programs_dir=tmp_path))
    assert says in str(caught.value)
    assert str(tmp_path / name) in str(caught.value)


def test_a_missing_programs_dir_fails_start(tmp_path: Path) -> None:
    with pytest.raises(ProgramLoadError, match="is not a directory"):
        build_sim(SimSettings(programs_dir=tmp_path / "missing"))
