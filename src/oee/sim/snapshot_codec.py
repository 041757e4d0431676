"""The simulator's records as JSON and back, for snapshots: transactions as they landed, landed
swaps, launches and their creation transactions, and accounts (bytes as base64).

Every decoder takes what its encoder gave, exactly: a round trip is the identity (the unit
tests check it), so a restored chain answers `getTransaction` byte for byte as before.
"""

from __future__ import annotations

import base64
import dataclasses
from decimal import Decimal
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from oee.domain.ports import TxState, TxStatus
from oee.domain.tokens import Token
from oee.sim.bank import Balances, TokenBalance
from oee.sim.history import LandedSwap
from oee.sim.launch_tx import LaunchRecord
from oee.sim.launches import Launch, LaunchedPool
from oee.sim.processed import ProcessedTx

Json = Any


def account_json(address: Pubkey, account: Account) -> list[Json]:
    """`[address, owner, lamports, executable, rent_epoch, base64 data]`."""
    data = base64.b64encode(bytes(account.data)).decode()
    return [
        str(address), str(account.owner), account.lamports, account.executable,
        account.rent_epoch, data,
    ]  # fmt: skip


def account_from(row: list[Json]) -> tuple[Pubkey, Account]:
    """The address and account `account_json` wrote."""
    address, owner, lamports, executable, rent_epoch, data = row
    account = Account(
        int(lamports), base64.b64decode(data), Pubkey.from_string(owner), bool(executable),
        int(rent_epoch),
    )  # fmt: skip
    return Pubkey.from_string(address), account


def processed_json(tx: ProcessedTx) -> dict[str, Json]:
    """A landed transaction's record as JSON."""
    status = dataclasses.asdict(tx.status)
    status["state"] = tx.status.state.value
    return {
        "raw": tx.raw_tx, "status": status, "pre": _balances_json(tx.pre),
        "post": _balances_json(tx.post), "err": tx.err, "logs": list(tx.logs), "units": tx.units,
    }  # fmt: skip


def processed_from(data: dict[str, Json]) -> ProcessedTx:
    """The record `processed_json` wrote."""
    status = dict(data["status"])
    status["state"] = TxState(status["state"])
    return ProcessedTx(
        data["raw"], TxStatus(**status), _balances_from(data["pre"]),
        _balances_from(data["post"]), data["err"], tuple(data["logs"]), int(data["units"]),
    )  # fmt: skip


def swap_json(swap: LandedSwap) -> dict[str, Json]:
    """A landed swap as JSON (its fields by name)."""
    return dataclasses.asdict(swap)


def swap_from(data: dict[str, Json]) -> LandedSwap:
    """The swap `swap_json` wrote."""
    return LandedSwap(**data)


def launch_json(launch: Launch, now: float) -> dict[str, Json]:
    """A launch as JSON; its world time kept as an age, since clocks restart with the process."""
    return {
        "token": dataclasses.asdict(launch.token), "quote": dataclasses.asdict(launch.quote),
        "priceUsd": str(launch.price_usd), "liquidityUsd": str(launch.liquidity_usd),
        "pools": [dataclasses.asdict(pool) for pool in launch.pools],
        "ageS": now - launch.at, "blockHeight": launch.block_height, "origin": launch.origin,
    }  # fmt: skip


def launch_from(data: dict[str, Json], now: float) -> Launch:
    """The launch `launch_json` wrote, its age counted back from world time `now`."""
    return Launch(
        Token(**data["token"]), Token(**data["quote"]), Decimal(data["priceUsd"]),
        Decimal(data["liquidityUsd"]), tuple(LaunchedPool(**pool) for pool in data["pools"]),
        now - float(data["ageS"]), int(data["blockHeight"]), data["origin"],
    )  # fmt: skip


def launch_record_json(record: LaunchRecord) -> dict[str, Json]:
    """A pool's creation transaction as JSON."""
    return {
        "signature": record.signature, "logs": list(record.logs),
        "processed": processed_json(record.processed), "accounts": sorted(record.accounts),
    }  # fmt: skip


def launch_record_from(data: dict[str, Json]) -> LaunchRecord:
    """The record `launch_record_json` wrote."""
    return LaunchRecord(
        data["signature"], tuple(data["logs"]), processed_from(data["processed"]),
        frozenset(data["accounts"]),
    )  # fmt: skip


def _balances_json(balances: Balances) -> dict[str, Json]:
    return {
        "lamports": list(balances.lamports),
        "tokens": [dataclasses.asdict(token) for token in balances.tokens],
    }


def _balances_from(data: dict[str, Json]) -> Balances:
    tokens = tuple(TokenBalance(**token) for token in data["tokens"])
    return Balances(tuple(int(value) for value in data["lamports"]), tokens)
