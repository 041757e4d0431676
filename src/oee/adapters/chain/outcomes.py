"""Reading the node's answers about transactions and wallets into the `Chain` port's records.

A landed swap's outcome comes from `getTransaction` (base64): its error, mapped to the codes the
executor acts on, with the programs' own log lines; or what it paid, read from the balances
around it (never from the quote). A -32002 preflight failure says only that this one send was
not forwarded (see `oee.adapters.chain.rpc`).
"""

from __future__ import annotations

import base64
from typing import Any

from solders.signature import Signature
from solders.transaction import Transaction

from oee.adapters.chain.jsonrpc import RpcFault
from oee.domain.errors import ExecutionError
from oee.domain.ports import TokenBalance, TxState, TxStatus, WalletBalances
from oee.solana.spl import WSOL_MINT, associated_token_address
from oee.venues.meteora.errors import LbErrorCode
from oee.venues.raydium.errors import AmmErrorCode

# Custom program errors that mean "the pool paid less than minAmountOut".
PROGRAM_ERRORS = {
    AmmErrorCode.EXCEEDED_SLIPPAGE.value: "SLIPPAGE_EXCEEDED",  # Raydium AMM v4 (0x1e)
    LbErrorCode.EXCEEDED_AMOUNT_SLIPPAGE_TOLERANCE.value: "SLIPPAGE_EXCEEDED",  # DLMM (0x1773)
    1: "INSUFFICIENT_FUNDS",  # SPL Token InsufficientFunds
}
# The runtime's own instruction errors.
INSTRUCTION_ERRORS = {
    "InvalidAccountData": "INVALID_ACCOUNT",
    "InsufficientFunds": "INSUFFICIENT_FUNDS",
}


def outcome(slot: int, tx: dict[str, Any], mint_out: str | None) -> TxStatus:
    """A landed transaction's outcome from getTransaction (base64 encoding)."""
    meta = tx["meta"]
    if meta["err"] is not None:
        code, message = failure(meta["err"], meta.get("logMessages") or [])
        return TxStatus(
            TxState.FAILED, slot, error_code=code, error_message=message, fee_lamports=meta["fee"]
        )
    amount_out = received(tx["transaction"][0], meta, mint_out)
    return TxStatus(TxState.LANDED, slot, amount_out=amount_out, fee_lamports=meta["fee"])


def preflight_outcome(fault: RpcFault, raw_tx: str) -> str:
    """A -32002: already processed is a success; anything else leaves the status to decide."""
    err = fault.data.get("err") if isinstance(fault.data, dict) else None
    if err == "AlreadyProcessed":
        # The first signature of the wire transaction (one byte of signature count first).
        return str(Signature.from_bytes(base64.b64decode(raw_tx)[1:65]))
    if err == "BlockhashNotFound":
        raise ExecutionError(
            "blockhash not found: expired or unknown, sign again with a recent one",
            code="BLOCKHASH_EXPIRED",
            retryable=True,
        )
    code, message = failure(
        err, fault.data.get("logs") or [] if isinstance(fault.data, dict) else []
    )
    raise ExecutionError(f"preflight refused the send: {message}", code=code, retryable=True)


def failure(err: Any, logs: list[str]) -> tuple[str, str]:
    """A machine code and a sentence for a `TransactionError`, with the programs' own words."""
    code, text = "TRANSACTION_FAILED", f"transaction failed: {err}"
    if isinstance(err, dict) and "InstructionError" in err:
        index, detail = err["InstructionError"]
        if isinstance(detail, dict) and "Custom" in detail:
            custom = int(detail["Custom"])
            code = PROGRAM_ERRORS.get(custom, "PROGRAM_ERROR")
            text = f"instruction {index} failed: custom program error {custom:#x}"
        else:
            code = INSTRUCTION_ERRORS.get(detail, "PROGRAM_ERROR")
            text = f"instruction {index} failed: {detail}"
    # What the programs said about it, minus the instruction names ("Instruction: Swap").
    said = [
        line.removeprefix("Program log: ")
        for line in logs
        if line.startswith("Program log: ") and not line.startswith("Program log: Instruction:")
    ]
    return code, f"{text} ({'; '.join(said)})" if said else text


def received(wire_tx: str, meta: dict[str, Any], mint_out: str | None = None) -> int:
    """What the swap paid the fee payer, read from the balances around the transaction.

    Receiving SOL unwraps it (the wSOL account is closed in the same transaction), so it shows
    as the payer's lamports, net of the fee; any other token shows in the payer's account of
    that mint. Without `mint_out`, the mint is the one whose payer-owned balance grew (SOL
    when none did).
    """
    keys = Transaction.from_bytes(base64.b64decode(wire_tx)).message.account_keys
    if mint_out is None:
        mint_out = _grown_mint(str(keys[0]), meta)
    if mint_out == str(WSOL_MINT):
        # Closing the wSOL account hands the payer everything it held (the output, any wSOL
        # it held before, its rent), so its own change is taken off again.
        pre, post = meta["preBalances"], meta["postBalances"]
        received = int(post[0]) - int(pre[0]) + int(meta["fee"])
        wsol_account = associated_token_address(keys[0], WSOL_MINT)
        if wsol_account in keys:
            index = keys.index(wsol_account)
            received += int(post[index]) - int(pre[index])
        return received
    payer = str(keys[0])

    def held(balances: list[dict[str, Any]] | None) -> int:
        return sum(
            int(b["uiTokenAmount"]["amount"])
            for b in balances or []
            if b.get("owner") == payer and b.get("mint") == mint_out
        )

    return max(0, held(meta.get("postTokenBalances")) - held(meta.get("preTokenBalances")))


def wallet_balances(balance: Any, accounts: Any) -> WalletBalances:
    """getBalance and getTokenAccountsByOwner (jsonParsed) answers as one reading."""
    tokens = []
    for keyed in accounts["value"]:
        info = keyed["account"]["data"]["parsed"]["info"]
        amount = info["tokenAmount"]
        tokens.append(
            TokenBalance(
                mint=str(info["mint"]),
                account=str(keyed["pubkey"]),
                amount=int(amount["amount"]),
                decimals=int(amount["decimals"]),
            )
        )
    slot = min(int(balance["context"]["slot"]), int(accounts["context"]["slot"]))
    ordered = tuple(sorted(tokens, key=lambda t: (t.mint, t.account)))
    return WalletBalances(int(balance["value"]), ordered, slot)


def _grown_mint(payer: str, meta: dict[str, Any]) -> str:
    """The mint of the payer's token account that grew most in the transaction (else wSOL)."""
    change: dict[str, int] = {}
    for sign, key in ((-1, "preTokenBalances"), (1, "postTokenBalances")):
        for b in meta.get(key) or []:
            if b.get("owner") == payer:
                mint = str(b.get("mint"))
                change[mint] = change.get(mint, 0) + sign * int(b["uiTokenAmount"]["amount"])
    grown = [(amount, mint) for mint, amount in change.items() if amount > 0]
    return max(grown)[1] if grown else str(WSOL_MINT)
