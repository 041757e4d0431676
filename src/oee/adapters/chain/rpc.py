"""The `Chain` port over Solana JSON-RPC: the simulator's node today, devnet by a change of URL.

One shared `httpx.AsyncClient` (keep-alive, or `ASGITransport` straight into the in-process
simulator) carries every call; each request is encoded and decoded once. Failures become
`ExecutionError`s with the codes the executor acts on:

| what the node says | code | retryable |
|---|---|---|
| HTTP 429 / 5xx, timeout, connection error, -32005 unhealthy, -32603 internal | RPC_UNAVAILABLE | yes |
| -32002 `BlockhashNotFound` | BLOCKHASH_EXPIRED | yes (sign again) |
| -32002 `AlreadyProcessed` | none: the signature is returned | |
| -32002 any other preflight failure | by program error, e.g. SLIPPAGE_EXCEEDED | yes, see below |
| -32003 signature verification failure | INVALID_SIGNATURE | no |
| -32602 on sendTransaction (undecodable transaction) | INVALID_TRANSACTION | no |
| anything else | RPC_ERROR | no |

A preflight failure means this send was not forwarded, not that the signature will never land:
an earlier send of the same bytes may be in flight. So it is retryable, which the executor
reads as "let the signature status and the blockhash expiry decide".
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction

from oee.adapters.chain.transactions import decode_swap
from oee.domain.errors import ExecutionError
from oee.domain.ports import Blockhash, TokenBalance, TxState, TxStatus, WalletBalances
from oee.solana.spl import TOKEN_PROGRAM_ID, WSOL_MINT, associated_token_address

# Custom program errors that mean "the pool paid less than minAmountOut".
PROGRAM_ERRORS = {
    30: "SLIPPAGE_EXCEEDED",  # Raydium AMM v4 ExceededSlippage (0x1e)
    6001: "SLIPPAGE_EXCEEDED",  # Meteora DLMM ExceededAmountSlippageTolerance (0x1771)
    1: "INSUFFICIENT_FUNDS",  # SPL Token InsufficientFunds
}
# The runtime's own instruction errors.
INSTRUCTION_ERRORS = {
    "InvalidAccountData": "INVALID_ACCOUNT",
    "InsufficientFunds": "INSUFFICIENT_FUNDS",
}
MAX_SIGNATURES = 256  # per getSignatureStatuses call
MAX_LAMPORTS = 2**64 - 1  # a u64 on chain
_RETRYABLE_RPC_CODES = {-32603, -32005, -32004, -32016}
_JSON_PARSED = {"encoding": "jsonParsed"}
_HEADERS = {"content-type": "application/json"}


class _RpcFault(Exception):
    def __init__(self, code: int, message: str, data: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class RpcChain:
    """The `Chain` port over a Solana JSON-RPC node."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        commitment: str = "confirmed",
        skip_preflight: bool = True,
        timeout_s: float = 10.0,
        height_ttl_s: float = 0.1,
        status_window_s: float = 0.005,
    ) -> None:
        """Talk to the node at `url` through the process's shared `client`.

        Args:
            client: The process's one HTTP client (its pool keeps connections alive).
            url: The node's JSON-RPC endpoint.
            commitment: For blockhashes and transaction reads; `confirmed` lands a swap about
                as soon as the cluster agrees on it.
            skip_preflight: The executor re-sends until a status or the blockhash expiry
                decides, so a per-send simulation only adds a node-side cost; pass False to
                have sends refused early (expired blockhash, bad signature, slippage).
            timeout_s: Per call, on top of the client's own timeouts (which an ASGI transport
                does not apply).
            height_ttl_s: A block height read this recently is reused. Every order in flight
                polls the height; a slightly old one only ever delays an expiry decision.
            status_window_s: Status polls arriving within this window share one
                getSignatureStatuses call (up to 256 signatures).
        """
        self._client = client
        self._url = httpx.URL(url)  # parsed once: a string costs a parse on every request
        self._commitment = commitment
        self._skip_preflight = skip_preflight
        self._timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._height = _SharedRead(self._read_height, height_ttl_s)
        self._statuses = _StatusBatcher(self._read_statuses, status_window_s)

    async def latest_blockhash(self) -> Blockhash:
        """The latest blockhash and its `lastValidBlockHeight`."""
        result = await self._call("getLatestBlockhash", [{"commitment": self._commitment}])
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
            return str(await self._call("sendTransaction", [raw_tx, config]))
        except _RpcFault as fault:
            if fault.code == -32002:
                return _preflight_outcome(fault, raw_tx)
            if fault.code == -32003:
                raise ExecutionError(
                    fault.message, code="INVALID_SIGNATURE", retryable=False
                ) from None
            if fault.code == -32602:
                raise ExecutionError(
                    fault.message, code="INVALID_TRANSACTION", retryable=False
                ) from None
            raise _generic(fault) from None

    async def signature_status(self, signature: str) -> TxStatus | None:
        """The landed outcome, with the amount received read from the token balance changes.

        None while the node has not seen the transaction reach `confirmed`.
        """
        status = await self._statuses.get(signature)
        if not isinstance(status, dict) or status.get("confirmationStatus") == "processed":
            return None  # unknown, or only processed: it may still be dropped on a fork
        try:
            tx = await self._call(
                "getTransaction",
                [
                    signature,
                    {
                        "encoding": "base64",
                        "commitment": self._commitment,
                        "maxSupportedTransactionVersion": 0,
                    },
                ],
            )
        except _RpcFault as fault:
            raise _generic(fault) from None
        if tx is None:
            return None  # a node may report the status before the transaction is readable
        try:
            return _outcome(status["slot"], tx)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            unreadable = f"getTransaction answered an unreadable transaction: {error!r}"
            raise _unavailable(unreadable) from None

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
            self._call("getBalance", [owner, read]),
            self._call("getTokenAccountsByOwner", [owner, by_program, read | _JSON_PARSED]),
            return_exceptions=True,  # both finish: no task is left with an unread exception
        )
        for answer in answers:
            if isinstance(answer, _RpcFault):
                raise _generic(answer) from None
            if isinstance(answer, BaseException):
                raise answer
        balance, accounts = answers
        try:
            return _wallet_balances(balance, accounts)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise _unavailable(f"unreadable balances of {owner}: {error!r}") from None

    async def request_airdrop(self, owner: str, lamports: int) -> str:
        """Ask the node's faucet (requestAirdrop) for `lamports` to `owner`; returns its signature.

        Raises:
            ValueError: `owner` is not a public key, or `lamports` is not a positive u64.
            ExecutionError: RPC_UNAVAILABLE (retryable: HTTP 429 and -32603 are how faucets
                say "rate limited"), RPC_METHOD_NOT_FOUND (no faucet here), or RPC_ERROR.
        """
        owner, lamports = public_key(owner), airdrop_lamports(lamports)
        try:
            return str(await self._call("requestAirdrop", [owner, lamports]))
        except _RpcFault as fault:
            if fault.code == -32601:
                raise ExecutionError(
                    f"the RPC node has no faucet: requestAirdrop: {fault.message}",
                    code="RPC_METHOD_NOT_FOUND",
                    retryable=False,
                ) from None
            raise _generic(fault) from None

    async def _read_height(self) -> int:
        try:
            return int(await self._call("getBlockHeight", [{"commitment": self._commitment}]))
        except _RpcFault as fault:
            raise _generic(fault) from None

    async def _read_statuses(self, signatures: list[str]) -> list[Any]:
        try:
            result = await self._call(
                "getSignatureStatuses", [signatures, {"searchTransactionHistory": True}]
            )
        except _RpcFault as fault:
            raise _generic(fault) from None
        value = result.get("value") if isinstance(result, dict) else None
        if not isinstance(value, list):
            raise _unavailable(f"getSignatureStatuses answered {result!r}")
        return value

    async def _call(self, method: str, params: list[Any]) -> Any:
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        body = json.dumps(request, separators=(",", ":")).encode()
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.post(self._url, content=body, headers=_HEADERS)
        except (TimeoutError, httpx.TimeoutException):
            raise _unavailable(f"{method} timed out after {self._timeout_s} s") from None
        except httpx.TransportError as error:
            raise _unavailable(f"{method}: RPC node unreachable ({error!r})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _unavailable(f"{method}: RPC node answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise ExecutionError(
                f"{method}: RPC node answered HTTP {response.status_code}",
                code="RPC_ERROR",
                retryable=False,
            )
        try:
            reply = json.loads(response.content)
        except ValueError:
            raise _unavailable(f"{method}: RPC node answered with invalid JSON") from None
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise _unavailable(f"{method}: RPC node answered with no JSON-RPC response")
        if "error" in reply:
            fault = reply["error"] if isinstance(reply["error"], dict) else {}
            raise _RpcFault(fault.get("code", 0), fault.get("message", ""), fault.get("data"))
        return reply["result"]


class _SharedRead:
    """One in-flight read serves every concurrent caller; its answer serves later ones for `ttl_s`."""

    def __init__(self, read: Callable[[], Awaitable[int]], ttl_s: float) -> None:
        self._read, self._ttl_s = read, ttl_s
        self._value, self._read_at = 0, float("-inf")
        self._inflight: asyncio.Future[int] | None = None

    async def get(self) -> int:
        loop = asyncio.get_running_loop()
        if loop.time() - self._read_at <= self._ttl_s:
            return self._value
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._refresh())
        # Shielded: a caller that gives up must not cancel the read the others wait for.
        return await asyncio.shield(self._inflight)

    async def _refresh(self) -> int:
        try:
            value = await self._read()
        finally:
            self._inflight = None
        self._value, self._read_at = value, asyncio.get_running_loop().time()
        return value


