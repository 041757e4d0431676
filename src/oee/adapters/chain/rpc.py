"""The `Chain` port over Solana JSON-RPC: the simulator's node today, devnet by a change of URL.

One transport carries every call (`oee.adapters.chain.rpc_transport`): the lean keep-alive
HTTP client to a node, or the in-process simulator's handler called directly; concurrent reads
may share batch requests (`oee.adapters.chain.rpc_batch`). Failures become
`ExecutionError`s with the codes the executor acts on:

| what the node says | code | retryable |
|---|---|---|
| HTTP 429 / 5xx, timeout, connection error, -32005 unhealthy, -32603 internal | RPC_UNAVAILABLE | yes |
| -32002 `BlockhashNotFound` | BLOCKHASH_EXPIRED | yes (sign again) |
| -32002 `AlreadyProcessed` | none: the signature is returned | |
| -32002 any other preflight failure | by program error, e.g. SLIPPAGE_EXCEEDED | yes, see below |
| -32003 signature verification failure | INVALID_SIGNATURE | no |
| -32602 on sendTransaction (undecodable transaction) | INVALID_TRANSACTION | no |
| a simulation whose transaction fails | SIMULATION_FAILED | no |
| anything else | RPC_ERROR | no |

A preflight failure means this send was not forwarded, not that the signature will never land:
an earlier send of the same bytes may be in flight. So it is retryable, which the executor
reads as "let the signature status and the blockhash expiry decide".

Besides the port, the client reads accounts for the on-chain venue adapters:
`getMultipleAccounts` (base64, 100 addresses a call, the calls of one read in parallel) and
`getProgramAccounts` (with filters), and transactions (`getTransaction`) for the launch feed.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from solders.pubkey import Pubkey

from oee.adapters.chain.batching import SharedRead, SharedReads, StatusBatcher
from oee.adapters.chain.jsonrpc import JsonRpc, RpcFault, generic, unavailable
from oee.adapters.chain.outcomes import outcome, preflight_outcome, wallet_balances
from oee.adapters.chain.rpc_transport import RpcTransport
from oee.adapters.http1 import Http1Client
from oee.domain.errors import ExecutionError
from oee.domain.ports import Blockhash, TxStatus, WalletBalances
from oee.solana.spl import TOKEN_PROGRAM_ID

MAX_ACCOUNTS = 100  # per getMultipleAccounts call, as agave enforces
MAX_LAMPORTS = 2**64 - 1  # a u64 on chain
_JSON_PARSED = {"encoding": "jsonParsed"}


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the node holds it: its owner program, lamports and raw data."""

    owner: str
    lamports: int
    data: bytes


@dataclass(frozen=True, slots=True)
class AccountsAt:
    """Accounts read in one go, and the slot the node read them at (the oldest, if chunked)."""

    slot: int
    accounts: tuple[Account | None, ...]  # None: no such account


MINT_DECIMALS_OFFSET = 44


