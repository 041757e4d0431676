"""Solana JSON-RPC wire formats for the simulated node: errors, statuses, transactions, accounts.

Each shape is what an agave node returns, checked in tests by parsing it with solders' own RPC
types (the Rust serde structs) and with solana-py. Kept apart from the method dispatch in
`oee.sim.rpc` so both stay short.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from solders.pubkey import Pubkey
from solders.token.state import TokenAccount, TokenAccountState
from solders.transaction import Transaction

from oee.sim.bank import Balances
from oee.sim.processed import ProcessedTx
from oee.sim.tx_logs import instruction_failure
from oee.solana.base58 import b58encode
from oee.solana.spl import TOKEN_PROGRAM_ID, WSOL_MINT

Json = Any
Decimals = Callable[[str], int]  # a mint's decimals
API_VERSION = "2.2.16"
# Slots run ahead of block heights (skipped slots); a constant lead keeps the two visibly apart.
SLOT_LEAD = 1_000_000
FINALIZED_AFTER = 32  # confirmations until the landing block is rooted
TOKEN_ACCOUNT_RENT = 2_039_280
U64_MAX = 2**64 - 1


class RpcError(Exception):
    """A JSON-RPC error object: `code`, `message` and optional `data`, as agave sends them."""

    def __init__(self, code: int, message: str, data: Json = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def error_reply(request_id: Json, error: RpcError) -> dict[str, Json]:
    """The response object for a failed call."""
    body: dict[str, Json] = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return {"jsonrpc": "2.0", "error": body, "id": request_id}


def slot(height: int) -> int:
    """The slot of a block height (no forks, a constant number of skipped slots)."""
    return height + SLOT_LEAD


def context(height: int, value: Json) -> dict[str, Json]:
    """An `RpcResponse`: the value with the slot it was read at."""
    return {"context": {"slot": slot(height), "apiVersion": API_VERSION}, "value": value}


def arg(params: list[Json], index: int, kind: type) -> Json:
    """Positional parameter `index`, of type `kind`, or agave's invalid-params error."""
    if len(params) <= index:
        raise RpcError(
            -32602, f"Invalid params: invalid length {len(params)}, expected {index + 1}"
        )
    if not isinstance(params[index], kind):
        raise RpcError(-32602, f"Invalid params: parameter {index} must be a {kind.__name__}")
    return params[index]


def config(params: list[Json], index: int) -> dict[str, Json]:
    """The optional configuration object at `index` (a bare string is the legacy encoding)."""
    if len(params) <= index or params[index] is None:
        return {}
    value = params[index]
    if isinstance(value, str):
        return {"encoding": value}
    if not isinstance(value, dict):
        raise RpcError(-32602, f"Invalid params: parameter {index} must be a configuration object")
    return value


def describe(err: Json) -> str:
    """A `TransactionError` as agave displays it (the text after "Transaction simulation failed: ")."""
    if isinstance(err, dict) and "InstructionError" in err:
        index, detail = err["InstructionError"]
        return f"Error processing Instruction {index}: {instruction_failure(detail)}"
    return {
        "BlockhashNotFound": "Blockhash not found",
        "AlreadyProcessed": "This transaction has already been processed",
    }.get(err, str(err))


def simulation_result(
    err: Json, logs: list[str], units: int, replacement: dict[str, Json] | None = None
) -> dict[str, Json]:
    """An `RpcSimulateTransactionResult`: simulateTransaction's value and a -32002's `data`."""
    return {
        "err": err,
        "logs": logs,
        "accounts": None,
        "unitsConsumed": units,
        "returnData": None,
        "innerInstructions": None,
        "replacementBlockhash": replacement,
    }


def preflight_failure(err: Json, logs: list[str], units: int) -> RpcError:
    """sendTransaction's -32002: the simulation failed, so the node did not forward it."""
    message = f"Transaction simulation failed: {describe(err)}"
    return RpcError(-32002, message, simulation_result(err, logs, units))


def signature_status(landed_height: int, age: int, err: Json) -> dict[str, Json]:
    """One `TransactionStatus` of getSignatureStatuses.

    Landing in the simulator is already the cluster's optimistic confirmation (there are no
    forks), so a status is `confirmed` at once and `finalized` once its block is rooted.
    """
    finalized = age >= FINALIZED_AFTER
    return {
        "slot": slot(landed_height),
        "confirmations": None if finalized else age,
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "confirmationStatus": "finalized" if finalized else "confirmed",
    }


