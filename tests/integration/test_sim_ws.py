"""Solana PubSub on the simulator, served for real: launches announced to WebSocket subscribers.

uvicorn serves the sim app on a socket; the `websockets` library and solana-py's own PubSub
client connect to `ws://.../` as they would to a node, and `POST /admin/pools` launches tokens.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from solana.rpc.websocket_api import SolanaWsClient
from solders.pubkey import Pubkey
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import LogsNotification
from solders.transaction import Transaction
from websockets.asyncio.client import ClientConnection, connect

from oee.devtools.inloop import serving
from oee.settings import SimSettings
from oee.sim import SimWorld, build_sim
from oee.sim.app import create_sim_app, server_config
from oee.sim.world import METEORA, RAYDIUM
from oee.venues.meteora.launches import is_pair_creation, new_pairs_in_transaction
from oee.venues.raydium.launches import find_pool_creation, new_pool_from_transaction
from tests.support.fakes import FakeClock

TIMEOUT_S = 10.0
QUIET_S = 0.3  # long enough for a notification that was going to come


@dataclass
class Node:
    clock: FakeClock
    world: SimWorld
    http: httpx.AsyncClient
    ws_url: str

    def ws(self) -> Any:
        return connect(self.ws_url, open_timeout=TIMEOUT_S)

    async def launch(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post("/admin/pools", json=body)
        assert response.status_code == 201, response.text
        launched: dict[str, Any] = response.json()
        return launched


@asynccontextmanager
async def running(**settings: Any) -> AsyncIterator[Node]:
    clock = FakeClock()
    config = SimSettings(latency_scale=0.01, **settings)
    world, ledger = build_sim(config, now=clock)
    app = create_sim_app(world, ledger, config)
    async with serving(app, config=server_config) as port:
        base = f"127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=TIMEOUT_S) as http:
            yield Node(clock, world, http, f"ws://{base}/")


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    async with running() as started:
        yield started


@pytest.fixture
def start() -> Callable[..., AbstractAsyncContextManager[Node]]:
    return running


async def call(ws: ClientConnection, method: str, *params: Any, request_id: int = 1) -> Any:
    await ws.send(
        json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
    )
    return await receive(ws)


async def subscribe(ws: ClientConnection, program_id: str | None) -> int:
    """A logs subscription: mentioning `program_id`, or every transaction when None."""
    reply = await call(ws, "logsSubscribe", {"mentions": [program_id]} if program_id else "all")
    assert set(reply) == {"jsonrpc", "result", "id"}, reply
    assert isinstance(reply["result"], int)
    return int(reply["result"])


async def receive(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))


async def assert_silent(ws: ClientConnection) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), QUIET_S)


async def sniped(node: Node, signature: str) -> dict[str, str]:
    """What a sniper reads after a launch's logs: the creating transaction (`getTransaction`)
    and, from its instruction, the new pool and its mints (with the venues' own parsers)."""
    body = {
        "jsonrpc": "2.0", "id": 1, "method": "getTransaction",
        "params": [signature, {"encoding": "base64", "commitment": "confirmed"}],
    }  # fmt: skip
    result = (await node.http.post("/", json=body)).json()["result"]
    assert result["meta"]["err"] is None
    tx = Transaction.from_bytes(base64.b64decode(result["transaction"][0]))
    keys, instructions = tx.message.account_keys, tx.message.instructions
    created = new_pool_from_transaction(keys, instructions)
    if created is not None:
        accounts = created.accounts
        return {"venue": "raydium", "pool": str(accounts.amm),
                "baseMint": str(accounts.coin_mint), "quoteMint": str(accounts.pc_mint)}  # fmt: skip
    [pair] = new_pairs_in_transaction(keys, instructions)
    return {"venue": "meteora", "pool": str(pair.lb_pair),
            "baseMint": str(pair.token_x_mint), "quoteMint": str(pair.token_y_mint)}  # fmt: skip


async def test_a_raydium_launch_reaches_its_subscribers_only(node: Node) -> None:
    async with node.ws() as ray, node.ws() as met, node.ws() as everything:
        ray_id = await subscribe(ray, RAYDIUM.program_id)
        await subscribe(met, METEORA.program_id)
        all_id = await subscribe(everything, None)
        launched = await node.launch(symbol="MOON", decimals=6, venues=["raydium"], priceUsd=0.001)

        note = await receive(ray)
        assert set(note) == {"jsonrpc", "method", "params"}
        assert (note["jsonrpc"], note["method"]) == ("2.0", "logsNotification")
        assert set(note["params"]) == {"result", "subscription"}
        assert note["params"]["subscription"] == ray_id
        result = note["params"]["result"]
        assert result["context"] == {"slot": launched["launchedAt"]["slot"]}
        [pool] = launched["pools"]
        assert result["value"]["signature"] == pool["signature"]
        assert result["value"]["err"] is None
        logs = result["value"]["logs"]
        assert f"Program {RAYDIUM.program_id} invoke [1]" in logs
        assert logs[-1] == f"Program {RAYDIUM.program_id} success"
        assert any(
            line.startswith("Program log: initialize2: InitializeInstruction2 {") for line in logs
        )
        assert not any("oee-sim" in line for line in logs)  # only the program's own lines
        assert find_pool_creation(logs) is not None  # what a Raydium sniper's parser looks for
        assert await sniped(node, pool["signature"]) == {
            "venue": "raydium",
            "pool": pool["address"],
            "baseMint": launched["mint"],
            "quoteMint": launched["quote"]["mint"],
        }
        # The ray_log is the program's InitLog: type 0, ..., the pc (quote) and coin amounts.
        [ray_log] = [line for line in logs if line.startswith("Program log: ray_log: ")]
        fields = struct.unpack("<BQBBQQQQ32s", base64.b64decode(ray_log.rsplit(" ", 1)[1]))
        assert (fields[0], fields[2], fields[3]) == (0, 9, 6)
        assert (str(fields[6]), str(fields[7])) == (
            pool["reserves"]["quote"],
            pool["reserves"]["base"],
        )

        other = await receive(everything)
        assert other["params"]["subscription"] == all_id
        assert other["params"]["result"] == result
        await assert_silent(met)


async def test_a_launch_on_both_venues_is_one_transaction_each(node: Node) -> None:
    async with node.ws() as met, node.ws() as by_mint:
        await subscribe(met, METEORA.program_id)
        launched = await node.launch(
            symbol="PEPE", decimals=9, liquidityUsd="20000", priceUsd="0.00001"
        )
        note = await receive(met)
        logs = note["params"]["result"]["value"]["logs"]
        assert "Program log: Instruction: InitializeLbPair" in logs
        assert is_pair_creation(logs)  # what a DLMM sniper's parser looks for
        meteora_pool = next(p for p in launched["pools"] if p["venue"] == "meteora")
        assert note["params"]["result"]["value"]["signature"] == meteora_pool["signature"]
        found = await sniped(node, meteora_pool["signature"])
        assert (found["pool"], found["baseMint"]) == (meteora_pool["address"], launched["mint"])
        assert found["quoteMint"] == launched["quote"]["mint"]  # token X is the new token
        await assert_silent(met)

        # A subscription mentioning the new mint sees the next launch's pools only if it is theirs.
        await subscribe(by_mint, launched["mint"])
        await node.launch(symbol="OTHER", decimals=6)
        await assert_silent(by_mint)


async def test_unsubscribing_stops_notifications(node: Node) -> None:
    async with node.ws() as ws:
        gone = await subscribe(ws, RAYDIUM.program_id)
        kept = await subscribe(ws, None)
        assert kept != gone
        assert await call(ws, "logsUnsubscribe", gone, request_id=9) == {
            "jsonrpc": "2.0",
            "result": True,
            "id": 9,
        }
        again = await call(ws, "logsUnsubscribe", gone)
        assert again["error"] == {"code": -32602, "message": "Invalid subscription id."}
        await node.launch(symbol="MOON", decimals=6, venues=["raydium"])
        note = await receive(ws)
        assert note["params"]["subscription"] == kept
        await assert_silent(ws)


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ({"method": "accountSubscribe", "params": [str(Pubkey.new_unique())]}, -32601),
        (
            {
                "method": "logsSubscribe",
                "params": [{"mentions": [RAYDIUM.program_id, METEORA.program_id]}],
            },
            -32602,
        ),
        ({"method": "logsSubscribe", "params": [{"mentions": ["not-a-key"]}]}, -32602),
        ({"method": "logsSubscribe", "params": ["everything"]}, -32602),
        ({"method": "logsSubscribe", "params": []}, -32602),
        ({"method": "logsSubscribe", "params": ["all", {"commitment": "soon"}]}, -32602),
        ({"method": "logsSubscribe", "params": ["all", {"commitment": []}]}, -32602),
        ({"method": "logsUnsubscribe", "params": ["1"]}, -32602),
        ({"method": "slotUnsubscribe", "params": [12345]}, -32602),
        ({"params": []}, -32600),
    ],
)
async def test_bad_requests_get_agaves_errors(
    node: Node, request_body: dict[str, Any], code: int
) -> None:
    async with node.ws() as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 3, **request_body}))
        reply = await receive(ws)
        assert reply["id"] == 3
        assert reply["error"]["code"] == code
        assert reply["error"]["message"]
        await ws.send("{not json")
        assert (await receive(ws))["error"]["code"] == -32700


