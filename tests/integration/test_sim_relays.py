"""`GET`/`POST /api/sim/pools`, `POST /api/sim/move` (and the fault-rate relay they share helpers
with), for real.

Each engine is built as `oee serve` builds it and served by uvicorn on a free port in the test's
event loop: with its simulator in process (the embedded default), or with `oee sim`'s app on its
own port at `OEE_RPC_URL` (production's shape). The error paths take the simulator away (a port
nothing listens on, an API-only process without one) or put a wrong one in its place.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.queue.memory import MemoryQueue
from oee.api.app import create_app
from oee.api.examples import ERRORS
from oee.bootstrap import build_engine
from oee.devtools.inloop import serving
from oee.domain.tokens import Token, resolve_token
from oee.settings import Settings, SimSettings
from oee.sim import build_sim
from oee.sim.app import create_sim_app
from oee.sim.app import server_config as sim_server_config
from tests.support.api import embedded_engine, make_engine, serve_api
from tests.support.engine import EngineServer, make_settings, serve_engine

MOON = {"symbol": "MOON", "decimals": 6}
MOVE = {"pair": "SOL/USDC", "percent": 3}
NO_FAULTS = {
    "rate": 0.0,
    "slowConfirmRate": 0.0,
    "expiredBlockhashRate": 0.0,
    "slippageMoveRate": 0.0,
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[EngineServer]:
    """The embedded default: the simulator runs inside the engine's process."""
    async for running in serve_engine(make_settings(tmp_path)):
        yield running


@pytest.fixture
async def sim_url() -> AsyncIterator[str]:
    """`oee sim`'s app on its own port, as production runs it."""
    settings = SimSettings(latency_scale=0)
    app = create_sim_app(*build_sim(settings), settings)
    async with serving(app, config=sim_server_config) as port:
        yield f"http://127.0.0.1:{port}/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert (response.status_code, response.json().get("code")) == (status, code), response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body["message"], str)
    assert body["message"]
    assert set(body) <= {"code", "message", "errors"}
    assert ERRORS[code][0] == status, "the code's documented status"
    return body


# --- success -------------------------------------------------------------------------------


async def test_launch_a_pool_and_list_it(server: EngineServer) -> None:
    http = server.client
    empty = await http.get("/api/sim/pools")
    assert empty.status_code == 200, empty.text
    assert empty.json() == []
    assert empty.headers["cache-control"] == "no-store"

    launched = await http.post("/api/sim/pools", json=MOON)
    assert launched.status_code == 201, launched.text
    assert launched.headers["cache-control"] == "no-store"
    launch = launched.json()
    assert launch["symbol"] == "MOON"
    assert launch["decimals"] == 6
    assert launch["origin"] == "request"
    assert launch["priceUsd"] == "0.001"
    assert launch["liquidityUsd"] == "50000"
    assert launch["quote"]["symbol"] == "SOL"
    assert [pool["venue"] for pool in launch["pools"]] == ["raydium", "meteora"]
    for pool in launch["pools"]:
        assert pool["address"]
        assert pool["programId"]
        assert int(pool["reserves"]["base"]) > 0
        assert int(pool["reserves"]["quote"]) > 0
    assert launch["launchedAt"]["slot"] > 0

    listed = (await http.get("/api/sim/pools")).json()
    assert listed == [launch]


async def test_launch_with_every_option_keeps_amounts_exact(server: EngineServer) -> None:
    body = {
        "symbol": "pepe2",
        "decimals": 5,
        "venues": ["meteora"],
        "quote": "USDC",
        "liquidityUsd": 12345.5,
        "priceUsd": "0.000000123456789",  # beyond a float's digits: kept as written
    }
    launched = await server.client.post("/api/sim/pools", json=body)
    assert launched.status_code == 201, launched.text
    launch = launched.json()
    assert (launch["symbol"], launch["decimals"]) == ("pepe2", 5)
    assert [pool["venue"] for pool in launch["pools"]] == ["meteora"]
    assert launch["quote"]["symbol"] == "USDC"
    assert launch["liquidityUsd"] == "12345.5"
    assert launch["priceUsd"] == "0.000000123456789"

    explicit = {"symbol": "RSV", "decimals": 6, "venues": ["raydium"], "reserves": {}}
    explicit["reserves"] = {"base": "1000000000000", "quote": 5_000_000_000}
    launched = await server.client.post("/api/sim/pools", json=explicit)
    assert launched.status_code == 201, launched.text
    assert launched.json()["pools"][0]["reserves"] == {
        "base": "1000000000000",
        "quote": "5000000000",
    }


