"""A launch transaction read from `getTransaction`: every account key and every instruction.

The venue helpers that find a new pool take a transaction's account keys and compiled
instructions. A v0 transaction's keys continue past its static ones with the addresses its
lookup tables loaded (`meta.loadedAddresses`: writable, then read-only), as instruction indexes
count them; inner instructions (`meta.innerInstructions`) are included so that a pool created
through another program's CPI (a launchpad's migration) is found too.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from solders.instruction import CompiledInstruction
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from oee.domain.errors import ExecutionError
from oee.solana.base58 import b58decode

Json = Any
# `getTransaction` as `RpcChain.transaction` answers it: the node's object, or None.
FetchTransaction = Callable[[str], Awaitable[dict[str, Json] | None]]


@dataclass(frozen=True, slots=True)
class ChainTransaction:
    """A landed transaction as the venue helpers read it."""

    signature: str
    slot: int | None
    succeeded: bool  # False: it failed on chain, and created nothing
    account_keys: tuple[Pubkey, ...]
    instructions: tuple[CompiledInstruction, ...]  # top-level ones, then inner ones


def read_transaction(signature: str, result: dict[str, Json]) -> ChainTransaction:
    """Decode a base64 `getTransaction` answer.

    Raises:
        ValueError: It is not one (the message says what is missing or malformed).
    """
    try:
        data, encoding = result["transaction"]
        if encoding != "base64":
            raise ValueError(f"the transaction is {encoding}, asked for base64")
        message = VersionedTransaction.from_bytes(base64.b64decode(data)).message
        meta = result.get("meta") or {}
        loaded = meta.get("loadedAddresses") or {}
        extra = [*loaded.get("writable", []), *loaded.get("readonly", [])]
        inner = [
            CompiledInstruction(ix["programIdIndex"], b58decode(ix["data"]), bytes(ix["accounts"]))
            for group in meta.get("innerInstructions") or []
            for ix in group["instructions"]
        ]
        slot = result.get("slot")
        return ChainTransaction(
            signature=signature,
            slot=int(slot) if slot is not None else None,
            succeeded=meta.get("err") is None,
            account_keys=(*message.account_keys, *map(Pubkey.from_string, extra)),
            instructions=(*message.instructions, *inner),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"unreadable getTransaction answer for {signature}: {error!r}") from None


async def fetch_transaction(
    fetch: FetchTransaction, signature: str, *, attempts: int, retry_s: float
) -> ChainTransaction | None:
    """The transaction, asked up to `attempts` times while the node does not have it yet.

    A node notifies logs as it executes a transaction and serves `getTransaction` once the
    slot reaches the asked commitment (and an indexing RPC provider a little later still): a
    `null` or a retryable error is asked again after `retry_s`, doubling each time.

    Returns:
        The transaction, or None when the node never had it.

    Raises:
        ExecutionError: Not retryable (RPC_ERROR), or still failing on the last attempt.
        ValueError: The answer is not a transaction.
    """
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            result = await fetch(signature)
        except ExecutionError as error:
            if last or not error.retryable:
                raise
            result = None
        if result is not None:
            return read_transaction(signature, result)
        if not last:
            await asyncio.sleep(retry_s * 2**attempt)
    return None