async def test_random_launches_arrive_without_any_http_call(
    start: Callable[..., AbstractAsyncContextManager[Node]],
) -> None:
    async with start(launch_interval_s=5) as node, node.ws() as ws:
        await subscribe(ws, None)
        node.clock.t += 60  # the subscribed connection advances the world every slot
        note = await receive(ws)
        fields = await sniped(node, note["params"]["result"]["value"]["signature"])
        launched = (await node.http.get("/admin/pools")).json()
        assert launched[0]["origin"] == "random"
        assert fields["baseMint"] == launched[0]["mint"]


async def test_slot_subscription_notifies_new_slots(node: Node) -> None:
    async with node.ws() as ws:
        reply = await call(ws, "slotSubscribe")
        sub_id = reply["result"]
        node.clock.t += 1.0  # 250 blocks of 4 ms
        note = await receive(ws)
        assert note["method"] == "slotNotification"
        assert note["params"]["subscription"] == sub_id
        info = note["params"]["result"]
        assert set(info) == {"parent", "root", "slot"}
        assert info["parent"] == info["slot"] - 1
        assert info["root"] == info["slot"] - 32
        assert (await call(ws, "slotUnsubscribe", sub_id))["result"] is True
        node.clock.t += 1.0
        await assert_silent(ws)