async def test_a_launched_token_is_quoted_by_the_engines_venues(server: EngineServer) -> None:
    # The relay launches in the very simulator the engine trades on: both venues quote it.
    launch = (await server.client.post("/api/sim/pools", json=MOON)).json()
    token = Token(launch["symbol"], launch["mint"], launch["decimals"])
    sol = resolve_token("SOL")
    quoted = {
        venue.name: await venue.quote(sol, token, 10**9) for venue in server.engine.venues or []
    }
    assert set(quoted) == {"raydium", "meteora"}
    for quote in quoted.values():
        assert quote.amount_out > 0
        assert quote.pool in {pool["address"] for pool in launch["pools"]}


async def test_relays_reach_a_separate_simulator_at_rpc_url(sim_url: str, tmp_path: Path) -> None:
    async for server in serve_engine(make_settings(tmp_path, rpc_url=sim_url)):
        launched = await server.client.post("/api/sim/pools", json=MOON)
        assert launched.status_code == 201, launched.text
        duplicate = await server.client.post("/api/sim/pools", json={**MOON, "symbol": "moon"})
        assert_error(duplicate, 409, "DUPLICATE_SYMBOL")
        assert (await server.client.get("/api/sim/faults")).json() == NO_FAULTS
        one = await server.client.post("/api/sim/faults", json={"slippageMoveRate": 1})
        assert one.json() == {**NO_FAULTS, "slippageMoveRate": 1.0}, one.text
    async with httpx.AsyncClient(base_url=sim_url, trust_env=False) as sim:
        assert (await sim.get("/admin/faults")).json()["slippageMoveRate"] == 1.0
        on_the_simulator = (await sim.get("/admin/pools")).json()
    assert [launch["symbol"] for launch in on_the_simulator] == ["MOON"]


async def test_an_api_only_process_relays_with_a_client_of_its_own(sim_url: str) -> None:
    # No worker and no HTTP client of its own (like `oee api`): each relay opens one.
    engine = make_engine(None, MemoryQueue(), MemoryBus(), rpc_url=sim_url)  # type: ignore[arg-type]
    assert engine.http is None
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://engine") as http:
        launched = await http.post("/api/sim/pools", json=MOON)
        listed = await http.get("/api/sim/pools")
        refused = await http.post("/api/sim/pools", json={"symbol": "A", "decimals": 99})
    assert launched.status_code == 201, launched.text
    assert [launch["mint"] for launch in listed.json()] == [launched.json()["mint"]]
    assert_error(refused, 422, "INVALID_DECIMALS")


# --- the simulator's refusals, relayed -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"symbol": "MO-ON", "decimals": 6}, "INVALID_SYMBOL", "symbol"),
        ({"symbol": "ELEVENCHARS", "decimals": 6}, "INVALID_SYMBOL", "symbol"),
        ({"symbol": "X", "decimals": 19}, "INVALID_DECIMALS", "decimals"),
        ({"symbol": "X", "decimals": 6.5}, "INVALID_DECIMALS", "decimals"),
        ({"symbol": "X", "decimals": True}, "INVALID_DECIMALS", "decimals"),
        ({"symbol": "X", "decimals": 6, "venues": ["orca"]}, "INVALID_VENUES", "venues"),
        ({"symbol": "X", "decimals": 6, "venues": []}, "INVALID_VENUES", "venues"),
        ({"symbol": "X", "decimals": 6, "quote": "DOGE"}, "UNKNOWN_QUOTE", "quote"),
        ({"symbol": "X", "decimals": 6, "liquidityUsd": 1}, "INVALID_LIQUIDITY", "liquidityUsd"),
        ({"symbol": "X", "decimals": 6, "priceUsd": "1e20"}, "INVALID_PRICE", "priceUsd"),
        (
            {"symbol": "X", "decimals": 6, "reserves": {"base": 1}},
            "INVALID_RESERVES",
            "reserves",
        ),
    ],
)
async def test_a_rule_the_simulator_enforces_is_a_422_with_its_code(
    server: EngineServer, body: dict[str, Any], code: str, field: str
) -> None:
    response = await server.client.post("/api/sim/pools", json=body)
    error = assert_error(response, 422, code)
    assert error["errors"] == [{"field": field, "message": error["message"]}]
    assert (await server.client.get("/api/sim/pools")).json() == []  # nothing launched