def encode_transaction(tx: Transaction, raw: bytes, encoding: Json) -> Json:
    """getTransaction's `transaction` field in the requested encoding."""
    if encoding == "base64":
        return [base64.b64encode(raw).decode(), "base64"]
    if encoding == "base58":
        return [b58encode(raw), "base58"]
    if encoding == "binary":
        return b58encode(raw)
    if encoding != "json":
        raise RpcError(-32602, f"Invalid params: unsupported encoding {encoding!r} in this node")
    message = tx.message
    header = message.header
    return {
        "signatures": [str(s) for s in tx.signatures],
        "message": {
            "header": {
                "numRequiredSignatures": header.num_required_signatures,
                "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            },
            "accountKeys": [str(key) for key in message.account_keys],
            "recentBlockhash": str(message.recent_blockhash),
            "instructions": [
                {
                    "programIdIndex": ix.program_id_index,
                    "accounts": list(ix.accounts),
                    "data": b58encode(bytes(ix.data)),
                    "stackHeight": None,
                }
                for ix in message.instructions
            ],
        },
    }


def transaction_meta(processed: ProcessedTx, decimals: Decimals) -> dict[str, Json]:
    """A `UiTransactionStatusMeta`: fee, error, logs and every account's balances around it."""
    err, logs, units = processed.err, list(processed.logs), processed.units
    return {
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "fee": processed.status.fee_lamports,
        "preBalances": list(processed.pre.lamports),
        "postBalances": list(processed.post.lamports),
        "innerInstructions": [],
        "logMessages": logs,
        "preTokenBalances": _token_balances(processed.pre, decimals),
        "postTokenBalances": _token_balances(processed.post, decimals),
        "rewards": [],
        "loadedAddresses": {"writable": [], "readonly": []},
        "computeUnitsConsumed": units,
    }


def _token_balances(balances: Balances, decimals: Decimals) -> list[Json]:
    return [
        {
            "accountIndex": entry.account_index,
            "mint": entry.mint,
            "owner": entry.owner,
            "programId": str(TOKEN_PROGRAM_ID),
            "uiTokenAmount": ui_amount(entry.amount, decimals(entry.mint)),
        }
        for entry in balances.tokens
    ]


def ui_amount(units: int, decimals: int) -> dict[str, Json]:
    """A `UiTokenAmount`: exact base units as a string plus the human amount."""
    text = format(Decimal(units).scaleb(-decimals), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return {
        "amount": str(units),
        "decimals": decimals,
        "uiAmount": float(text),
        "uiAmountString": text,
    }


def token_filter(wanted: dict[str, Json]) -> str | None:
    """getTokenAccountsByOwner's filter: a mint, or None for every account of the Token program."""
    if isinstance(wanted.get("mint"), str):
        try:
            return str(Pubkey.from_string(wanted["mint"]))
        except ValueError:
            raise RpcError(-32602, "Invalid param: Invalid") from None
    if wanted.get("programId") == str(TOKEN_PROGRAM_ID):
        return None
    if isinstance(wanted.get("programId"), str):
        raise RpcError(-32602, "Invalid param: unrecognized Token program id")
    raise RpcError(-32602, "Invalid params: the filter must hold `mint` or `programId`")


def token_account(
    address: str, owner: str, mint: str, units: int, decimals: int, encoding: Json
) -> dict[str, Json]:
    """One `RpcKeyedAccount` of getTokenAccountsByOwner, in the requested data encoding."""
    native = mint == str(WSOL_MINT)
    state = TokenAccount(
        Pubkey.from_string(mint), Pubkey.from_string(owner), units, None,
        TokenAccountState.Initialized, TOKEN_ACCOUNT_RENT if native else None, 0, None,
    )  # fmt: skip
    raw = bytes(state)
    data: Json
    if encoding == "jsonParsed":
        info = {"isNative": native, "mint": mint, "owner": owner, "state": "initialized"}
        info["tokenAmount"] = ui_amount(units, decimals)
        data = {"program": "spl-token", "parsed": {"info": info, "type": "account"}, "space": 165}
    elif encoding == "base64":
        data = [base64.b64encode(raw).decode(), "base64"]
    elif encoding == "base58":
        data = [b58encode(raw), "base58"]
    elif encoding == "binary":
        data = b58encode(raw)
    else:
        raise RpcError(-32602, f"Invalid params: unsupported encoding {encoding!r} in this node")
    lamports = TOKEN_ACCOUNT_RENT + (units if native else 0)
    account = {"data": data, "executable": False, "lamports": lamports}
    account |= {"owner": str(TOKEN_PROGRAM_ID), "rentEpoch": U64_MAX, "space": 165}
    return {"pubkey": address, "account": account}
