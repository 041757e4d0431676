"""The simulated chain: signatures, blockhash expiry, at-most-once landing and on-chain slippage."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.orders import SignedSwap
from oee.domain.ports import Blockhash, ComputeBudget, TxState
from oee.domain.tokens import LAMPORTS_PER_SOL, resolve_token
from oee.settings import SimSettings
from oee.sim import build_sim
from oee.sim.ledger import NATIVE_MINT, LedgerError, SimLedger
from oee.sim.world import SimWorld
from tests.support.fakes import FakeClock
from tests.support.swaps import SimSwaps

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
ONE_AND_A_HALF_SOL = 1_500_000_000
BUDGET = ComputeBudget(200_000, 25_000)  # 5,000 lamports of priority fee


@dataclass
class Sim:
    clock: FakeClock
    world: SimWorld
    ledger: SimLedger
    builder: SwapTransactionBuilder
    keypair: Keypair
    swaps: SimSwaps

    def swap(
        self,
        *,
        min_out: int | None = None,
        memo: str | None = None,
        blockhash: Blockhash | None = None,
        venue: str = "raydium",
    ) -> SignedSwap:
        quote = self.world.quote(venue, SOL, USDC, ONE_AND_A_HALF_SOL)
        return self.swaps.signed(
            self.builder, venue, SOL, USDC, ONE_AND_A_HALF_SOL,
            quote.amount_out if min_out is None else min_out,
            blockhash or self.ledger.latest_blockhash(), memo=memo, budget=BUDGET,
        )  # fmt: skip

    def reserves(self, venue: str = "raydium") -> tuple[int, int]:
        return self.world.pool(venue, SOL, USDC).reserves()


def make_sim(latency_scale: float = 0.0, **settings: float) -> Sim:
    clock = FakeClock()
    world, ledger = build_sim(SimSettings(latency_scale=latency_scale, **settings), now=clock)
    keypair = Keypair()
    builder = SwapTransactionBuilder(keypair)
    ledger.airdrop(str(builder.wallet), NATIVE_MINT, 1_000 * LAMPORTS_PER_SOL)
    return Sim(clock, world, ledger, builder, keypair, SimSwaps(world, ledger))


def instructions_of(message: Message) -> list[Instruction]:
    """A message's instructions with their accounts resolved, to build a variant of it."""
    keys = message.account_keys
    return [
        Instruction(
            keys[ix.program_id_index],
            bytes(ix.data),
            [AccountMeta(keys[i], message.is_signer(i), True) for i in ix.accounts],
        )
        for ix in message.instructions
    ]


def refused(ledger: SimLedger, raw_tx: str) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        ledger.send(raw_tx)
    return caught.value


def test_a_landed_swap_moves_the_reserves_by_exactly_its_amounts() -> None:
    sim = make_sim()
    before_sol, before_usdc = sim.reserves()
    signed = sim.swap(memo="order-1")
    assert sim.ledger.send(signed.raw_tx) == signed.signature

    status = sim.ledger.signature_status(signed.signature)
    assert status is not None
    assert status.state is TxState.LANDED
    assert status.amount_out == signed.min_amount_out  # nothing moved between quote and landing
    # 5,000 per signature + ceil(25,000 micro-lamports * 200,000 CU / 1e6) = 5,000 + 5,000.
    assert status.fee_lamports == 10_000
    assert sim.reserves() == (before_sol + ONE_AND_A_HALF_SOL, before_usdc - status.amount_out)
    [landed] = sim.ledger.landed_swaps()
    assert (landed.signature, landed.venue, landed.memo) == (signed.signature, "raydium", "order-1")
    assert (landed.amount_in, landed.amount_out) == (ONE_AND_A_HALF_SOL, status.amount_out)


def test_a_resend_never_executes_twice() -> None:
    sim = make_sim()
    signed = sim.swap()
    before = sim.reserves()
    assert sim.ledger.send(signed.raw_tx) == signed.signature
    assert sim.ledger.send(signed.raw_tx) == signed.signature  # before landing
    assert sim.ledger.signature_status(signed.signature) is not None
    after_one = sim.reserves()
    assert sim.ledger.send(signed.raw_tx) == signed.signature  # after landing
    assert sim.ledger.signature_status(signed.signature) is not None
    assert sim.reserves() == after_one != before
    assert len(sim.ledger.landed_swaps()) == 1


