"""`POST /admin/move` and `GET /admin/prices`: steering the simulator through its real ASGI app.

The engine's own on-chain venue adapters read the moved pools over JSON-RPC, as a worker does.
The world runs on a fake clock, so nothing moves between a request and the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from oee.domain.tokens import resolve_token
from oee.settings import SimSettings
from tests.support.fakes import FakeClock
from tests.support.sim import SimNode, sim_node

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
ONE_SOL = 10**9


@pytest.fixture
async def node() -> AsyncIterator[SimNode]:
    async with sim_node(SimSettings(latency_scale=0.0), now=FakeClock()) as node:
        yield node


def refused(response: httpx.Response, code: str) -> str:
    assert (response.status_code, response.json().get("error")) == (400, code), response.text
    assert set(response.json()) == {"error", "message"}
    message: str = response.json()["message"]
    assert message
    return message


async def test_a_move_answers_the_pairs_prices_after_and_before(node: SimNode) -> None:
    read = await node.http.get("/admin/prices", params={"pair": "SOL/USDC"})
    assert read.status_code == 200, read.text
    before = read.json()
    assert set(before) == {"pair", "reference", "prices"}
    assert set(before["prices"]) == {"raydium", "meteora"}

    moved = await node.http.post("/admin/move", json={"pair": "SOL/USDC", "percent": 3})
    assert moved.status_code == 200, moved.text
    answer = moved.json()
    assert (answer["pair"], answer["percent"], answer["moved"]) == ("SOL/USDC", "3", "SOL")
    assert answer["previous"] == {"reference": before["reference"], "prices": before["prices"]}
    assert Decimal(answer["reference"]) / Decimal(before["reference"]) == Decimal("1.03")
    for venue, price in answer["prices"].items():
        change = Decimal(price) / Decimal(before["prices"][venue])
        assert abs(change - Decimal("1.03")) < Decimal("0.003"), venue
    after = (await node.http.get("/admin/prices", params={"pair": "SOL/USDC"})).json()
    assert after == {key: answer[key] for key in ("pair", "reference", "prices")}


async def test_the_engines_venues_quote_the_moved_pools(node: SimNode) -> None:
    world = node.world
    before = {v.name: world.quote(v.name, SOL, USDC, ONE_SOL).amount_out for v in node.venues}
    body = {"pair": "SOL/USDC", "percent": -2.5}
    assert (await node.http.post("/admin/move", json=body)).status_code == 200
    for venue in node.venues:  # their first read of the pools, over JSON-RPC
        after = (await venue.quote(SOL, USDC, ONE_SOL)).amount_out
        assert after == world.quote(venue.name, SOL, USDC, ONE_SOL).amount_out
        assert Decimal(after) / before[venue.name] < Decimal("0.98"), venue.name


async def test_a_percent_may_be_a_fraction_and_the_pair_any_case_or_a_mint(
    node: SimNode,
) -> None:
    body = {"pair": f"usdc/{SOL.mint}", "percent": 0.5}
    moved = await node.http.post("/admin/move", json=body)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["pair"], moved.json()["percent"], moved.json()["moved"]) == (
        "USDC/SOL",
        "0.5",
        "SOL",
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"pair": "SOL-USDC", "percent": 3}, "INVALID_PAIR"),
        ({"percent": 3}, "INVALID_PAIR"),
        ({"pair": ["SOL", "USDC"], "percent": 3}, "INVALID_PAIR"),
        ({"pair": "SOL/DOGE", "percent": 3}, "UNKNOWN_TOKEN"),
        ({"pair": "USDC/USDT", "percent": 3}, "PEGGED_PAIR"),
        ({"pair": "SOL/USDC"}, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": "+3%"}, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": "3"}, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": True}, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": None}, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": 900.01}, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": -91}, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": 3, "venue": "raydium"}, "BAD_REQUEST"),
        (["SOL/USDC", 3], "BAD_REQUEST"),
    ],
)
async def test_a_move_the_simulator_refuses_moves_nothing(
    node: SimNode, body: Any, code: str
) -> None:
    before = (await node.http.get("/admin/prices", params={"pair": "SOL/USDC"})).json()
    refused(await node.http.post("/admin/move", json=body), code)
    assert (await node.http.get("/admin/prices", params={"pair": "SOL/USDC"})).json() == before


@pytest.mark.parametrize("raw", [b"", b"{", b'{"pair": "SOL/USDC", "percent": NaN}'])
async def test_a_body_that_is_not_a_json_move_is_refused(node: SimNode, raw: bytes) -> None:
    response = await node.http.post("/admin/move", content=raw)
    refused(response, "INVALID_PERCENT" if b"NaN" in raw else "BAD_REQUEST")


async def test_prices_of_a_pair_without_pools_or_without_a_pair(node: SimNode) -> None:
    launch = {"symbol": "MOON", "decimals": 6, "quote": "SOL"}
    assert (await node.http.post("/admin/pools", json=launch)).status_code == 201
    unpooled = await node.http.get("/admin/prices", params={"pair": "MOON/USDC"})
    assert "MOON/USDC" in refused(unpooled, "NO_POOL")
    refused(await node.http.get("/admin/prices"), "INVALID_PAIR")
    moon = await node.http.post("/admin/move", json={"pair": "moon/sol", "percent": 50})
    assert (moon.status_code, moon.json()["moved"]) == (200, "MOON")