class _StatusBatcher:
    """Concurrent status polls share getSignatureStatuses calls (up to 256 signatures each).

    Every order waiting for its transaction polls; collected over a short window, hundreds of
    polls cost one request instead of one each.
    """

    def __init__(self, read: Callable[[list[str]], Awaitable[list[Any]]], window_s: float) -> None:
        self._read, self._window_s = read, window_s
        self._waiting: dict[str, list[asyncio.Future[Any]]] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()  # strong references until done

    async def get(self, signature: str) -> Any:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiting.setdefault(signature, []).append(waiter)
        if self._flush is None:
            self._flush = loop.call_later(self._window_s, self._send)
        return await waiter

    def _send(self) -> None:
        self._flush = None
        waiting, self._waiting = self._waiting, {}
        signatures = list(waiting)
        for start in range(0, len(signatures), MAX_SIGNATURES):
            chunk = {s: waiting[s] for s in signatures[start : start + MAX_SIGNATURES]}
            task = asyncio.ensure_future(self._answer(chunk))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _answer(self, chunk: dict[str, list[asyncio.Future[Any]]]) -> None:
        try:
            values = await self._read(list(chunk))
            if len(values) != len(chunk):
                raise _unavailable("getSignatureStatuses answered for other signatures")
        except asyncio.CancelledError:
            for waiter in itertools.chain.from_iterable(chunk.values()):
                waiter.cancel()
            raise
        except Exception as failure:  # every waiter of the chunk gets the call's failure
            for waiter in itertools.chain.from_iterable(chunk.values()):
                if not waiter.done():
                    waiter.set_exception(failure)
            return
        for waiters, value in zip(chunk.values(), values, strict=True):
            for waiter in waiters:
                if not waiter.done():  # done: its caller gave up
                    waiter.set_result(value)