def test_a_tampered_transaction_fails_signature_verification() -> None:
    sim = make_sim()
    raw = bytearray(base64.b64decode(sim.swap(memo="order-1").raw_tx))
    raw[-1] ^= 0x01  # the memo's last byte: still a well-formed transaction
    error = refused(sim.ledger, base64.b64encode(bytes(raw)).decode())
    assert (error.code, error.retryable) == ("INVALID_SIGNATURE", False)
    assert refused(sim.ledger, base64.b64encode(b"not a tx").decode()).code == "INVALID_TRANSACTION"
    assert refused(sim.ledger, "%%%").code == "INVALID_TRANSACTION"
    assert sim.ledger.landed_swaps() == []


def test_an_expired_or_unknown_blockhash_is_refused() -> None:
    sim = make_sim()  # latency off: blocks still take 400 ms, a blockhash lives ~60 s
    blockhash = sim.ledger.latest_blockhash()
    assert blockhash.last_valid_block_height == sim.ledger.block_height() + 150
    signed = sim.swap(blockhash=blockhash)
    sim.clock.t += 152 * 0.4
    assert sim.ledger.block_height() > blockhash.last_valid_block_height
    error = refused(sim.ledger, signed.raw_tx)
    assert (error.code, error.retryable) == ("BLOCKHASH_EXPIRED", True)

    foreign = sim.swap(blockhash=Blockhash(str(Hash.new_unique()), 10**9))
    assert refused(sim.ledger, foreign.raw_tx).code == "BLOCKHASH_EXPIRED"


def test_slippage_is_checked_against_the_pool_at_landing_time() -> None:
    # Both land within the world's first one-second tick, so only `first` moves the pool.
    sim = make_sim(latency_scale=1.0, confirm_min_ms=500, confirm_max_ms=500)
    first = sim.swap(min_out=1)
    tight = sim.swap()  # demands exactly today's quote
    sim.ledger.send(first.raw_tx)
    sim.clock.t += 0.01  # so `first` lands 10 ms before `tight`
    sim.ledger.send(tight.raw_tx)
    assert sim.ledger.signature_status(first.signature) is None  # in flight
    sim.clock.t += 0.6
    assert sim.ledger.signature_status(first.signature).state is TxState.LANDED  # type: ignore[union-attr]
    after_first = sim.reserves()

    status = sim.ledger.signature_status(tight.signature)
    assert status is not None
    assert (status.state, status.error_code) == (TxState.FAILED, "SLIPPAGE_EXCEEDED")
    assert "0x1e" in (status.error_message or "")
    assert status.amount_out == 0
    assert status.fee_lamports > 0  # a failed transaction still pays its fee
    assert sim.reserves() == after_first
    assert [s.signature for s in sim.ledger.landed_swaps()] == [first.signature]


def test_meteora_reports_its_own_slippage_error() -> None:
    sim = make_sim()
    signed = sim.swap(venue="meteora", min_out=10**15)
    before = sim.reserves("meteora")
    sim.ledger.send(signed.raw_tx)
    status = sim.ledger.signature_status(signed.signature)
    assert status is not None
    assert status.error_code == "SLIPPAGE_EXCEEDED"
    assert "0x1773" in (status.error_message or "")
    assert sim.reserves("meteora") == before


def test_landing_waits_for_the_confirmation_delay() -> None:
    sim = make_sim(latency_scale=1.0, confirm_min_ms=2000, confirm_max_ms=3000)
    signed = sim.swap()
    sim.ledger.send(signed.raw_tx)
    sim.clock.t += 1.99
    assert sim.ledger.signature_status(signed.signature) is None
    sim.clock.t += 1.02
    assert sim.ledger.signature_status(signed.signature) is not None


def test_with_latency_off_a_swap_lands_on_the_next_question() -> None:
    sim = make_sim(latency_scale=0.0)
    signed = sim.swap()
    sim.ledger.send(signed.raw_tx)
    assert sim.ledger.block_height() > 0  # any question lands what is due
    assert sim.ledger.landed_swaps()[0].signature == signed.signature


