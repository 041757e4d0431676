"""The DLMM program's error codes (`LBError`, from 6000) and the Anchor framework's it fails with.

`lb_clmm`'s `#[error_code] enum LBError` numbers its variants from 6000 in declaration order;
Anchor's own account-constraint errors have fixed numbers below that. Each reaches a client as
`custom program error: 0x..` and is logged as `AnchorError ... Error Code: <Name>. Error Number:
<n>. Error Message: <msg>.`, which `anchor_log` writes.
"""

from __future__ import annotations

from enum import IntEnum


class LbErrorCode(IntEnum):
    """`LBError` variants a swap can fail with, by their custom error number."""

    INVALID_START_BIN_INDEX = 6000
    INVALID_BIN_ID = 6001
    INVALID_INPUT = 6002
    EXCEEDED_AMOUNT_SLIPPAGE_TOLERANCE = 6003
    BIN_ARRAY_NOT_FOUND = 6009
    INVALID_TOKEN_MINT = 6010
    PAIR_INSUFFICIENT_LIQUIDITY = 6012


class AnchorErrorCode(IntEnum):
    """Anchor's account and instruction errors (`anchor_lang::error::ErrorCode`)."""

    INSTRUCTION_DID_NOT_DESERIALIZE = 102
    CONSTRAINT_HAS_ONE = 2001
    ACCOUNT_DISCRIMINATOR_MISMATCH = 3002
    ACCOUNT_NOT_ENOUGH_KEYS = 3005
    ACCOUNT_OWNED_BY_WRONG_PROGRAM = 3007
    ACCOUNT_NOT_SIGNER = 3010
    ACCOUNT_NOT_INITIALIZED = 3012


MESSAGES = {
    "INVALID_BIN_ID": "Invalid bin id",
    "EXCEEDED_AMOUNT_SLIPPAGE_TOLERANCE": "Exceeded amount slippage tolerance",
    "BIN_ARRAY_NOT_FOUND": "Bin array not found",
    "INVALID_TOKEN_MINT": "Invalid token mint",
    "PAIR_INSUFFICIENT_LIQUIDITY": "Pair insufficient liquidity",
    "INSTRUCTION_DID_NOT_DESERIALIZE": "The program could not deserialize the given instruction",
    "CONSTRAINT_HAS_ONE": "A has one constraint was violated",
    "ACCOUNT_DISCRIMINATOR_MISMATCH": "8 byte discriminator did not match what was expected",
    "ACCOUNT_NOT_ENOUGH_KEYS": "Not enough account keys given to the instruction",
    "ACCOUNT_OWNED_BY_WRONG_PROGRAM": "The given account is owned by a different program than expected",
    "ACCOUNT_NOT_SIGNER": "The given account did not sign",
    "ACCOUNT_NOT_INITIALIZED": "The program expected this account to be already initialized",
}


def pascal(name: str) -> str:
    """`EXCEEDED_AMOUNT_SLIPPAGE_TOLERANCE` → `ExceededAmountSlippageTolerance`."""
    return "".join(word.capitalize() for word in name.split("_"))


def anchor_log(name: str, number: int, *, account: str | None = None) -> str:
    """The `Program log:` line Anchor prints for an error (naming the account for a constraint)."""
    cause = f"AnchorError caused by account: {account}." if account else "AnchorError occurred."
    message = MESSAGES.get(name, pascal(name))
    return (
        f"Program log: {cause} Error Code: {pascal(name)}. Error Number: {number}. "
        f"Error Message: {message}."
    )
