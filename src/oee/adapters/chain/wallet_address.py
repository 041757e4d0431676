"""The engine wallet's public address, in a file beside its keypair, for processes that only
need to know it.

An API process reports the wallet (`GET /api/wallet`) but signs nothing, so it must never read
the keypair file, which holds the secret key. Every worker that loads the keypair writes the
address to `<keypair file>.pub` (world-readable: an address is public), and the API reads only
that file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from solders.pubkey import Pubkey


def address_path(keypair_path: Path) -> Path:
    """Where the address of the keypair at `keypair_path` is published."""
    return keypair_path.with_name(keypair_path.name + ".pub")


def publish_address(keypair_path: Path, address: Pubkey) -> None:
    """Write `address` to `address_path(keypair_path)`, atomically, unless it is there already."""
    path = address_path(keypair_path)
    text = f"{address}\n"
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".address-")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_address(keypair_path: Path) -> str:
    """The wallet's address as a worker published it.

    Raises:
        FileNotFoundError: No worker has published it yet.
        ValueError: The file does not hold a Solana address.
    """
    path = address_path(keypair_path)
    text = path.read_text().strip()
    try:
        return str(Pubkey.from_string(text))
    except ValueError:
        raise ValueError(f"{path} does not hold a Solana address") from None
