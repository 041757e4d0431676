"""Real program binaries run by litesvm instead of the simulator's models.

`OEE_SIM_PROGRAMS_DIR` holds `<program id>.so` files (SBF ELF, as `cargo build-sbf` or
`solana program dump` writes them). At start each is loaded into litesvm under its id; from
then on every instruction addressed to that id is executed by the binary (`oee.sim.native`),
including a venue's: a `.so` named with Raydium's or DLMM's program id takes that venue's
instructions from the model. Nothing of any venue's binary ships with the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solders.pubkey import Pubkey

from oee.sim.bank import Bank

SUFFIX = ".so"


class ProgramLoadError(ValueError):
    """A programs directory or file the simulator cannot load; the message names the file."""


@dataclass(frozen=True, slots=True)
class LoadedProgram:
    """A binary loaded into the chain: its program id, its file and its size."""

    program_id: Pubkey
    path: Path
    size: int


def find_programs(directory: Path) -> list[tuple[Pubkey, Path]]:
    """Every `<program id>.so` in `directory`, by file name (other files are ignored).

    Raises:
        ProgramLoadError: The directory does not exist, or a `.so` file's name is not a
            base58 public key.
    """
    if not directory.is_dir():
        raise ProgramLoadError(f"OEE_SIM_PROGRAMS_DIR {directory} is not a directory")
    found = []
    for path in sorted(directory.iterdir()):
        if path.suffix != SUFFIX or not path.is_file():
            continue
        try:
            program_id = Pubkey.from_string(path.stem)
        except ValueError:
            raise ProgramLoadError(
                f"{path}: the file name must be the program id (a base58 public key) + .so"
            ) from None
        found.append((program_id, path))
    return found


def load_programs(bank: Bank, directory: Path | None) -> list[LoadedProgram]:
    """Load every binary of `directory` into the bank's litesvm (None: nothing to load).

    Raises:
        ProgramLoadError: A bad file name, an unreadable file, or one litesvm rejects (not
            an SBF ELF it can verify), naming the file.
    """
    if directory is None:
        return []
    loaded = []
    for program_id, path in find_programs(directory):
        try:
            elf = path.read_bytes()
        except OSError as error:
            raise ProgramLoadError(f"{path}: cannot read it: {error.strerror}") from None
        try:
            bank.store.svm.add_program(program_id, elf)
        except Exception as error:  # litesvm raises its own error type for a bad ELF
            raise ProgramLoadError(
                f"{path}: litesvm rejects it as a program binary: {error}"
            ) from None
        loaded.append(LoadedProgram(program_id, path, len(elf)))
    bank.programs = frozenset(program.program_id for program in loaded)
    return loaded