class RpcChain:
    """The `Chain` port over a Solana JSON-RPC node, and its account reads."""

    def __init__(
        self,
        client: httpx.AsyncClient | Http1Client | RpcTransport,
        url: str,
        *,
        commitment: str = "confirmed",
        skip_preflight: bool = True,
        timeout_s: float = 10.0,
        height_ttl_s: float = 0.1,
        status_window_s: float = 0.005,
        fee_ttl_s: float = 5.0,
        batch_window_s: float = 0.0,
        batch_max: int = 64,
    ) -> None:
        """Talk to the node at `url` through the process's shared `client`.

        Args:
            client: The process's one HTTP client (its pool keeps connections alive), or a
                transport (`oee.adapters.chain.rpc_transport`).
            url: The node's JSON-RPC endpoint.
            commitment: For blockhashes, account and transaction reads; `confirmed` lands a
                swap about as soon as the cluster agrees on it.
            skip_preflight: The executor re-sends until a status or the blockhash expiry
                decides, so a per-send simulation only adds a node-side cost; pass False to
                have sends refused early (expired blockhash, bad signature, slippage).
            timeout_s: Per call, on top of the client's own timeouts (which an ASGI transport
                does not apply).
            height_ttl_s: A block height read this recently is reused. Every order in flight
                polls the height; a slightly old one only ever delays an expiry decision.
            status_window_s: Status polls arriving within this window share one
                getSignatureStatuses call (up to 256 signatures).
            fee_ttl_s: A prioritization fee reading (per account set) is reused this long:
                the fee market moves over seconds, orders arrive by the millisecond.
            batch_window_s: Concurrent reads within this window share one batch request
                (0: none do); batch_max: calls per batch at most.
        """
        self.rpc = JsonRpc(
            client, url, timeout_s=timeout_s, batch_window_s=batch_window_s, batch_max=batch_max
        )
        self._commitment = commitment
        self._skip_preflight = skip_preflight
        self._height = SharedRead(self._read_height, height_ttl_s)
        self._statuses = StatusBatcher(self._read_statuses, status_window_s, unavailable)
        self._fees: SharedReads[tuple[str, ...], list[int]] = SharedReads(fee_ttl_s)

    async def latest_blockhash(self) -> Blockhash:
        """The latest blockhash and its `lastValidBlockHeight`."""
        result = await self.rpc.result("getLatestBlockhash", [{"commitment": self._commitment}])
        value = result["value"]
        return Blockhash(value["blockhash"], value["lastValidBlockHeight"])

    async def block_height(self) -> int:
        """The current block height (concurrent callers share one read)."""
        return await self._height.get()

    async def send_transaction(self, raw_tx: str) -> str:
        """Send a base64 wire transaction; returns its signature (also when already processed).

        Raises:
            ExecutionError: See the module's table.
        """
        config = {
            "encoding": "base64",
            "skipPreflight": self._skip_preflight,
            "preflightCommitment": self._commitment,
        }
        try:
            return str(await self.rpc.call("sendTransaction", [raw_tx, config]))
        except RpcFault as fault:
            if fault.code == -32002:
                return preflight_outcome(fault, raw_tx)
            if fault.code == -32003:
                raise ExecutionError(
                    fault.message, code="INVALID_SIGNATURE", retryable=False
                ) from None
            if fault.code == -32602:
                raise ExecutionError(
                    fault.message, code="INVALID_TRANSACTION", retryable=False
                ) from None
            raise generic(fault) from None

    async def signature_status(
        self, signature: str, mint_out: str | None = None
    ) -> TxStatus | None:
        """The landed outcome, with the amount of `mint_out` received read from the balances
        (without it: the mint whose balance grew, else SOL).

        None while the node has not seen the transaction reach `confirmed`.
        """
        status = await self._statuses.get(signature)
        if not isinstance(status, dict) or status.get("confirmationStatus") == "processed":
            return None  # unknown, or only processed: it may still be dropped on a fork
        tx = await self.transaction(signature)
        if tx is None:
            return None  # a node may report the status before the transaction is readable
        try:
            return outcome(status["slot"], tx, mint_out)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            unreadable = f"getTransaction answered an unreadable transaction: {error!r}"
            raise unavailable(unreadable) from None

    async def transaction(self, signature: str) -> dict[str, Any] | None:
        """getTransaction, base64-encoded (v0 transactions too): the node's answer as it is.

        Returns:
            `{slot, blockTime, transaction: [<base64>, "base64"], meta, version?}`, or None
            while the node has not seen (or not yet indexed) the signature at this commitment.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable, also for an answer that is not an
                object) or RPC_ERROR.
        """
        config = {
            "encoding": "base64",
            "commitment": self._commitment,
            "maxSupportedTransactionVersion": 0,
        }
        tx = await self.rpc.result("getTransaction", [signature, config])
        if tx is not None and not isinstance(tx, dict):
            raise unavailable(f"getTransaction answered {type(tx).__name__}, not an object")
        return tx

    async def balances(self, owner: str) -> WalletBalances:
        """The wallet's lamports (getBalance) and SPL Token accounts (getTokenAccountsByOwner).

        Both reads go out at once; `slot` is the older of the two answers' slots. Accounts of
        the Token-2022 program are not listed: the registry's tokens all live in Tokenkeg.

        Raises:
            ValueError: `owner` is not a base58 public key.
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR.
        """
        owner = public_key(owner)
        read = {"commitment": self._commitment}
        by_program = {"programId": str(TOKEN_PROGRAM_ID)}
        answers = await asyncio.gather(
            self.rpc.result("getBalance", [owner, read]),
            self.rpc.result("getTokenAccountsByOwner", [owner, by_program, read | _JSON_PARSED]),
            return_exceptions=True,  # both finish: no task is left with an unread exception
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        balance, accounts = answers
        try:
            return wallet_balances(balance, accounts)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise unavailable(f"unreadable balances of {owner}: {error!r}") from None

    async def request_airdrop(self, owner: str, lamports: int) -> str:
        """Ask the node's faucet (requestAirdrop) for `lamports` to `owner`; returns its signature.

        Raises:
            ValueError: `owner` is not a public key, or `lamports` is not a positive u64.
            ExecutionError: RPC_UNAVAILABLE (retryable: HTTP 429 and -32603 are how faucets
                say "rate limited"), RPC_METHOD_NOT_FOUND (no faucet here), or RPC_ERROR.
        """
        owner, lamports = public_key(owner), airdrop_lamports(lamports)
        try:
            return str(await self.rpc.call("requestAirdrop", [owner, lamports]))
        except RpcFault as fault:
            if fault.code == -32601:
                raise ExecutionError(
                    f"the RPC node has no faucet: requestAirdrop: {fault.message}",
                    code="RPC_METHOD_NOT_FOUND",
                    retryable=False,
                ) from None
            raise generic(fault) from None

    async def simulate_units(self, raw_tx: str) -> int:
        """simulateTransaction's `unitsConsumed` (no signature check, the latest blockhash).

        Raises:
            ExecutionError: SIMULATION_FAILED (the transaction would fail; the message has the
                programs' logs), RPC_UNAVAILABLE (retryable) or RPC_ERROR.
        """
        config = {
            "encoding": "base64",
            "commitment": self._commitment,
            "sigVerify": False,
            "replaceRecentBlockhash": True,
        }
        result = await self.rpc.result("simulateTransaction", [raw_tx, config])
        try:
            value = result["value"]
            if value["err"] is not None:
                logs = [line for line in value.get("logs") or [] if "Program log:" in line]
                said = f" ({'; '.join(logs[-3:])})" if logs else ""
                raise ExecutionError(
                    f"simulation failed: {value['err']}{said}",
                    code="SIMULATION_FAILED",
                    retryable=False,
                )
            return int(value["unitsConsumed"])
        except (KeyError, TypeError, ValueError) as error:
            raise unavailable(f"simulateTransaction answered {result!r}: {error!r}") from None

    async def prioritization_fees(self, accounts: Sequence[str]) -> list[int]:
        """getRecentPrioritizationFees for `accounts`: one fee per recent slot, oldest first
        (shared by concurrent callers and reused `fee_ttl_s`)."""
        key = tuple(accounts)
        return await self._fees.get(key, lambda: self._read_fees(key))

    async def _read_fees(self, accounts: tuple[str, ...]) -> list[int]:
        result = await self.rpc.result("getRecentPrioritizationFees", [list(accounts)])
        try:
            ordered = sorted(result, key=lambda entry: int(entry["slot"]))
            return [int(entry["prioritizationFee"]) for entry in ordered]
        except (KeyError, TypeError, ValueError) as error:
            raise unavailable(f"getRecentPrioritizationFees answered {error!r}") from None

    async def multiple_accounts(self, addresses: Sequence[str]) -> AccountsAt:
        """The accounts at `addresses`, in order: one getMultipleAccounts per 100, in parallel.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable, also for an unreadable answer) or
                RPC_ERROR.
        """
        chunks = [addresses[i : i + MAX_ACCOUNTS] for i in range(0, len(addresses), MAX_ACCOUNTS)]
        config = {"encoding": "base64", "commitment": self._commitment}
        answers = await asyncio.gather(
            *(self.rpc.result("getMultipleAccounts", [list(chunk), config]) for chunk in chunks)
        )
        accounts: list[Account | None] = []
        slot = None
        try:
            for chunk, answer in zip(chunks, answers, strict=True):
                value = answer["value"]
                if len(value) != len(chunk):
                    raise ValueError(f"{len(value)} accounts for {len(chunk)} addresses")
                accounts += [None if entry is None else _account(entry) for entry in value]
                at = int(answer["context"]["slot"])
                slot = at if slot is None else min(slot, at)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise unavailable(f"getMultipleAccounts answered unreadably: {error!r}") from None
        return AccountsAt(slot or 0, tuple(accounts))

    async def mint_decimals(self, mint: str) -> int | None:
        """The decimals of the SPL mint at `mint`, or None while no mint account exists there.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR.
        """
        account = (await self.multiple_accounts([mint])).accounts[0]
        # A Mint is 82 bytes: mint authority (COption<Pubkey>, 36), supply (u64), decimals (u8).
        if account is None or len(account.data) < MINT_DECIMALS_OFFSET + 1:
            return None
        return account.data[MINT_DECIMALS_OFFSET]

    async def program_accounts(
        self, program_id: str, filters: Sequence[dict[str, Any]]
    ) -> list[tuple[str, Account]]:
        """getProgramAccounts of `program_id` matching every filter: `(address, account)` pairs.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR (e.g. a node that does not
                serve this method or these filters).
        """
        config = {"encoding": "base64", "commitment": self._commitment, "filters": list(filters)}
        result = await self.rpc.result("getProgramAccounts", [program_id, config])
        if isinstance(result, dict):  # withContext answers
            result = result.get("value")
        try:
            return [(str(entry["pubkey"]), _account(entry["account"])) for entry in result]
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise unavailable(f"getProgramAccounts answered unreadably: {error!r}") from None

    async def _read_height(self) -> int:
        return int(await self.rpc.result("getBlockHeight", [{"commitment": self._commitment}]))

    async def _read_statuses(self, signatures: list[str]) -> list[Any]:
        result = await self.rpc.result(
            "getSignatureStatuses", [signatures, {"searchTransactionHistory": True}]
        )
        value = result.get("value") if isinstance(result, dict) else None
        if not isinstance(value, list):
            raise unavailable(f"getSignatureStatuses answered {result!r}")
        return value


def _account(entry: dict[str, Any]) -> Account:
    data, encoding = entry["data"]
    if encoding != "base64":
        raise ValueError(f"account data in {encoding}, asked for base64")
    return Account(str(entry["owner"]), int(entry["lamports"]), base64.b64decode(data))


def public_key(owner: str) -> str:
    """`owner` as the canonical base58 of a public key.

    Raises:
        ValueError: It is not one.
    """
    try:
        return str(Pubkey.from_string(owner))
    except (ValueError, TypeError):
        raise ValueError(f"{owner!r} is not a base58 public key") from None


def airdrop_lamports(lamports: int) -> int:
    """`lamports`, checked to be an amount an airdrop can carry (1 to a u64).

    Raises:
        ValueError: It is not a whole number in that range.
    """
    if isinstance(lamports, bool) or not isinstance(lamports, int):
        raise ValueError(f"lamports must be a whole number, got {lamports!r}")
    if not 0 < lamports <= MAX_LAMPORTS:
        raise ValueError(f"lamports must be from 1 to {MAX_LAMPORTS}, got {lamports}")
    return lamports