async def test_solana_py_pubsub_client_parses_the_notification(node: Node) -> None:
    async with SolanaWsClient(node.ws_url, request_timeout=TIMEOUT_S) as client:
        mentions = RpcTransactionLogsFilterMentions(Pubkey.from_string(RAYDIUM.program_id))
        subscription = await client.logs_subscribe(filter_=mentions)
        launched = await node.launch(symbol="MOON", decimals=6, venues=["raydium"])
        note = await asyncio.wait_for(client.recv(), TIMEOUT_S)
        assert isinstance(note, LogsNotification)
        assert note.subscription == subscription.subscription_id
        assert note.result.context.slot == launched["launchedAt"]["slot"]
        assert str(note.result.value.signature) == launched["pools"][0]["signature"]
        assert note.result.value.err is None
        assert find_pool_creation(list(note.result.value.logs)) is not None
        await client.unsubscribe(subscription)


async def test_admin_pools_launches_lists_and_refuses(node: Node) -> None:
    launched = await node.launch(
        symbol="MOON", decimals=6, quote="USDC", liquidityUsd=10_000, priceUsd="0.5"
    )
    assert launched["quote"]["symbol"] == "USDC"
    assert (launched["priceUsd"], launched["liquidityUsd"]) == ("0.5", "10000")
    assert [(p["venue"], p["programId"]) for p in launched["pools"]] == [
        ("raydium", RAYDIUM.program_id),
        ("meteora", METEORA.program_id),
    ]
    assert launched["pools"][0]["reserves"] == {
        "base": str(10_000 * 10**6),
        "quote": str(5_000 * 10**6),
    }
    assert launched["origin"] == "request"
    assert launched["launchedAt"]["slot"] > launched["launchedAt"]["blockHeight"]
    listed = (await node.http.get("/admin/pools")).json()
    assert listed == [launched]

    query = {
        "inputMint": launched["quote"]["mint"],
        "outputMint": launched["mint"],
        "amount": "1000000",
    }
    quote = (await node.http.get("/meteora/quote", params=query)).json()
    assert quote["poolAddress"] == launched["pools"][1]["address"]

    duplicate = await node.http.post("/admin/pools", json={"symbol": "moon", "decimals": 6})
    assert (duplicate.status_code, duplicate.json()["error"]) == (409, "DUPLICATE_SYMBOL")
    for body, code in [
        ({"symbol": "X"}, "BAD_REQUEST"),
        ({"symbol": "X", "decimals": 6, "colour": "red"}, "BAD_REQUEST"),
        ({"symbol": "X", "decimals": "6"}, "INVALID_DECIMALS"),
        ({"symbol": "X", "decimals": 6, "venues": "raydium"}, "INVALID_VENUES"),
        ({"symbol": "X", "decimals": 6, "priceUsd": "cheap"}, "BAD_REQUEST"),
        ({"symbol": "X", "decimals": 6, "priceUsd": -1}, "INVALID_PRICE"),
        ({"symbol": "X", "decimals": 6, "reserves": {"base": 10}}, "INVALID_RESERVES"),
        ([], "BAD_REQUEST"),
    ]:
        refused = await node.http.post("/admin/pools", json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"] == code, body
        assert refused.json()["message"]
    garbage = await node.http.post("/admin/pools", content=b"{")
    assert (garbage.status_code, garbage.json()["error"]) == (400, "BAD_REQUEST")
    assert len((await node.http.get("/admin/pools")).json()) == 1