async def test_a_taken_symbol_is_a_409(server: EngineServer) -> None:
    assert (await server.client.post("/api/sim/pools", json=MOON)).status_code == 201
    again = await server.client.post("/api/sim/pools", json={**MOON, "symbol": "Moon"})
    assert "MOON" in assert_error(again, 409, "DUPLICATE_SYMBOL")["message"].upper()
    registry = await server.client.post("/api/sim/pools", json={**MOON, "symbol": "usdc"})
    assert_error(registry, 409, "DUPLICATE_SYMBOL")  # registry tokens are taken too
    assert len((await server.client.get("/api/sim/pools")).json()) == 1


# --- the engine's own checks ----------------------------------------------------------------


async def test_bodies_that_are_not_a_launch_are_refused_before_the_simulator(
    server: EngineServer,
) -> None:
    http, headers = server.client, {"content-type": "application/json"}
    assert_error(
        await http.post("/api/sim/pools", content=b'{"symbol": ', headers=headers),
        400,
        "MALFORMED_JSON",
    )
    assert_error(
        await http.post("/api/sim/pools", content=b"", headers=headers), 400, "MALFORMED_JSON"
    )
    assert_error(await http.post("/api/sim/pools", json=["MOON", 6]), 400, "BODY_NOT_OBJECT")
    huge = {"symbol": "X", "decimals": 6, "pad": "x" * 20_000}
    assert_error(await http.post("/api/sim/pools", json=huge), 413, "BODY_TOO_LARGE")

    missing = assert_error(await http.post("/api/sim/pools", json={}), 422, "VALIDATION_ERROR")
    assert missing["errors"] == [
        {"field": "symbol", "message": "symbol is required"},
        {"field": "decimals", "message": "decimals is required"},
    ]
    mistyped = {
        "symbol": 7,
        "decimals": 6,
        "quote": ["SOL"],
        "venues": "raydium",
        "priceUsd": "cheap",
        "liquidityUsd": {"usd": 1},
        "reserves": [1, 2],
        "colour": "blue",
    }
    wrong = assert_error(await http.post("/api/sim/pools", json=mistyped), 422, "VALIDATION_ERROR")
    fields = [error["field"] for error in wrong["errors"]]
    assert fields == [
        "symbol",
        "quote",
        "venues",
        "liquidityUsd",
        "priceUsd",
        "reserves",
        "colour",
    ]
    assert "unknown field 'colour'" in wrong["message"]
    assert (await http.get("/api/sim/pools")).json() == []


# --- no simulator, or a wrong one ----------------------------------------------------------


