"""The simulated chain served as Solana JSON-RPC 2.0: the methods the engine uses, in real wire formats.

Requests and answers follow an agave RPC node: the same result shapes (parsed unchanged by
solana-py and solders), the same error objects (-32700 parse error, -32600 invalid request,
-32601 method not found, -32602 invalid params, -32002 preflight failure with its simulation
result, -32003 signature verification failure) and the same transaction errors (`BlockhashNotFound`,
`AlreadyProcessed`, `{"InstructionError": [2, {"Custom": 30}]}`). `sendTransaction` honours
`skipPreflight` as a node does: with preflight the transaction is verified and simulated
against the pools first and refused on failure; without it the node forwards whatever
deserializes, and what the leader would drop (a bad signature, an unknown blockhash) simply
never lands. This module is synchronous, like the ledger; network latency is added by
`oee.sim.app`, the send faults (HTTP 503, a transaction lost before the leader) are drawn here.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from collections.abc import Callable
from typing import Any

import structlog
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction

from oee.settings import SimSettings
from oee.sim import rpc_wire as wire
from oee.sim.airdrops import genesis_hash
from oee.sim.faucet import fund
from oee.sim.faults import Faults
from oee.sim.ledger import LedgerError, SimLedger
from oee.sim.rpc_accounts import AccountMethods
from oee.sim.rpc_wire import RpcError, context
from oee.sim.swap_calls import SwapCall
from oee.sim.world import SimWorld
from oee.solana.base58 import b58decode

log = structlog.get_logger(__name__)

MAX_SIGNATURES = 256  # per getSignatureStatuses call, as on agave
# Statuses older than this many blocks need `searchTransactionHistory` (the status cache).
STATUS_CACHE_BLOCKS = 300
MAX_BASE64_TX = 1644  # the longest encodings of a 1232-byte packet agave accepts
MAX_BASE58_TX = 1683
VERSION = {"solana-core": "2.2.16", "feature-set": 3294202862}

Json = Any
Handler = Callable[[list[Json]], Json]


class NodeUnavailable(Exception):
    """An injected fault: the node answers HTTP 503 to the whole request."""


class RateLimited(Exception):
    """An injected fault: the node answers HTTP 429 to the whole request, as public nodes
    answer heavy account reads under load (what a quote from the chain then meets)."""


# Account reads a quote from the chain makes: the `rate` fault limits them like quote APIs.
ACCOUNT_READS = frozenset({"getAccountInfo", "getMultipleAccounts", "getProgramAccounts"})


class SolanaRpc:
    """Answers JSON-RPC requests (single or batch) from the ledger and the world."""

    def __init__(
        self,
        world: SimWorld,
        ledger: SimLedger,
        settings: SimSettings,
        faults: Faults | None = None,
    ) -> None:
        self._world = world
        self._ledger = ledger
        # Read on every send: `POST /admin/faults` changes it while the node runs.
        self._faults = faults or Faults.from_settings(settings)
        self._rng = random.Random(f"oee-sim/rpc/{settings.seed}")
        self._read_rng = random.Random(f"oee-sim/rpc-reads/{settings.seed}")
        self._genesis = genesis_hash(settings.seed)
        accounts = AccountMethods(ledger, settings.seed)
        self._airdrops = ledger.airdrops  # part of the chain's history: the ledger keeps them
        self._methods: dict[str, Handler] = {
            "getLatestBlockhash": self._get_latest_blockhash,
            "getBlockHeight": lambda _: self._ledger.block_height(),
            "getSlot": lambda _: wire.slot(self._ledger.block_height()),
            "isBlockhashValid": self._is_blockhash_valid,
            "sendTransaction": self._send_transaction,
            "simulateTransaction": self._simulate_transaction,
            "getSignatureStatuses": self._get_signature_statuses,
            "getTransaction": self._get_transaction,
            "getBalance": self._get_balance,
            "getTokenAccountBalance": self._get_token_account_balance,
            "getTokenAccountsByOwner": self._get_token_accounts_by_owner,
            "requestAirdrop": self._request_airdrop,
            "getHealth": lambda _: "ok",
            "getVersion": lambda _: VERSION,
            "getGenesisHash": lambda _: self._genesis,
            **accounts.methods(),
        }

    def handle(self, body: bytes) -> bytes:
        """Answer one HTTP body: a request, a batch, or garbage; empty for notifications only.

        Raises:
            NodeUnavailable: An injected fault hit a `sendTransaction` in the body.
            RateLimited: An injected fault hit an account read in the body.
        """
        try:
            payload = json.loads(body)
        except ValueError:
            return _dump(wire.error_reply(None, RpcError(-32700, "Parse error")))
        requests = payload if isinstance(payload, list) else [payload]
        reads = any(isinstance(r, dict) and r.get("method") in ACCOUNT_READS for r in requests)
        rate = self._faults.rate
        if reads and rate and self._read_rng.random() < rate:
            raise RateLimited
        if isinstance(payload, list):
            if not payload:
                return _dump(wire.error_reply(None, RpcError(-32600, "Invalid request")))
            replies = [reply for reply in map(self._one, payload) if reply is not None]
            return _dump(replies) if replies else b""
        reply = self._one(payload)
        return b"" if reply is None else _dump(reply)

    def _one(self, request: Json) -> dict[str, Json] | None:
        if not isinstance(request, dict):
            return wire.error_reply(None, RpcError(-32600, "Invalid request"))
        request_id = request.get("id")
        method, params = request.get("method"), request.get("params", [])
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return wire.error_reply(request_id, RpcError(-32600, "Invalid request"))
        handler = self._methods.get(method)
        try:
            if handler is None:
                raise RpcError(-32601, "Method not found")
            if not isinstance(params, list):
                raise RpcError(-32602, "Invalid params: expected an array of parameters")
            result = handler(params)
        except RpcError as error:
            reply = wire.error_reply(request_id, error)
        except (NodeUnavailable, RateLimited, MemoryError):
            raise
        except Exception:  # a bug here must still answer as a node does, not drop the request
            log.exception("rpc_internal_error", method=method)
            reply = wire.error_reply(request_id, RpcError(-32603, "Internal error"))
        else:
            reply = {"jsonrpc": "2.0", "result": result, "id": request_id}
        return reply if "id" in request else None  # no id: a notification, never answered

    # -- blocks ------------------------------------------------------------------------------

    def _get_latest_blockhash(self, params: list[Json]) -> Json:
        issued = self._ledger.latest_blockhash()
        value = {
            "blockhash": issued.blockhash,
            "lastValidBlockHeight": issued.last_valid_block_height,
        }
        return context(self._ledger.block_height(), value)

    def _is_blockhash_valid(self, params: list[Json]) -> Json:
        blockhash = wire.arg(params, 0, str)
        try:
            valid = self._ledger.is_blockhash_valid(blockhash)
        except Exception:  # solders' ParseHashError
            raise RpcError(-32602, "Invalid params: invalid blockhash") from None
        return context(self._ledger.block_height(), valid)

    # -- transactions ------------------------------------------------------------------------

    def _send_transaction(self, params: list[Json]) -> Json:
        config = wire.config(params, 1)
        raw = _decode_wire(wire.arg(params, 0, str), config.get("encoding", "base58"))
        rate = self._faults.rate
        if rate and self._rng.random() < rate:
            raise NodeUnavailable
        if rate and self._rng.random() < rate:
            # Accepted, then lost on the way to the leader: the sender learns it from expiry.
            return str(_parse(raw).signatures[0])
        if not config.get("skipPreflight", False):
            self._preflight(_parse(raw))
        try:
            return self._ledger.send(base64.b64encode(raw).decode())
        except LedgerError as error:
            if error.code in ("INVALID_TRANSACTION", "UNSUPPORTED_TRANSACTION"):
                raise RpcError(-32602, f"invalid transaction: {error.message}") from None
            # Only reachable without preflight: a real node forwards the transaction unchecked
            # and the leader drops it (bad signature, unknown blockhash). It never lands.
            return str(_parse(raw).signatures[0])

    def _preflight(self, tx: Transaction) -> None:
        if not all(tx.verify_with_results()):
            raise RpcError(-32003, "Transaction signature verification failure")
        if self._ledger.processed(str(tx.signatures[0])) is not None:
            raise wire.preflight_failure("AlreadyProcessed", [], 0)
        err, logs, units = self._simulate(tx, check_blockhash=True)
        if err is not None:
            raise wire.preflight_failure(err, logs, units)

    def _simulate_transaction(self, params: list[Json]) -> Json:
        config = wire.config(params, 1)
        tx = _parse(_decode_wire(wire.arg(params, 0, str), config.get("encoding", "base58")))
        replace = bool(config.get("replaceRecentBlockhash", False))
        if replace and config.get("sigVerify", False):
            raise RpcError(-32602, "sigVerify may not be used with replaceRecentBlockhash")
        if config.get("sigVerify", False) and not all(tx.verify_with_results()):
            raise RpcError(-32003, "Transaction signature verification failure")
        err, logs, units = self._simulate(tx, check_blockhash=not replace)
        replacement = None
        if replace:
            issued = self._ledger.latest_blockhash()
            replacement = {
                "blockhash": issued.blockhash,
                "lastValidBlockHeight": issued.last_valid_block_height,
            }
        return context(
            self._ledger.block_height(), wire.simulation_result(err, logs, units, replacement)
        )

    def _simulate(self, tx: Transaction, *, check_blockhash: bool) -> tuple[Json, list[str], int]:
        """Run the swap against the pools as they are now, changing nothing: (err, logs, units)."""
        if check_blockhash and not self._ledger.is_blockhash_valid(
            str(tx.message.recent_blockhash)
        ):
            return "BlockhashNotFound", [], 0
        outcome = self._ledger.simulate(tx, self._swap_of(tx))
        return outcome.err, list(outcome.logs), outcome.units

    # -- statuses and history ----------------------------------------------------------------

    def _get_signature_statuses(self, params: list[Json]) -> Json:
        signatures = wire.arg(params, 0, list)
        if len(signatures) > MAX_SIGNATURES:
            raise RpcError(-32602, f"Too many inputs provided; max {MAX_SIGNATURES}")
        search = bool(wire.config(params, 1).get("searchTransactionHistory", False))
        height = self._ledger.block_height()
        value: list[Json] = []
        for signature in signatures:
            processed = self._ledger.processed(_signature(signature))
            landed = processed.status.slot if processed else self._airdrops.landed_at(signature)
            age = height - landed if landed is not None else 0
            if landed is None or (age > STATUS_CACHE_BLOCKS and not search):
                value.append(None)
                continue
            err = processed.err if processed else None
            value.append(wire.signature_status(landed, age, err))
        return context(height, value)

    def _get_transaction(self, params: list[Json]) -> Json:
        signature = _signature(wire.arg(params, 0, str))
        config = wire.config(params, 1)
        commitment = config.get("commitment", "finalized")
        if commitment not in ("confirmed", "finalized"):
            raise RpcError(-32602, "Method does not support commitment below `confirmed`")
        processed = self._ledger.processed(signature)
        height = self._ledger.block_height()
        if processed is None or (
            commitment == "finalized" and height - processed.status.slot < wire.FINALIZED_AFTER
        ):
            return None
        raw = base64.b64decode(processed.raw_tx)
        tx = Transaction.from_bytes(raw)
        encoded = wire.encode_transaction(tx, raw, config.get("encoding", "json"))
        meta = wire.transaction_meta(processed, self._decimals)
        reply: dict[str, Json] = {
            "slot": wire.slot(processed.status.slot),
            "blockTime": self._world.heights.block_time(processed.status.slot),
            "transaction": encoded,
            "meta": meta,
        }
        if config.get("maxSupportedTransactionVersion") is not None:
            reply["version"] = "legacy"
        return reply

    # -- balances ----------------------------------------------------------------------------

    def _get_balance(self, params: list[Json]) -> Json:
        owner = _pubkey(wire.arg(params, 0, str))
        lamports = self._ledger.lamports(owner)
        return context(self._ledger.block_height(), lamports)

    def _get_token_account_balance(self, params: list[Json]) -> Json:
        found = self._ledger.token_account(_pubkey(wire.arg(params, 0, str)))
        if found is None:
            raise RpcError(-32602, "Invalid param: could not find account")
        _, mint, units = found
        return context(self._ledger.block_height(), wire.ui_amount(units, self._decimals(mint)))

    def _get_token_accounts_by_owner(self, params: list[Json]) -> Json:
        owner = _pubkey(wire.arg(params, 0, str))
        wanted = wire.token_filter(wire.arg(params, 1, dict))
        encoding = wire.config(params, 2).get("encoding", "binary")
        accounts = [
            wire.token_account(address, owner, mint, units, self._decimals(mint), encoding)
            for address, mint, units in self._ledger.token_accounts(owner)
            if wanted in (None, mint)
        ]
        return context(self._ledger.block_height(), accounts)

    def _request_airdrop(self, params: list[Json]) -> Json:
        """Credit lamports; a wallet's first airdrop also gets the faucet's starter tokens."""
        owner = _pubkey(wire.arg(params, 0, str))
        lamports = wire.arg(params, 1, int)
        if isinstance(lamports, bool) or not 0 < lamports <= wire.U64_MAX:
            raise RpcError(-32602, "Invalid params: lamports must be a positive u64")
        try:
            fund(
                self._world,
                self._ledger,
                owner,
                lamports,
                starter_tokens=owner not in self._airdrops.funded,
            )
        except ValueError as error:  # the balance would pass the u64 limit
            raise RpcError(-32602, f"Invalid params: {error}") from None
        self._airdrops.funded.add(owner)
        return self._airdrops.record(self._ledger.block_height())

    def _swap_of(self, tx: Transaction) -> SwapCall | None:
        try:
            return self._ledger.route(tx)
        except LedgerError as error:
            # A real node runs any program; this one runs the venues' swaps and loaded programs.
            raise RpcError(
                -32602, f"invalid transaction: the simulator runs swaps only: {error.message}"
            ) from None

    def _decimals(self, mint: str) -> int:
        return self._ledger.decimals(mint) or 0


def _dump(reply: Json) -> bytes:
    return json.dumps(reply, separators=(",", ":")).encode()


def _decode_wire(data: str, encoding: Json) -> bytes:
    """A transaction's bytes from its base58 or base64 text, with agave's size limits and errors."""
    name = "solana_transaction::versioned::VersionedTransaction"
    if encoding == "base64":
        if len(data) > MAX_BASE64_TX:
            raise RpcError(-32602, f"base64 encoded {name} too large: {len(data)} bytes")
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as error:
            raise RpcError(-32602, f"invalid base64 encoding: {error}") from None
    if encoding == "base58":
        if len(data) > MAX_BASE58_TX:
            raise RpcError(-32602, f"base58 encoded {name} too large: {len(data)} bytes")
        try:
            return b58decode(data)
        except ValueError as error:
            raise RpcError(-32602, f"invalid base58 encoding: {error}") from None
    raise RpcError(-32602, f"unsupported encoding: {encoding}. Supported encodings: base58, base64")


def _parse(raw: bytes) -> Transaction:
    try:
        tx = Transaction.from_bytes(raw)
        tx.sanitize()
    except Exception as error:  # untrusted bytes: solders raises several error types
        raise RpcError(-32602, f"failed to deserialize transaction: {error}") from None
    if not tx.signatures:
        raise RpcError(-32602, "invalid transaction: no signatures")
    return tx


def _pubkey(text: str) -> str:
    try:
        return str(Pubkey.from_string(text))
    except ValueError:
        raise RpcError(-32602, "Invalid param: Invalid") from None


def _signature(text: Json) -> str:
    if not isinstance(text, str):
        raise RpcError(-32602, "Invalid params: signatures must be base58 strings")
    try:
        return str(Signature.from_string(text))
    except ValueError:
        raise RpcError(-32602, "Invalid param: Invalid") from None
