"""Pair launches: the log lines a DLMM pair creation prints, and how a listener recognises one.

Solana's runtime logs each invocation as `Program <id> invoke [<depth>]` and its end as
`Program <id> success` (or `failed: ...`); BPF programs also log
`Program <id> consumed <n> of <budget> compute units` before ending. Anchor's dispatcher logs
`Program log: Instruction: <Name>` first thing, `<Name>` being the instruction in PascalCase
(`initialize_lb_pair` → `InitializeLbPair`). Creating a pair, `lb_clmm` creates the pair, reserve
and oracle accounts through the System program, initialises each reserve through the token
program (`InitializeAccount3`), then emits its `LbPairCreate` event by invoking itself (Anchor's
event CPI, which logs nothing of its own).

Logs carry no addresses, so a listener that sees a creation fetches the transaction and reads
the pair's accounts from the creating instruction (`new_pairs_in_transaction`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.token import ID as TOKEN_PROGRAM_ID

from oee.venues.meteora import PROGRAM_ID

# Instructions that create a pair, by Anchor discriminator (IDL): log name, and the position
# of `lb_pair` in the account list (the permissioned variant puts its `base` signer first).
PAIR_CREATIONS: dict[bytes, tuple[str, int]] = {
    bytes([45, 154, 237, 210, 221, 15, 166, 92]): ("InitializeLbPair", 0),
    bytes([73, 59, 36, 120, 237, 83, 108, 198]): ("InitializeLbPair2", 0),
    bytes([46, 39, 41, 135, 111, 183, 200, 64]): ("InitializeCustomizablePermissionlessLbPair", 0),
    bytes([243, 73, 129, 126, 51, 19, 241, 107]): (
        "InitializeCustomizablePermissionlessLbPair2",
        0,
    ),
    bytes([108, 102, 213, 85, 251, 3, 53, 21]): ("InitializePermissionLbPair", 1),
}
PAIR_CREATION_NAMES = frozenset(name for name, _ in PAIR_CREATIONS.values())
_INSTRUCTION_PREFIX = "Program log: Instruction: "
# In every creation variant the funder (or admin) paying for the accounts is the 9th account:
# after the seven pair accounts and a preset parameter or user token account, or after `base`
# and the seven pair accounts in the permissioned variant.
_CREATOR_POSITION = 8


@dataclass(frozen=True, slots=True)
class PairCreationLog:
    """A pair creation seen in a transaction's logs."""

    instruction: str  # e.g. "InitializeLbPair"
    depth: int  # 1 when the transaction calls the program directly, more through a CPI


@dataclass(frozen=True, slots=True)
class NewPair:
    """The accounts of a pair a transaction created, read from its creating instruction."""

    instruction: str
    lb_pair: Pubkey
    token_x_mint: Pubkey
    token_y_mint: Pubkey
    reserve_x: Pubkey
    reserve_y: Pubkey
    oracle: Pubkey
    creator: Pubkey
    active_id: int  # the first argument of every creation variant


class CompiledInstructionLike(Protocol):
    """An instruction as a transaction message stores it (solders' `CompiledInstruction`)."""

    @property
    def program_id_index(self) -> int: ...

    @property
    def accounts(self) -> Sequence[int]: ...

    @property
    def data(self) -> bytes: ...


def format_pair_creation_logs(
    *,
    instruction: str = "InitializeLbPair",
    token_program: Pubkey = TOKEN_PROGRAM_ID,
    with_bitmap_extension: bool = False,
    compute_budget: int = 200_000,
    reserve_init_units: int = 3_000,
    event_units: int = 2_000,
    program_units: int = 40_000,
) -> list[str]:
    """The log lines of a successful top-level pair creation, in the runtime's format.

    Accounts are created in the IDL's account order (pair, optional bitmap extension, reserve X,
    reserve Y, oracle). Compute unit figures are parameters, not measurements: the parser
    ignores them, and real values vary with the build.
    """
    program, system, token = str(PROGRAM_ID), str(SYSTEM_PROGRAM_ID), str(token_program)
    lines = [f"Program {program} invoke [1]", f"{_INSTRUCTION_PREFIX}{instruction}"]
    used = program_units

    def create_account() -> None:
        lines.extend([f"Program {system} invoke [2]", f"Program {system} success"])

    def init_reserve() -> None:
        nonlocal used
        create_account()
        lines.extend(
            [
                f"Program {token} invoke [2]",
                f"{_INSTRUCTION_PREFIX}InitializeAccount3",
                f"Program {token} consumed {reserve_init_units} of "
                f"{compute_budget - used} compute units",
                f"Program {token} success",
            ]
        )
        used += reserve_init_units

    create_account()  # the pair
    if with_bitmap_extension:
        create_account()
    init_reserve()
    init_reserve()
    create_account()  # the oracle
    lines.extend(
        [
            f"Program {program} invoke [2]",
            f"Program {program} consumed {event_units} of {compute_budget - used} compute units",
            f"Program {program} success",
        ]
    )
    used += event_units
    lines.extend(
        [
            f"Program {program} consumed {used} of {compute_budget} compute units",
            f"Program {program} success",
        ]
    )
    return lines