async def test_a_simulator_that_does_not_answer_is_503(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/"
    engine = await embedded_engine(tmp_path, env="test", rpc_url=down)
    async for api in serve_api(engine):
        listed = await api.http.get("/api/sim/pools")
        launched = await api.http.post("/api/sim/pools", json=MOON)
        malformed = await api.http.post(
            "/api/sim/pools", content=b"{", headers={"content-type": "application/json"}
        )
        moved = await api.http.post("/api/sim/move", json=MOVE)
        out_of_range = await api.http.post("/api/sim/move", json={**MOVE, "percent": 1000})
    assert "did not answer" in assert_error(listed, 503, "SIMULATOR_UNAVAILABLE")["message"]
    assert_error(launched, 503, "SIMULATOR_UNAVAILABLE")
    assert_error(moved, 503, "SIMULATOR_UNAVAILABLE")
    assert_error(malformed, 400, "MALFORMED_JSON")  # the body is checked first
    assert_error(out_of_range, 422, "INVALID_PERCENT")


async def test_a_process_without_a_simulator_is_503(tmp_path: Path) -> None:
    # `oee api` without OEE_RPC_URL: its own in-process simulator is not the workers' one.
    engine = await build_engine(Settings(data_dir=tmp_path, rpc_url=None), role="api")
    async for api in serve_api(engine):
        listed = await api.http.get("/api/sim/pools")
        launched = await api.http.post("/api/sim/pools", json=MOON)
        faults = await api.http.get("/api/sim/faults")
        moved = await api.http.post("/api/sim/move", json=MOVE)
    for response in (listed, launched, faults, moved):
        body = assert_error(response, 503, "SIMULATOR_UNAVAILABLE")
        assert body["message"] == "this process runs no simulator and OEE_RPC_URL is not set"


async def _not_a_simulator(request: Request) -> Response:
    if request.url.path == "/admin/pools" and request.method == "GET":
        return Response('{"launches": []}', media_type="application/json")  # not a list
    if request.url.path == "/admin/faults":
        return Response('{"rate": "high"}', media_type="application/json")
    if request.url.path == "/admin/move":
        return Response('{"pair": "SOL/USDC"}', media_type="application/json")  # no prices
    return PlainTextResponse("upstream exploded", 500)


@pytest.fixture
async def wrong_sim_url() -> AsyncIterator[str]:
    """Something at OEE_RPC_URL that answers, but not as the simulator does."""
    routes = [Route("/admin/{name}", _not_a_simulator, methods=["GET", "POST"])]
    async with serving(Starlette(routes=routes), config=sim_server_config) as port:
        yield f"http://127.0.0.1:{port}"


async def test_a_simulator_answering_nonsense_is_502(wrong_sim_url: str, tmp_path: Path) -> None:
    engine = await embedded_engine(tmp_path, env="test", rpc_url=wrong_sim_url)
    async for api in serve_api(engine):
        listed = await api.http.get("/api/sim/pools")
        launched = await api.http.post("/api/sim/pools", json=MOON)
        faults = await api.http.get("/api/sim/faults")
        moved = await api.http.post("/api/sim/move", json=MOVE)
    assert "/admin/move answered 200" in assert_error(moved, 502, "SIMULATOR_ERROR")["message"]
    assert "/admin/pools answered 200" in assert_error(listed, 502, "SIMULATOR_ERROR")["message"]
    launch_error = assert_error(launched, 502, "SIMULATOR_ERROR")
    assert "answered 500: upstream exploded" in launch_error["message"]
    assert "/admin/faults answered 200" in assert_error(faults, 502, "SIMULATOR_ERROR")["message"]


# --- fault rates ------------------------------------------------------------------------------


async def test_each_fault_kind_is_set_alone_and_the_others_stay(server: EngineServer) -> None:
    http = server.client
    assert (await http.get("/api/sim/faults")).json() == NO_FAULTS
    steps = [
        ({"slippageMoveRate": 1}, {"slippageMoveRate": 1.0}),
        ({"rate": 0.25}, {"slippageMoveRate": 1.0, "rate": 0.25}),
        ({"slowConfirmRate": "0.5"}, None),  # a string is no rate: refused, nothing changes
        (
            {"expiredBlockhashRate": 0.1, "rate": 0},
            {"slippageMoveRate": 1.0, "rate": 0.0, "expiredBlockhashRate": 0.1},
        ),
    ]
    expected = dict(NO_FAULTS)
    for body, changed in steps:
        reply = await http.post("/api/sim/faults", json=body)
        if changed is None:
            error = assert_error(reply, 422, "INVALID_FAULT_RATE")
            assert error["errors"] == [{"field": "slowConfirmRate", "message": error["message"]}]
            continue
        expected |= changed
        assert reply.status_code == 200, reply.text
        assert reply.json() == expected
        assert reply.headers["cache-control"] == "no-store"
    assert (await http.get("/api/sim/faults")).json() == expected


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({}, 422, "UNKNOWN_FAULT_KIND", "body"),
        ({"typo": 0.1}, 422, "UNKNOWN_FAULT_KIND", "typo"),
        ({"rate": 0.1, "slippage": 0.1}, 422, "UNKNOWN_FAULT_KIND", "slippage"),
        ({"rate": 2}, 422, "INVALID_FAULT_RATE", "rate"),
        ({"slippageMoveRate": -0.1}, 422, "INVALID_FAULT_RATE", "slippageMoveRate"),
        ({"slippageMoveRate": None}, 422, "INVALID_FAULT_RATE", "slippageMoveRate"),
        ({"rate": True}, 422, "INVALID_FAULT_RATE", "rate"),
        ([0.3], 400, "BODY_NOT_OBJECT", None),
    ],
)
async def test_a_bad_fault_body_is_refused_with_its_field(
    server: EngineServer, body: Any, status: int, code: str, field: str | None
) -> None:
    reply = await server.client.post("/api/sim/faults", json=body)
    error = assert_error(reply, status, code)
    if field is not None:
        assert [e["field"] for e in error["errors"]] == [field]
    assert (await server.client.get("/api/sim/faults")).json() == NO_FAULTS