def test_blocks_follow_the_scaled_slot_time() -> None:
    sim = make_sim(latency_scale=0.5)
    start = sim.ledger.block_height()
    sim.clock.t += 2.0  # 10 blocks of 200 ms
    assert sim.ledger.block_height() == start + 10


def test_a_transaction_that_would_land_after_its_blockhash_expired_never_lands() -> None:
    sim = make_sim(latency_scale=1.0, confirm_min_ms=70_000, confirm_max_ms=70_000)
    signed = sim.swap()
    sim.ledger.send(signed.raw_tx)
    sim.clock.t += 80
    assert sim.ledger.block_height() > signed.last_valid_block_height
    assert sim.ledger.signature_status(signed.signature) is None
    assert sim.ledger.landed_swaps() == []


def test_a_transaction_without_a_swap_is_refused() -> None:
    sim = make_sim()
    keypair = Keypair()
    recent = Hash.from_string(sim.ledger.latest_blockhash().blockhash)
    message = Message.new_with_blockhash(
        [Instruction(Pubkey.default(), b"\x02\x00\x00\x00", [])], keypair.pubkey(), recent
    )
    raw = base64.b64encode(bytes(Transaction([keypair], message, recent))).decode()
    assert refused(sim.ledger, raw).code == "UNSUPPORTED_TRANSACTION"


def test_a_swap_naming_someone_elses_wallet_fails_as_the_program_fails_it() -> None:
    sim = make_sim()
    victim = Keypair().pubkey()
    program = Pubkey.from_string(sim.world.venue("raydium").program_id)
    signed = sim.swap()
    message = Transaction.from_bytes(base64.b64decode(signed.raw_tx)).message
    # Re-point SwapBaseIn's user_owner (its last account) at a key that never signs.
    instructions = instructions_of(message)
    swap = next(ix for ix in instructions if ix.program_id == program)
    metas = [*swap.accounts[:-1], AccountMeta(victim, is_signer=False, is_writable=False)]
    instructions[instructions.index(swap)] = Instruction(swap.program_id, swap.data, metas)
    forged = Message.new_with_blockhash(instructions, sim.builder.wallet, message.recent_blockhash)
    tx = Transaction([sim.keypair], forged, message.recent_blockhash)
    sim.ledger.send(base64.b64encode(bytes(tx)).decode())
    status = sim.ledger.signature_status(str(tx.signatures[0]))
    assert status is not None
    assert (status.state, status.error_code) == (TxState.FAILED, "INVALID_ACCOUNT")
    assert sim.ledger.landed_swaps() == []


def test_a_quote_after_the_landing_time_sees_the_landed_swap() -> None:
    sim = make_sim(latency_scale=1.0, confirm_min_ms=300, confirm_max_ms=300)
    before = sim.world.quote("raydium", SOL, USDC, ONE_AND_A_HALF_SOL).amount_out
    sim.ledger.send(sim.swap(min_out=1).raw_tx)
    sim.clock.t += 0.4
    # Asking the venue, not the ledger, is enough: the world lands what is due first.
    after = sim.world.quote("raydium", SOL, USDC, ONE_AND_A_HALF_SOL).amount_out
    assert after < before


def test_a_landed_swap_moves_the_wallet_by_exactly_its_amounts_and_fee() -> None:
    sim = make_sim()
    wallet = str(sim.builder.wallet)
    sim.ledger.airdrop(wallet, USDC.mint, 1)  # the USDC account exists: no rent to pay
    before = sim.ledger.balances(wallet)
    signed = sim.swap()
    sim.ledger.send(signed.raw_tx)
    (landed,) = sim.ledger.landed_swaps()
    after = sim.ledger.balances(wallet)
    assert before[NATIVE_MINT] - after[NATIVE_MINT] == ONE_AND_A_HALF_SOL + landed.fee_lamports
    assert after[USDC.mint] - before[USDC.mint] == landed.amount_out
    assert SOL.mint not in after  # wrapped for the swap, unwrapped (closed) after


