"""Solana PubSub (WebSocket) for the simulated node: log and slot subscriptions, in agave's wire.

`oee.sim.app` serves it at `ws://<host>:<port>/`, the path JSON-RPC answers POSTs on (an agave
node listens on the next port, 8900; solana-py and web3.js take the URL as given).

| method | params | result |
|---|---|---|
| `logsSubscribe` | `"all"`, `"allWithVotes"` or `{"mentions": [<one pubkey>]}`, then `{"commitment"}`? | subscription id |
| `logsUnsubscribe`, `slotUnsubscribe` | `[<subscription id>]` | `true` |
| `slotSubscribe` | none | subscription id |

Errors are agave's: -32700 parse error, -32600 invalid request, -32601 method not found, -32602
invalid params (`"Invalid Request: Only 1 address supported"`, `"Invalid subscription id."`).
Notifications, as an agave node sends them:

    {"jsonrpc":"2.0","method":"logsNotification","params":{"result":{"context":{"slot":S},
     "value":{"signature":"<base58>","err":null,"logs":[...]}},"subscription":ID}}
    {"jsonrpc":"2.0","method":"slotNotification","params":{"result":{"parent":S-1,
     "root":S-32,"slot":S},"subscription":ID}}

Each pool a launch opens is one transaction (`oee.sim.launch_tx`), and so one
`logsNotification` to every `all` subscription and every subscription mentioning one of its
accounts (the venue's program id, the pool, its vaults, either mint, the launcher, the Token or
System program). Its logs are the venue's real ones: Raydium AMM v4 `initialize2`
(`Program log: initialize2: InitializeInstruction2 {...}` and a `ray_log` holding the
program's `InitLog`), Meteora DLMM `Program log: Instruction: InitializeLbPair` and the calls
that create its accounts. Logs carry no addresses: a sniper fetches the transaction by its
signature (`getTransaction`) and reads the new pool from the creating instruction. A connection that has
subscriptions advances the world every slot, so random launches arrive without any HTTP call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from solders.pubkey import Pubkey
from starlette.websockets import WebSocket

from oee.settings import SimSettings
from oee.sim import rpc_wire as wire
from oee.sim.blocks import block_seconds
from oee.sim.launches import Launch
from oee.sim.ledger import SimLedger
from oee.sim.rpc_wire import RpcError
from oee.sim.world import SimWorld

log = structlog.get_logger(__name__)

Json = Any
COMMITMENTS = frozenset({"processed", "confirmed", "finalized"})
MIN_TICK_S = 0.02  # at tiny latency scales slots outpace any client; advance at most this often
OUTBOX_CAPACITY = 10_000  # queued messages a slow client may owe before it is disconnected
MAX_SUBSCRIPTIONS = 1_000  # per connection
_INVALID_ID = RpcError(-32602, "Invalid subscription id.")


@dataclass(slots=True)
class _Connection:
    """One client: its subscriptions and the messages waiting for the socket, in order."""

    subscriptions: set[int] = field(default_factory=set)
    slot_ids: set[int] = field(default_factory=set)
    last_height: int | None = None
    outbox: deque[str] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def push(self, message: Json) -> None:
        if len(self.outbox) >= OUTBOX_CAPACITY:
            self.overflowed = True  # never skip a launch silently: the writer disconnects
        else:
            self.outbox.append(json.dumps(message, separators=(",", ":")))
        self.ready.set()


@dataclass(frozen=True, slots=True)
class _Subscription:
    connection: _Connection
    kind: Literal["logs", "slot"]
    mentions: str | None = None  # a logs filter's one address; None: every transaction


class PubSub:
    """Every connection's subscriptions to one node, fed by the world's launches and its slots."""

    def __init__(self, world: SimWorld, ledger: SimLedger, settings: SimSettings) -> None:
        self._ledger = ledger
        self._seed = settings.seed
        self._ids = itertools.count()  # agave numbers subscriptions from 0, node-wide
        self._subscriptions: dict[int, _Subscription] = {}
        self._world = world
        self._tick_s = max(block_seconds(settings), MIN_TICK_S)
        world.on_launch(self._on_launch)

    async def serve(self, websocket: WebSocket) -> None:
        """Serve one WebSocket client until it disconnects (a Starlette endpoint)."""
        await websocket.accept()
        connection = _Connection()
        tasks = [
            asyncio.create_task(self._write(websocket, connection)),
            asyncio.create_task(self._tick(connection)),
        ]
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:  # a binary frame: read as UTF-8 JSON all the same
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                reply = self._handle(text, connection)
                if reply is not None:
                    connection.push(reply)
        finally:
            for sub_id in connection.subscriptions:
                self._subscriptions.pop(sub_id, None)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _handle(self, text: str, connection: _Connection) -> Json:
        """The reply to one text frame: a request or a batch; None when nothing is owed."""
        try:
            payload = json.loads(text)
        except ValueError:
            return wire.error_reply(None, RpcError(-32700, "Parse error"))
        if isinstance(payload, list):
            if not payload:
                return wire.error_reply(None, RpcError(-32600, "Invalid request"))
            replies = [reply for item in payload if (reply := self._one(item, connection))]
            return replies or None
        return self._one(payload, connection)

    def _one(self, request: Json, connection: _Connection) -> dict[str, Json] | None:
        if not isinstance(request, dict):
            return wire.error_reply(None, RpcError(-32600, "Invalid request"))
        request_id, method = request.get("id"), request.get("method")
        params = request.get("params", [])
        params = [] if params is None else params
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return wire.error_reply(request_id, RpcError(-32600, "Invalid request"))
        try:
            if not isinstance(params, list):
                raise RpcError(-32602, "Invalid params: expected an array of parameters")
            result = self._call(method, params, connection)
        except RpcError as error:
            reply = wire.error_reply(request_id, error)
        except Exception:  # a request no check foresaw must not close the client's socket
            log.exception("pubsub_request_failed", method=method)
            reply = wire.error_reply(request_id, RpcError(-32603, "Internal error"))
        else:
            reply = {"jsonrpc": "2.0", "result": result, "id": request_id}
        return reply if "id" in request else None  # a notification is never answered

    def _call(self, method: str, params: list[Json], connection: _Connection) -> Json:
        if method == "logsSubscribe":
            mentions = _logs_filter(params[0] if params else None)
            config = params[1] if len(params) > 1 else None
            if config is not None and not isinstance(config, dict):
                raise RpcError(-32602, "Invalid params: the config must be an object")
            commitment = (config or {}).get("commitment", "finalized")
            if not isinstance(commitment, str) or commitment not in COMMITMENTS:
                raise RpcError(-32602, "Invalid params: unknown commitment")
            return self._subscribe(connection, "logs", mentions)
        if method == "slotSubscribe":
            connection.last_height = self._ledger.block_height()  # notify from the next slot on
            return self._subscribe(connection, "slot", None)
        if method in ("logsUnsubscribe", "slotUnsubscribe"):
            if len(params) != 1 or not isinstance(params[0], int) or isinstance(params[0], bool):
                raise RpcError(-32602, "Invalid params: expected [<subscription id>]")
            # As on agave, an id of this connection is dropped whichever kind it is.
            if params[0] not in connection.subscriptions:
                raise _INVALID_ID
            connection.subscriptions.discard(params[0])
            connection.slot_ids.discard(params[0])
            self._subscriptions.pop(params[0], None)
            return True
        raise RpcError(-32601, "Method not found")

    def _subscribe(
        self, connection: _Connection, kind: Literal["logs", "slot"], mentions: str | None
    ) -> int:
        if len(connection.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise RpcError(
                -32603, "Internal Error: Subscription refused. Node subscription limit reached"
            )
        sub_id = next(self._ids)
        connection.subscriptions.add(sub_id)
        if kind == "slot":
            connection.slot_ids.add(sub_id)
        self._subscriptions[sub_id] = _Subscription(connection, kind, mentions)
        return sub_id

    def _on_launch(self, launch: Launch) -> None:
        """Queue a `logsNotification` per new pool for each subscription that sees it."""
        logs = [(s_id, s) for s_id, s in self._subscriptions.items() if s.kind == "logs"]
        if not logs:
            return
        context = {"slot": wire.slot(launch.block_height)}
        for pool in launch.pools:
            record = self._world.launch_txs.get(pool.signature)
            if record is None:
                continue
            value = {"signature": pool.signature, "err": None, "logs": list(record.logs)}
            for sub_id, sub in logs:
                if sub.mentions is None or sub.mentions in record.accounts:
                    result = {"context": context, "value": value}
                    sub.connection.push(_notification("logsNotification", result, sub_id))

    async def _write(self, websocket: WebSocket, connection: _Connection) -> None:
        while True:
            await connection.ready.wait()
            connection.ready.clear()
            if connection.overflowed:
                await websocket.close(1008, "notification queue overflow")
                return
            while connection.outbox:
                await websocket.send_text(connection.outbox.popleft())

    async def _tick(self, connection: _Connection) -> None:
        """While subscribed, bring the world to now every slot: due random launches notify."""
        while True:
            await asyncio.sleep(self._tick_s)
            if not connection.subscriptions:
                continue
            try:
                height = self._ledger.block_height()  # advances the world
            except Exception:  # keep serving the socket; the world's bug is logged
                log.exception("pubsub_tick_failed")
                continue
            if connection.slot_ids and height != connection.last_height:
                connection.last_height = height
                slot = wire.slot(height)
                info = {"parent": slot - 1, "root": slot - wire.FINALIZED_AFTER, "slot": slot}
                for sub_id in sorted(connection.slot_ids):
                    connection.push(_notification("slotNotification", info, sub_id))


def _logs_filter(value: Json) -> str | None:
    """A logs filter's one address, or None for every transaction (agave's checks and errors)."""
    if value in ("all", "allWithVotes"):
        return None
    if isinstance(value, dict) and list(value) == ["mentions"]:
        keys = value["mentions"]
        if not isinstance(keys, list) or len(keys) != 1:
            raise RpcError(-32602, "Invalid Request: Only 1 address supported")
        try:
            return str(Pubkey.from_string(keys[0]))
        except (ValueError, TypeError):
            raise RpcError(-32602, "Invalid Request: Invalid mentions provided") from None
    raise RpcError(
        -32602, 'Invalid params: the filter is "all", "allWithVotes" or {"mentions": [<pubkey>]}'
    )


def _notification(method: str, result: Json, sub_id: int) -> dict[str, Json]:
    return {
        "jsonrpc": "2.0",
        "method": method,
        "params": {"result": result, "subscription": sub_id},
    }
