"""The simulated node's account methods, in agave's wire formats.

| method | params | result |
|---|---|---|
| `getAccountInfo` | pubkey, `{encoding, dataSlice, commitment, minContextSlot}`? | `{context, value: account or null}` |
| `getMultipleAccounts` | up to 100 pubkeys, the same config | `{context, value: [account or null]}` |
| `getProgramAccounts` | program id, `{encoding, filters, dataSlice, withContext, ...}`? | `[{pubkey, account}]`, or `{context, value}` with `withContext` |
| `getRecentPrioritizationFees` | up to 128 pubkeys? | `[{slot, prioritizationFee}]`, the last 150 slots |

An account is `{"data": ["<base64>", "base64"], "executable", "lamports", "owner", "rentEpoch",
"space"}`. Encodings: `base64` (the default here for binary data), `base58` (128 bytes at
most, as agave), `jsonParsed` (answered as base64, as agave does for data it cannot parse);
`base64+zstd` is refused. Filters: `dataSize` and `memcmp` (`offset` and `bytes`, base58 or
with `"encoding": "base64"`), at most 4. `getProgramAccounts` reads the bank's owner index.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from oee.sim import rpc_wire as wire
from oee.sim.ledger import SimLedger
from oee.sim.rpc_wire import RpcError, context
from oee.solana.base58 import b58decode, b58encode

Json = Any
MAX_MULTIPLE_ACCOUNTS = 100
MAX_FILTERS = 4
MAX_MEMCMP_BASE58 = 128  # characters: agave's MAX_DATA_BASE58_SIZE
MAX_BASE58_DATA = 128  # bytes an account may have to be answered in base58
MAX_FEE_ACCOUNTS = 128
RECENT_FEE_SLOTS = 150
ENCODINGS = ("base64", "base58", "binary", "jsonParsed")


class AccountMethods:
    """Account reads over the ledger's accounts (pools included, in the venues' layouts)."""

    def __init__(self, ledger: SimLedger, seed: int) -> None:
        self._ledger = ledger
        self._seed = seed

    def methods(self) -> dict[str, Callable[[list[Json]], Json]]:
        """The JSON-RPC methods, by name."""
        return {
            "getAccountInfo": self.get_account_info,
            "getMultipleAccounts": self.get_multiple_accounts,
            "getProgramAccounts": self.get_program_accounts,
            "getRecentPrioritizationFees": self.get_recent_prioritization_fees,
        }

    def get_account_info(self, params: list[Json]) -> Json:
        address = _pubkey(wire.arg(params, 0, str))
        config = wire.config(params, 1)
        height = self._checked_height(config)
        account = self._ledger.accounts.get(address)
        return context(height, None if account is None else _account(account, config))

    def get_multiple_accounts(self, params: list[Json]) -> Json:
        keys = wire.arg(params, 0, list)
        if len(keys) > MAX_MULTIPLE_ACCOUNTS:
            raise RpcError(-32602, f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        addresses = [_pubkey(key) for key in keys]
        config = wire.config(params, 1)
        height = self._checked_height(config)
        store = self._ledger.accounts
        value = []
        for address in addresses:
            account = store.get(address)
            value.append(None if account is None else _account(account, config))
        return context(height, value)

    def get_program_accounts(self, params: list[Json]) -> Json:
        program = _pubkey(wire.arg(params, 0, str))
        config = wire.config(params, 1)
        height = self._checked_height(config)
        matches = _filters(config.get("filters"))
        found = [
            {"pubkey": str(address), "account": _account(account, config)}
            for address, account in self._ledger.accounts.owned_by(program)
            if all(match(bytes(account.data)) for match in matches)
        ]
        return context(height, found) if config.get("withContext") else found

    def get_recent_prioritization_fees(self, params: list[Json]) -> Json:
        """Per recent slot, the lowest fee that landed a transaction locking every account
        given (deterministic from the seed): mostly small, with spikes, as on mainnet."""
        keys = params[0] if params else []
        if not isinstance(keys, list):
            raise RpcError(-32602, "Invalid params: expected an array of account addresses")
        if len(keys) > MAX_FEE_ACCOUNTS:
            raise RpcError(-32602, f"Too many inputs provided; max {MAX_FEE_ACCOUNTS}")
        accounts = sorted({str(_pubkey(key)) for key in keys})
        latest = wire.slot(self._ledger.block_height())
        return [
            {"slot": slot, "prioritizationFee": self._fee(slot, accounts)}
            for slot in range(latest - RECENT_FEE_SLOTS + 1, latest + 1)
        ]

    def _fee(self, slot: int, accounts: list[str]) -> int:
        """A slot's fee in micro-lamports per compute unit: the highest among its accounts'."""
        return max(self._draw(slot, key) for key in ["", *accounts])

    def _draw(self, slot: int, account: str) -> int:
        digest = hashlib.sha256(f"oee-sim/fees/{self._seed}/{slot}/{account}".encode()).digest()
        roll, size = digest[0], int.from_bytes(digest[1:5], "little")
        if account and roll < 192:  # most slots see no contention on one given account
            return 0
        if roll < 96:
            return 0
        if roll < 224:
            return size % 20_000  # the usual: a few thousand micro-lamports
        if roll < 252:
            return 20_000 + size % 500_000
        return 500_000 + size % 5_000_000  # a spike: a launch, a liquidation cascade

    def _checked_height(self, config: dict[str, Json]) -> int:
        height = self._ledger.block_height()
        wanted = config.get("minContextSlot")
        if wanted is not None:
            if not isinstance(wanted, int) or isinstance(wanted, bool):
                raise RpcError(-32602, "Invalid params: minContextSlot must be an integer")
            if wanted > wire.slot(height):
                raise RpcError(
                    -32016,
                    "Minimum context slot has not been reached",
                    {"contextSlot": wire.slot(height)},
                )
        commitment = config.get("commitment", "finalized")
        if commitment not in ("processed", "confirmed", "finalized"):
            raise RpcError(-32602, f"Invalid params: unknown commitment {commitment!r}")
        return height


def _account(account: Account, config: dict[str, Json]) -> dict[str, Json]:
    """An `UiAccount` in the requested encoding, sliced as asked."""
    data = bytes(account.data)
    encoding = config.get("encoding", "base64")
    if encoding not in ENCODINGS:
        if encoding == "base64+zstd":
            raise RpcError(-32602, "Invalid params: base64+zstd is not supported by this node")
        raise RpcError(-32602, f"Invalid params: unknown encoding {encoding!r}")
    sliced = _slice(data, config.get("dataSlice"))
    encoded: Json
    if encoding in ("base58", "binary"):
        if len(sliced) > MAX_BASE58_DATA:
            raise RpcError(
                -32600,
                "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 "
                "encoding.",
            )
        text = b58encode(sliced)
        encoded = text if encoding == "binary" else [text, "base58"]
    else:  # base64; jsonParsed falls back to it for data it cannot parse
        encoded = [base64.b64encode(sliced).decode(), "base64"]
    return {
        "data": encoded,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": account.rent_epoch,
        "space": len(data),
    }


def _slice(data: bytes, spec: Json) -> bytes:
    if spec is None:
        return data
    if not isinstance(spec, dict) or set(spec) != {"offset", "length"}:
        raise RpcError(-32602, "Invalid params: dataSlice is {offset, length}")
    offset, length = spec["offset"], spec["length"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (offset, length)):
        raise RpcError(-32602, "Invalid params: dataSlice offset and length are unsigned integers")
    return data[offset : offset + length]


def _filters(filters: Json) -> list[Callable[[bytes], bool]]:
    """getProgramAccounts' filters as predicates, with agave's checks."""
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise RpcError(-32602, "Invalid params: filters must be an array")
    if len(filters) > MAX_FILTERS:
        raise RpcError(-32602, f"Too many filters provided; max {MAX_FILTERS}")
    return [_filter(item) for item in filters]


def _filter(item: Json) -> Callable[[bytes], bool]:
    if isinstance(item, dict) and list(item) == ["dataSize"]:
        size = item["dataSize"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise RpcError(-32602, "Invalid params: dataSize must be an unsigned integer")
        return lambda data: len(data) == size
    if isinstance(item, dict) and list(item) == ["memcmp"] and isinstance(item["memcmp"], dict):
        offset, wanted = _memcmp(item["memcmp"])
        return lambda data: data[offset : offset + len(wanted)] == wanted
    raise RpcError(-32602, f"Invalid param: unsupported filter {item!r}")


def _memcmp(spec: dict[str, Json]) -> tuple[int, bytes]:
    offset, text = spec.get("offset"), spec.get("bytes")
    encoding = spec.get("encoding", "base58")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise RpcError(-32602, "Invalid param: memcmp offset must be an unsigned integer")
    if not isinstance(text, str):
        raise RpcError(-32602, "Invalid param: memcmp bytes must be a string")
    try:
        if encoding == "base58":
            if len(text) > MAX_MEMCMP_BASE58:
                raise RpcError(-32602, "Invalid param: Encoded binary (base 58) data too large")
            return offset, b58decode(text)
        if encoding == "base64":
            return offset, base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise RpcError(-32602, f"Invalid param: memcmp bytes are not {encoding}") from None
    raise RpcError(-32602, f"Invalid param: unknown memcmp encoding {encoding!r}")


def _pubkey(text: Json) -> Pubkey:
    if not isinstance(text, str):
        raise RpcError(-32602, "Invalid param: Invalid")
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise RpcError(-32602, "Invalid param: Invalid") from None