def _outcome(slot: int, tx: dict[str, Any]) -> TxStatus:
    """A landed transaction's outcome from getTransaction (base64 encoding)."""
    meta = tx["meta"]
    if meta["err"] is not None:
        code, message = _failure(meta["err"], meta.get("logMessages") or [])
        return TxStatus(
            TxState.FAILED, slot, error_code=code, error_message=message, fee_lamports=meta["fee"]
        )
    amount_out = _received(tx["transaction"][0], meta)
    return TxStatus(TxState.LANDED, slot, amount_out=amount_out, fee_lamports=meta["fee"])


def _preflight_outcome(fault: _RpcFault, raw_tx: str) -> str:
    """A -32002: already processed is a success; anything else leaves the status to decide."""
    err = fault.data.get("err") if isinstance(fault.data, dict) else None
    if err == "AlreadyProcessed":
        # The first signature of the wire transaction (one byte of signature count first).
        return str(Signature.from_bytes(base64.b64decode(raw_tx)[1:65]))
    if err == "BlockhashNotFound":
        raise ExecutionError(
            "blockhash not found: expired or unknown, sign again with a recent one",
            code="BLOCKHASH_EXPIRED",
            retryable=True,
        )
    code, message = _failure(
        err, fault.data.get("logs") or [] if isinstance(fault.data, dict) else []
    )
    raise ExecutionError(f"preflight refused the send: {message}", code=code, retryable=True)