def test_a_slippage_failure_moves_nothing_but_the_fee() -> None:
    sim = make_sim()
    wallet = str(sim.builder.wallet)
    before, reserves = sim.ledger.balances(wallet), sim.reserves()
    signed = sim.swap(min_out=10**15)
    sim.ledger.send(signed.raw_tx)
    status = sim.ledger.signature_status(signed.signature)
    assert status is not None
    assert (status.state, status.error_code) == (TxState.FAILED, "SLIPPAGE_EXCEEDED")
    after = sim.ledger.balances(wallet)
    assert after == {NATIVE_MINT: before[NATIVE_MINT] - status.fee_lamports}
    assert sim.reserves() == reserves


def test_a_wallet_that_cannot_pay_the_fee_never_lands() -> None:
    sim = make_sim()
    sim.builder = SwapTransactionBuilder(Keypair())  # never funded
    signed = sim.swap()
    assert sim.ledger.send(signed.raw_tx) == signed.signature
    sim.clock.t += 120  # long past its blockhash
    assert sim.ledger.signature_status(signed.signature) is None
    assert sim.ledger.landed_swaps() == []


# -- fault kinds --------------------------------------------------------------------------------


def test_a_slow_confirmation_lands_late_but_lands() -> None:
    sim = make_sim(latency_scale=1.0, slow_confirm_rate=1.0, slow_confirm_ms=10_000)
    signed = sim.swap()
    sim.ledger.send(signed.raw_tx)
    sim.clock.t += 3.5
    assert sim.ledger.signature_status(signed.signature) is None
    sim.clock.t += 10
    status = sim.ledger.signature_status(signed.signature)
    assert status is not None
    assert status.state is TxState.LANDED


def test_a_stale_blockhash_expires_before_its_transaction_can_land() -> None:
    sim = make_sim(latency_scale=1.0, expired_blockhash_rate=1.0)
    blockhash = sim.ledger.latest_blockhash()
    assert blockhash.last_valid_block_height == sim.ledger.block_height() + 1
    signed = sim.swap(blockhash=blockhash)
    sim.ledger.send(signed.raw_tx)
    sim.clock.t += 5
    assert sim.ledger.block_height() > blockhash.last_valid_block_height
    assert sim.ledger.signature_status(signed.signature) is None
    assert sim.ledger.landed_swaps() == []


def test_a_trade_ahead_moves_the_pool_past_a_tight_minimum() -> None:
    tight = make_sim(slippage_move_rate=1.0, slippage_move_bps=300)
    signed = tight.swap()  # min_out is the quote: no tolerance at all
    tight.ledger.send(signed.raw_tx)
    status = tight.ledger.signature_status(signed.signature)
    assert status is not None
    assert (status.state, status.error_code) == (TxState.FAILED, "SLIPPAGE_EXCEEDED")

    loose = make_sim(slippage_move_rate=1.0, slippage_move_bps=300)
    quote = loose.world.quote("raydium", SOL, USDC, ONE_AND_A_HALF_SOL)
    signed = loose.swap(min_out=quote.amount_out * 95 // 100)  # 5 % tolerance absorbs 3 %
    loose.ledger.send(signed.raw_tx)
    status = loose.ledger.signature_status(signed.signature)
    assert status is not None
    assert status.state is TxState.LANDED
    assert status.amount_out < quote.amount_out


def test_a_swap_with_a_second_signer_runs_both_instructions() -> None:
    sim = make_sim()
    friend = Keypair()
    sim.ledger.airdrop(str(friend.pubkey()), NATIVE_MINT, LAMPORTS_PER_SOL)
    signed = sim.swap()
    message = Transaction.from_bytes(base64.b64decode(signed.raw_tx)).message
    instructions = instructions_of(message)
    # The friend chips in 0.1 SOL to the wallet in the same transaction, and signs for it.
    gift = transfer(
        TransferParams(from_pubkey=friend.pubkey(), to_pubkey=sim.keypair.pubkey(), lamports=10**8)
    )
    both = Message.new_with_blockhash(
        [*instructions, gift], sim.keypair.pubkey(), message.recent_blockhash
    )
    tx = Transaction([sim.keypair, friend], both, message.recent_blockhash)
    sim.ledger.send(base64.b64encode(bytes(tx)).decode())
    status = sim.ledger.signature_status(str(tx.signatures[0]))
    assert status is not None
    assert status.state is TxState.LANDED
    assert sim.ledger.balances(str(friend.pubkey()))[NATIVE_MINT] == LAMPORTS_PER_SOL - 10**8
