"""The program's error codes (`error.rs`) and the exceptions this package raises.

A Raydium failure reaches a client as `custom program error: 0x..`, the `AmmError` variant's
index; the simulator prints the same code when it rejects what the program would reject, so an
`AmmProgramError` carries it. Only the variants the swap and pool-creation paths can return are
listed (the enum's order is fixed: each value is its position in `error.rs`).
"""

from __future__ import annotations

from enum import IntEnum


class AmmErrorCode(IntEnum):
    """`AmmError` variants by their `ProgramError::Custom` code."""

    ALREADY_IN_USE = 0
    INVALID_PROGRAM_ADDRESS = 1
    EXPECTED_ACCOUNT = 3
    INVALID_COIN_VAULT = 4
    INVALID_PC_VAULT = 5
    INVALID_OPEN_ORDERS = 10
    INVALID_MARKET = 11
    INVALID_MARKET_PROGRAM = 12
    INVALID_COIN_MINT = 16
    INVALID_PC_MINT = 17
    INVALID_SUPPLY = 19
    INVALID_SIGN_ACCOUNT = 21
    INVALID_STATUS = 22
    WRONG_ACCOUNTS_NUMBER = 24
    INVALID_AMM_ACCOUNT_OWNER = 27
    INVALID_INPUT = 29
    EXCEEDED_SLIPPAGE = 30
    CHECKED_SUB_OVERFLOW = 32
    INVALID_SPL_TOKEN_PROGRAM = 38
    INSUFFICIENT_FUNDS = 40
    INVALID_USER_TOKEN = 42
    INVALID_SYS_PROGRAM_ADDRESS = 47
    INVALID_FEE = 48
    REPEAT_CREATE_AMM = 49
    INVALID_CONFIG_ACCOUNT = 54
    INIT_LP_AMOUNT_TOO_LESS = 57

    def program_log(self) -> str:
        """The line the program prints before failing with this code (`PrintProgramError`)."""
        return f"Program log: Error: {_PRINTED.get(self, self.name.title().replace('_', ''))}"


# Where the printed text is not the variant's name (`error.rs`, `PrintProgramError::print`).
_PRINTED = {
    AmmErrorCode.INVALID_PC_VAULT: "InvalidPCVault",
    AmmErrorCode.INVALID_PC_MINT: "InvalidPCMint",
    AmmErrorCode.INVALID_SIGN_ACCOUNT: "Invalid Sign Account",
    AmmErrorCode.INVALID_AMM_ACCOUNT_OWNER: "The amm account owner is not match with this program",
    AmmErrorCode.EXCEEDED_SLIPPAGE: "exceeds desired slippage limit",
    AmmErrorCode.CHECKED_SUB_OVERFLOW: "Checked_Sub Overflow",
    AmmErrorCode.INVALID_SPL_TOKEN_PROGRAM: "InvalidSplTokenProgram",
    AmmErrorCode.INSUFFICIENT_FUNDS: "insufficient funds",
    AmmErrorCode.INVALID_USER_TOKEN: "User token input does not match amm",
    AmmErrorCode.INVALID_SYS_PROGRAM_ADDRESS: "InvalidSysProgramAddress",
    AmmErrorCode.REPEAT_CREATE_AMM: "RepeatCreateAmm",
    AmmErrorCode.INIT_LP_AMOUNT_TOO_LESS: (
        "Init lp amount is too less(Because 10**lp_decimals amount lp will be locked)"
    ),
}


class RaydiumError(ValueError):
    """Anything this package refuses: bytes that are not Raydium's, or a swap it cannot price."""


class AmmProgramError(RaydiumError):
    """What the on-chain program would fail with, as `ProgramError::Custom(code)`."""

    def __init__(self, code: AmmErrorCode, detail: str = "") -> None:
        self.code = code
        super().__init__(f"{code.name} (custom program error: {code.value:#x}) {detail}".strip())


class InvalidInstructionDataError(RaydiumError):
    """Instruction bytes the program's `AmmInstruction::unpack` rejects (the runtime's built-in
    `InvalidInstructionData`, not a custom code)."""


class NotEnoughAccountKeysError(RaydiumError):
    """Fewer accounts than the instruction reads (the runtime's `NotEnoughAccountKeys`)."""


class ZeroLiquidityError(RaydiumError):
    """A pool with an empty side: there is no price to quote against."""