def _failure(err: Any, logs: list[str]) -> tuple[str, str]:
    """A machine code and a sentence for a `TransactionError`, with the programs' own words."""
    code, text = "TRANSACTION_FAILED", f"transaction failed: {err}"
    if isinstance(err, dict) and "InstructionError" in err:
        index, detail = err["InstructionError"]
        if isinstance(detail, dict) and "Custom" in detail:
            custom = int(detail["Custom"])
            code = PROGRAM_ERRORS.get(custom, "PROGRAM_ERROR")
            text = f"instruction {index} failed: custom program error {custom:#x}"
        else:
            code = INSTRUCTION_ERRORS.get(detail, "PROGRAM_ERROR")
            text = f"instruction {index} failed: {detail}"
    # What the programs said about it, minus the instruction names ("Instruction: Swap").
    said = [
        line.removeprefix("Program log: ")
        for line in logs
        if line.startswith("Program log: ") and not line.startswith("Program log: Instruction:")
    ]
    return code, f"{text} ({'; '.join(said)})" if said else text


def _received(wire_tx: str, meta: dict[str, Any]) -> int:
    """What the swap paid the fee payer, read from the balances around the transaction.

    Receiving SOL unwraps it (the wSOL account is closed in the same transaction), so it shows
    as the payer's lamports, net of the fee; any other token shows in the payer's account of
    that mint.
    """
    tx = Transaction.from_bytes(base64.b64decode(wire_tx))
    mint_out = decode_swap(tx).mint_out
    keys = tx.message.account_keys
    if mint_out == str(WSOL_MINT):
        # Closing the wSOL account hands the payer everything it held (the output, any wSOL
        # it held before, its rent), so its own change is taken off again.
        pre, post = meta["preBalances"], meta["postBalances"]
        received = int(post[0]) - int(pre[0]) + int(meta["fee"])
        wsol_account = associated_token_address(keys[0], WSOL_MINT)
        if wsol_account in keys:
            index = keys.index(wsol_account)
            received += int(post[index]) - int(pre[index])
        return received
    payer = str(keys[0])

    def held(balances: list[dict[str, Any]] | None) -> int:
        return sum(
            int(b["uiTokenAmount"]["amount"])
            for b in balances or []
            if b.get("owner") == payer and b.get("mint") == mint_out
        )

    return max(0, held(meta.get("postTokenBalances")) - held(meta.get("preTokenBalances")))


def _unavailable(message: str) -> ExecutionError:
    return ExecutionError(message, code="RPC_UNAVAILABLE", retryable=True)


def _generic(fault: _RpcFault) -> ExecutionError:
    if fault.code in _RETRYABLE_RPC_CODES:
        return _unavailable(f"RPC error {fault.code}: {fault.message}")
    return ExecutionError(
        f"RPC error {fault.code}: {fault.message}", code="RPC_ERROR", retryable=False
    )


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


def _wallet_balances(balance: Any, accounts: Any) -> WalletBalances:
    """getBalance and getTokenAccountsByOwner (jsonParsed) answers as one reading."""
    tokens = []
    for keyed in accounts["value"]:
        info = keyed["account"]["data"]["parsed"]["info"]
        amount = info["tokenAmount"]
        tokens.append(
            TokenBalance(
                mint=str(info["mint"]),
                account=str(keyed["pubkey"]),
                amount=int(amount["amount"]),
                decimals=int(amount["decimals"]),
            )
        )
    slot = min(int(balance["context"]["slot"]), int(accounts["context"]["slot"]))
    ordered = tuple(sorted(tokens, key=lambda t: (t.mint, t.account)))
    return WalletBalances(int(balance["value"]), ordered, slot)
