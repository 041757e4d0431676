"""The snapshot file: one gzip-compressed JSON document, written atomically, versioned.

`<data dir>/chain.json.gz` holds `{"format": "oee-sim-snapshot", "version": 1, "seed": ...,
"state": {...}}` (`oee.sim.snapshot`). A write goes to a temporary file in the same directory,
is fsynced, renamed over the old one and the directory fsynced, so a crash leaves the previous
snapshot or the new one, never half of one. A lock file (`flock`) keeps a second simulator
from using the same directory. An unreadable, foreign or newer file stops the start with an
error naming the file and the reset command.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
from pathlib import Path
from typing import IO, Any

FILE_NAME = "chain.json.gz"
LOCK_NAME = "chain.lock"
FORMAT = "oee-sim-snapshot"
VERSION = 1
RESET_HINT = "`oee sim reset --data-dir {dir}` starts a new chain"

Json = Any


class SnapshotError(Exception):
    """A snapshot that cannot be used; the message names the file and how to reset."""


def snapshot_path(directory: Path) -> Path:
    """Where the snapshot of the chain in `directory` lives."""
    return directory / FILE_NAME


def encode(seed: int, state: dict[str, Json]) -> bytes:
    """The file's bytes for a state (compact JSON, gzip level 1: fast, and zeros compress)."""
    document = {"format": FORMAT, "version": VERSION, "seed": seed, "state": state}
    text = json.dumps(document, separators=(",", ":"))
    return gzip.compress(text.encode(), compresslevel=1, mtime=0)


def write(directory: Path, data: bytes) -> None:
    """Replace the snapshot with `data` atomically (temp file, fsync, rename, fsync dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = snapshot_path(directory)
    temporary = target.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(target)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read(directory: Path, seed: int) -> dict[str, Json] | None:
    """The saved state, or None when there is no snapshot yet.

    Raises:
        SnapshotError: The file is not a snapshot (corrupt, truncated, foreign), was written
            by a newer format version, or with another `OEE_SIM_SEED`.
    """
    path = snapshot_path(directory)
    hint = RESET_HINT.format(dir=directory)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SnapshotError(f"cannot read the simulator's snapshot {path}: {error}") from None
    try:
        document = json.loads(gzip.decompress(raw))
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError("not an oee simulator snapshot")
        version = document.get("version")
        state = document["state"]
    except (OSError, EOFError, ValueError, KeyError, TypeError) as error:
        raise SnapshotError(
            f"the simulator's snapshot {path} is unreadable ({error}); {hint}"
        ) from None
    if not isinstance(version, int) or version > VERSION:
        raise SnapshotError(
            f"the simulator's snapshot {path} has format version {version!r}, newer than this "
            f"oee reads ({VERSION}): upgrade oee, or {hint}"
        )
    if document.get("seed") != seed:
        raise SnapshotError(
            f"the simulator's snapshot {path} is a chain of OEE_SIM_SEED={document.get('seed')}, "
            f"not {seed}: start with that seed, or {hint}"
        )
    if not isinstance(state, dict):
        raise SnapshotError(f"the simulator's snapshot {path} has no state; {hint}")
    return state


def lock(directory: Path) -> IO[bytes]:
    """Hold the directory's lock for as long as the returned file stays open.

    Raises:
        SnapshotError: Another simulator holds it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    file = (directory / LOCK_NAME).open("wb")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise SnapshotError(
            f"another simulator is using {directory}: stop it, or give this one its own "
            "--data-dir (OEE_SIM_DATA_DIR)"
        ) from None
    return file


def delete(directory: Path) -> bool:
    """Remove the snapshot (a reset); whether there was one.

    Raises:
        SnapshotError: A simulator is running on the directory.
    """
    held = lock(directory)
    try:
        path = snapshot_path(directory)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed
    finally:
        held.close()
