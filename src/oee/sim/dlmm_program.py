"""The simulator's model of the DLMM `swap`: its account checks, errors and logs.

Checks follow the program's `Swap` accounts context: `lb_pair` has one `reserve_x`,
`reserve_y`, `token_x_mint`, `token_y_mint` and `oracle` (Anchor's `ConstraintHasOne`), `user`
signs, the user's input token account holds one of the pair's mints (`InvalidTokenMint`). The
bin arrays are the remaining accounts; a swap that walks into an array it was not given fails
with `BinArrayNotFound`, as the program does, so a stale list is refused, never guessed.
Execution is the venue's `swap_exact_in` on the decoded accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from oee.sim.bank import Bank
from oee.sim.pools import transfer_cpi_logs, user_mint
from oee.sim.swap_calls import SwapCall, SwapFailure, SwapOutcome, SwapPlan
from oee.solana.layout import LayoutError
from oee.venues.meteora import PROGRAM_ID
from oee.venues.meteora.errors import AnchorErrorCode, LbErrorCode, anchor_log, pascal
from oee.venues.meteora.instructions import SWAP_ACCOUNTS_LEN, decode_swap_instruction
from oee.venues.meteora.layout import BIN_ARRAY, BinArray, LbPair
from oee.venues.meteora.math import BinArrayMissing, MeteoraMathError
from oee.venues.meteora.math import InsufficientLiquidity as BinsExhausted
from oee.venues.meteora.quote import swap_exact_in

# `lb_clmm`'s `ExceededAmountSlippageTolerance` (0x1773), as its IDL numbers it.
SLIPPAGE_NUMBER = LbErrorCode.EXCEEDED_AMOUNT_SLIPPAGE_TOLERANCE.value
BASE_UNITS, PER_BIN_UNITS, PER_ARRAY_UNITS, MAX_UNITS = 60_000, 4_000, 10_000, 120_000
EVENT_UNITS = 2_000
_HAS_ONE = ("reserve_x", "reserve_y", "token_x_mint", "token_y_mint", "oracle")
WriteState = Callable[[LbPair, dict[int, BinArray]], None]


@dataclass(frozen=True, slots=True)
class SwapReading:
    """A swap whose accounts passed the checks, ready to run."""

    wallet: Pubkey
    source: Pubkey
    destination: Pubkey
    mint_in: Pubkey
    mint_out: Pubkey
    amount_in: int
    min_amount_out: int
    bin_arrays: tuple[BinArray, ...]

    def run(self, pair: LbPair, now: int, write: WriteState) -> SwapOutcome:
        """Execute on the decoded accounts: the plan, or the program's failure."""
        swap_for_y = self.mint_in == pair.token_x_mint
        try:
            outcome = swap_exact_in(
                pair, self.bin_arrays, self.amount_in, swap_for_y=swap_for_y, now=now
            )
        except BinArrayMissing as error:
            return lb_failure(LbErrorCode.BIN_ARRAY_NOT_FOUND, str(error))
        except BinsExhausted as error:
            code = LbErrorCode.PAIR_INSUFFICIENT_LIQUIDITY
            return lb_failure(code, str(error), ledger_code="INSUFFICIENT_LIQUIDITY")
        except MeteoraMathError as error:
            return lb_failure(LbErrorCode.INVALID_INPUT, str(error))
        quote = outcome.quote
        if quote.amount_out < self.min_amount_out:
            why = f"the swap pays {quote.amount_out}, below the minimum {self.min_amount_out}"
            return _failure(
                "EXCEEDED_AMOUNT_SLIPPAGE_TOLERANCE", SLIPPAGE_NUMBER, why, "SLIPPAGE_EXCEEDED"
            )
        units = BASE_UNITS + PER_BIN_UNITS * quote.bins_crossed
        units = min(units + PER_ARRAY_UNITS * (len(quote.bin_arrays) - 1), MAX_UNITS)
        program = str(PROGRAM_ID)
        event = [  # Anchor's event CPI: the program invokes itself with the Swap event
            f"Program {program} invoke [2]",
            f"Program {program} consumed {EVENT_UNITS} of {MAX_UNITS} compute units",
            f"Program {program} success",
        ]
        vaults = (
            (pair.reserve_x, pair.reserve_y) if swap_for_y else (pair.reserve_y, pair.reserve_x)
        )
        return SwapPlan(
            self.wallet, self.source, self.destination, *vaults, self.mint_in, self.mint_out,
            self.amount_in, quote.amount_out,
            ("Program log: Instruction: Swap", *transfer_cpi_logs(), *event), units,
            lambda: write(outcome.pair, outcome.bin_arrays),
        )  # fmt: skip


def read_swap(
    call: SwapCall, pair: LbPair, bank: Bank, arrays: dict[int, BinArray]
) -> SwapReading | SwapFailure:
    """The swap's accounts and amounts, checked as the program checks them."""
    mints = (pair.token_x_mint, pair.token_y_mint)
    try:
        ix = decode_swap_instruction(call.data, call.keys)
    except LayoutError as error:
        short = len(call.keys) < SWAP_ACCOUNTS_LEN
        name = "ACCOUNT_NOT_ENOUGH_KEYS" if short else "INSTRUCTION_DID_NOT_DESERIALIZE"
        return anchor_failure(name, str(error))
    accounts = ix.accounts
    for field in _HAS_ONE:
        if getattr(accounts, field) != getattr(pair, field):
            return anchor_failure("CONSTRAINT_HAS_ONE", f"{field} is not the pair's", "lb_pair")
    if accounts.user not in call.signers:
        return anchor_failure("ACCOUNT_NOT_SIGNER", "the user must sign", "user")
    token_in = user_mint(bank, accounts.user_token_in, accounts.user, mints)
    token_out = user_mint(bank, accounts.user_token_out, accounts.user, mints)
    if token_in is None or token_out is None or token_in == token_out:
        return lb_failure(LbErrorCode.INVALID_TOKEN_MINT, "user token accounts are not the pair's")
    given = _given_arrays(bank, accounts.lb_pair, accounts.bin_arrays)
    return SwapReading(
        accounts.user, accounts.user_token_in, accounts.user_token_out, token_in, token_out,
        ix.args.amount_in, ix.args.min_amount_out, given,
    )  # fmt: skip


def _given_arrays(bank: Bank, pair: Pubkey, keys: tuple[Pubkey, ...]) -> tuple[BinArray, ...]:
    """The remaining accounts that are this pair's bin arrays (others never serve the walk)."""
    found = []
    for key in keys:
        account = bank.store.get(key)
        if account is None or account.owner != PROGRAM_ID:
            continue
        try:
            array = BIN_ARRAY.decode(bytes(account.data))
        except LayoutError:
            continue
        if array.lb_pair == pair:
            found.append(array)
    return tuple(found)


def lb_failure(code: LbErrorCode, why: str, *, ledger_code: str = "INVALID_ACCOUNT") -> SwapFailure:
    """The program failing with one of its own errors."""
    return _failure(code.name, code.value, why, ledger_code)


def anchor_failure(name: str, why: str, account: str | None = None) -> SwapFailure:
    """Anchor refusing the accounts or data before the program runs."""
    return _failure(name, AnchorErrorCode[name].value, why, "INVALID_ACCOUNT", account)


def _failure(
    name: str, number: int, why: str, ledger_code: str, account: str | None = None
) -> SwapFailure:
    logs = ("Program log: Instruction: Swap", anchor_log(name, number, account=account))
    message = f"custom program error: {number:#x} ({pascal(name)}): {why}"
    return SwapFailure(ledger_code, {"Custom": number}, message, logs, BASE_UNITS // 2)