def parse_pair_creations(logs: Sequence[str]) -> list[PairCreationLog]:
    """The DLMM pair creations a transaction's logs show completing successfully.

    An `Instruction:` line counts only when the DLMM program is the one running (so a token
    program's own instruction names never match) and only once that invocation logs `success`
    (a failed or truncated invocation created nothing).
    """
    stack: list[tuple[str, int, str | None]] = []  # program, depth, instruction it logged
    found: list[PairCreationLog] = []
    program = str(PROGRAM_ID)
    for line in logs:
        words = line.split()
        if len(words) == 4 and words[0] == "Program" and words[2] == "invoke":
            stack.append((words[1], int(words[3].strip("[]")), None))
        elif line.startswith(_INSTRUCTION_PREFIX) and stack and stack[-1][2] is None:
            invoked, depth, _ = stack[-1]
            stack[-1] = (invoked, depth, line.removeprefix(_INSTRUCTION_PREFIX).strip())
        elif len(words) >= 3 and words[0] == "Program" and stack and words[1] == stack[-1][0]:
            if words[2] == "success":
                invoked, depth, name = stack.pop()
                if invoked == program and name in PAIR_CREATION_NAMES:
                    found.append(PairCreationLog(name, depth))
            elif words[2] == "failed:":
                stack.pop()
    return found


def is_pair_creation(logs: Sequence[str]) -> bool:
    """Whether the logs (a `logsNotification`'s `value.logs`) show a DLMM pair created."""
    return bool(parse_pair_creations(logs))


def new_pair_from_instruction(
    account_keys: Sequence[Pubkey], account_indexes: Sequence[int], data: bytes
) -> NewPair | None:
    """The pair a DLMM creation instruction makes, or None for any other DLMM instruction.

    Args:
        account_keys: The transaction's full account list (static keys, then any addresses
            loaded from lookup tables, writable before read-only, as `getTransaction` gives).
        account_indexes: The instruction's account indexes into `account_keys`.
        data: The instruction data (decoded from base58).
    """
    creation = PAIR_CREATIONS.get(bytes(data[:8]))
    if creation is None or len(data) < 12:
        return None
    name, first = creation
    keys = [account_keys[i] for i in account_indexes]
    if len(keys) <= _CREATOR_POSITION:
        return None
    lb_pair, _bitmap, mint_x, mint_y, reserve_x, reserve_y, oracle = keys[first : first + 7]
    return NewPair(
        instruction=name,
        lb_pair=lb_pair,
        token_x_mint=mint_x,
        token_y_mint=mint_y,
        reserve_x=reserve_x,
        reserve_y=reserve_y,
        oracle=oracle,
        creator=keys[_CREATOR_POSITION],
        active_id=int.from_bytes(data[8:12], "little", signed=True),
    )


def new_pairs_in_transaction(
    account_keys: Sequence[Pubkey], instructions: Iterable[CompiledInstructionLike]
) -> list[NewPair]:
    """Every pair the given instructions create (pass inner instructions too, to catch a pair
    created through another program's CPI)."""
    found: list[NewPair] = []
    for instruction in instructions:
        if account_keys[instruction.program_id_index] != PROGRAM_ID:
            continue
        pair = new_pair_from_instruction(account_keys, instruction.accounts, instruction.data)
        if pair is not None:
            found.append(pair)
    return found