async def _old_simulator(request: Request) -> Response:
    return Response('{"rate": 0.2}', media_type="application/json")  # before fault kinds


async def test_a_simulator_with_only_the_transient_rate_is_relayed_as_it_is(
    tmp_path: Path,
) -> None:
    routes = [Route("/admin/faults", _old_simulator, methods=["GET", "POST"])]
    async with serving(Starlette(routes=routes), config=sim_server_config) as port:
        engine = await embedded_engine(tmp_path, env="test", rpc_url=f"http://127.0.0.1:{port}")
        async for api in serve_api(engine):
            read = await api.http.get("/api/sim/faults")
    assert read.json() == {"rate": 0.2}


# --- price moves ------------------------------------------------------------------------------


async def test_a_move_is_relayed_with_the_pairs_prices_after_and_before(
    server: EngineServer,
) -> None:
    moved = await server.client.post("/api/sim/move", json=MOVE)
    assert moved.status_code == 200, moved.text
    assert moved.headers["cache-control"] == "no-store"
    answer = moved.json()
    assert (answer["pair"], answer["percent"], answer["moved"]) == ("SOL/USDC", "3", "SOL")
    assert set(answer["prices"]) == set(answer["previous"]["prices"]) == {"raydium", "meteora"}
    change = Decimal(answer["reference"]) / Decimal(answer["previous"]["reference"])
    assert abs(change - Decimal("1.03")) < Decimal("1e-8")  # ten significant digits each
    for venue, price in answer["prices"].items():
        venue_change = Decimal(price) / Decimal(answer["previous"]["prices"][venue])
        assert abs(venue_change - Decimal("1.03")) < Decimal("0.005"), venue
    down = await server.client.post("/api/sim/move", json={"pair": "usdc/sol", "percent": -2.5})
    assert (down.status_code, down.json()["moved"], down.json()["percent"]) == (
        200,
        "SOL",
        "-2.5",
    )


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"pair": "SOL-USDC", "percent": 3}, "INVALID_PAIR", "pair"),
        ({"pair": "SOL/DOGE", "percent": 3}, "UNKNOWN_TOKEN", "pair"),
        ({"pair": "USDC/USDT", "percent": 3}, "PEGGED_PAIR", "pair"),
        ({"pair": "MOON/USDC", "percent": 3}, "NO_POOL", "pair"),
    ],
)
async def test_a_pair_the_simulator_refuses_is_a_422_with_its_code(
    server: EngineServer, body: dict[str, Any], code: str, field: str
) -> None:
    assert (await server.client.post("/api/sim/pools", json=MOON)).status_code == 201
    error = assert_error(await server.client.post("/api/sim/move", json=body), 422, code)
    assert error["errors"] == [{"field": field, "message": error["message"]}]


async def test_a_move_body_is_checked_before_the_simulator(tmp_path: Path) -> None:
    # Nothing listens at OEE_RPC_URL: every answer below comes from the engine's own checks.
    down = f"http://127.0.0.1:{free_port()}/"
    engine = await embedded_engine(tmp_path, env="test", rpc_url=down)
    cases: list[tuple[Any, int, str]] = [
        ({"percent": 3}, 422, "INVALID_PAIR"),
        ({"pair": 7, "percent": 3}, 422, "INVALID_PAIR"),
        ({"pair": "SOL/USDC"}, 422, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": "3"}, 422, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": True}, 422, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": -90.5}, 422, "INVALID_PERCENT"),
        ({"pair": "SOL/USDC", "percent": 1e999}, 422, "INVALID_PERCENT"),
        ({**MOVE, "venue": "raydium"}, 422, "VALIDATION_ERROR"),
        (["SOL/USDC", 3], 400, "BODY_NOT_OBJECT"),
    ]
    async for api in serve_api(engine):
        for body, status, code in cases:
            content = json.dumps(body, allow_nan=True).replace("Infinity", "1e999").encode()
            response = await api.http.post(
                "/api/sim/move", content=content, headers={"content-type": "application/json"}
            )
            error = assert_error(response, status, code)
            if code in ("INVALID_PAIR", "INVALID_PERCENT"):
                assert error["errors"][0]["field"] == code.split("_")[1].lower()
        malformed = await api.http.post(
            "/api/sim/move", content=b"{", headers={"content-type": "application/json"}
        )
    assert_error(malformed, 400, "MALFORMED_JSON")


# --- the documentation -----------------------------------------------------------------------


async def test_openapi_documents_both_relays(server: EngineServer) -> None:
    spec = (await server.client.get("/openapi.json")).json()
    pools = spec["paths"]["/api/sim/pools"]
    assert set(pools) == {"get", "post"}
    post = pools["post"]["responses"]
    assert "200" not in post
    assert post["201"]["content"]["application/json"]["example"]["symbol"] == "MOON"
    body = pools["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["required"] == ["symbol", "decimals"]
    assert body["example"] == MOON

    def codes(status: str) -> set[str]:
        examples = post[status]["content"]["application/json"]["examples"]
        return {example["value"]["code"] for example in examples.values()}

    assert codes("409") == {"DUPLICATE_SYMBOL", "TOO_MANY_LAUNCHES"}
    assert codes("422") == {
        "VALIDATION_ERROR",
        "INVALID_SYMBOL",
        "INVALID_DECIMALS",
        "INVALID_VENUES",
        "UNKNOWN_QUOTE",
        "INVALID_LIQUIDITY",
        "INVALID_PRICE",
        "INVALID_RESERVES",
    }
    assert codes("503") == {"SIMULATOR_UNAVAILABLE"}
    listed = pools["get"]["responses"]["200"]["content"]["application/json"]["example"]
    assert listed[0]["pools"][0]["venue"] == "raydium"


async def test_openapi_documents_the_move_relay(server: EngineServer) -> None:
    spec = (await server.client.get("/openapi.json")).json()
    move = spec["paths"]["/api/sim/move"]
    assert set(move) == {"post"}
    responses = move["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["example"]["moved"] == "SOL"
    body = move["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["required"] == ["pair", "percent"]
    assert body["example"] == MOVE
    examples = responses["422"]["content"]["application/json"]["examples"]
    assert {example["value"]["code"] for example in examples.values()} == {
        "VALIDATION_ERROR",
        "INVALID_PAIR",
        "UNKNOWN_TOKEN",
        "NO_POOL",
        "PEGGED_PAIR",
        "INVALID_PERCENT",
    }
