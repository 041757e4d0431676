"""The submit served directly (`oee.api.direct`) answers exactly as the routed stack does.

Each scenario sends the same requests, in order, to a fresh engine behind each path and
compares every answer: status, headers (names, values and order) and body, order ids aside.
Between them the scenarios reach every answer the submit has: accepted, replayed, each client
error, each refusal of the access check, the rate limit, the risk checks and the open-orders
cap, a 503 for an unreachable dependency and a 500 for a bug, and what falls through.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from oee.adapters.ratelimit.memory import MemoryRateLimiter
from oee.api.app import create_app
from oee.api.direct import MIRRORED_MIDDLEWARE, DirectRoutes
from oee.bootstrap import Engine
from tests.support.api import embedded_engine

ALICE = "alice-secret-0123456789"
OPS = "ops-secret-0123456789abcd"
KEYS = {"api_keys": SecretStr(f"alice={ALICE}"), "admin_keys": SecretStr(f"ops={OPS}")}
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5"}
EXECUTE = "/api/orders/execute"
# Order ids and instants (a halt's) differ between the two runs.
_VARIES = re.compile(
    rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    rb"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+\+00:00"
)

Request = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments


def post(**kwargs: Any) -> Request:
    return ("POST", EXECUTE, kwargs)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 1000 + 1):
        yield b"x" * 1000


@dataclass
class Scenario:
    requests: list[Request]
    settings: dict[str, Any] = field(default_factory=dict)
    setup: Callable[[Engine], Awaitable[None]] | None = None


async def _halt(engine: Engine) -> None:
    await engine.halt.set(True, "maintenance", "ops")


async def _broken_store(engine: Engine) -> None:
    async def fail(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    engine.orders.submit = fail  # type: ignore[method-assign]


async def _unreachable_store(engine: Engine) -> None:
    async def fail(*_: Any, **__: Any) -> Any:
        raise ConnectionRefusedError("no database")

    engine.orders.submit = fail  # type: ignore[method-assign]


SCENARIOS = {
    "open mode: accepted and every client error": Scenario(
        [
            post(json=ORDER),
            post(json=ORDER, headers={"Idempotency-Key": "k-1"}),
            post(json=ORDER, headers={"Idempotency-Key": "k-1"}),  # replayed
            post(json={**ORDER, "amountIn": "2"}, headers={"Idempotency-Key": "k-1"}),  # 409
            post(json=ORDER, headers={"Idempotency-Key": "has space"}),
            post(content=b"{not json", headers={"Content-Type": "application/json"}),
            post(content=b"[1, 2]", headers={"Content-Type": "application/json"}),
            post(content=b"{}", headers={"Content-Type": "text/plain"}),
            post(content=b"{}"),
            post(json={**ORDER, "colour": "red"}),
            post(json={**ORDER, "tokenIn": "NOPE"}),
            post(json={**ORDER, "tokenOut": "SOL"}),
            post(json={**ORDER, "amountIn": "-1"}),
            post(json={**ORDER, "type": "limit"}),
            post(json={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1", "type": "x"}),
            post(content=b"{}" + b" " * 70_000, headers={"Content-Type": "application/json"}),
            post(content=_chunks(70_000), headers={"Content-Type": "application/json"}),
            post(json={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "é": "ü"}),
            ("GET", EXECUTE, {}),
            ("PUT", EXECUTE, {"json": ORDER}),
            ("POST", EXECUTE + "/", {"json": ORDER}),
        ]
    ),
    "keys and the rate limit": Scenario(
        [
            post(json=ORDER),  # no key
            post(json=ORDER, headers={"Authorization": "Basic abc"}),
            post(json=ORDER, headers=bearer(ALICE)),
            post(json=ORDER, headers={"X-API-Key": OPS}),
            post(json=ORDER, headers=bearer(ALICE)),
            post(json=ORDER, headers=bearer(ALICE)),  # over the burst of 3
            post(json=ORDER, headers=bearer("wrong-secret-0123456789")),
        ],
        settings={**KEYS, "rate_limit": "1/s", "rate_limit_burst": 3},
    ),
    "a locked-out address": Scenario(
        [post(json=ORDER, headers=bearer(f"wrong-{i}")) for i in range(12)]
        + [post(json=ORDER, headers=bearer(ALICE))],
        settings={**KEYS, "rate_limit": "100/s"},
    ),
    "risk checks": Scenario(
        [post(json=ORDER), post(json={**ORDER, "tokenIn": "USDC", "tokenOut": "BONK"})],
        settings={"token_denylist": "SOL"},
    ),
    "halted": Scenario([post(json=ORDER)], setup=_halt),
    "the open-orders cap": Scenario(
        [post(json=ORDER, headers=bearer(ALICE)) for _ in range(4)]
        + [post(json=ORDER, headers={"X-API-Key": OPS})],
        settings={**KEYS, "max_open_orders_per_key": 2},
    ),
    "a bug": Scenario([post(json=ORDER)], setup=_broken_store),
    "an unreachable store": Scenario([post(json=ORDER)], setup=_unreachable_store),
    "CORS configured": Scenario(
        [
            post(json=ORDER, headers={"Origin": "https://friend.example"}),
            post(json=ORDER, headers={"Origin": "https://evil.example"}),
            post(json=ORDER),
        ],
        settings={"cors_origins": "https://friend.example"},
    ),
}

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


async def _answers(tmp_path: Path, scenario: Scenario, *, direct: bool) -> list[Answer]:
    engine = await embedded_engine(tmp_path, env="test", **scenario.settings)
    if engine.settings.rate_policy is not None:
        engine.rate_limiter = MemoryRateLimiter(lambda: 1_700_000_000.0)  # time stands still
    app = create_app(engine, direct=direct)
    await engine.start()
    try:
        if scenario.setup is not None:
            await scenario.setup(engine)
        answers: list[Answer] = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://engine") as http:
            for method, path, kwargs in scenario.requests:
                response = await http.request(method, path, **kwargs)
                headers = [(k.lower(), _VARIES.sub(b"<>", v)) for k, v in response.headers.raw]
                answers.append(
                    (response.status_code, headers, _VARIES.sub(b"<>", response.content))
                )
        return answers
    finally:
        await engine.stop()


@pytest.mark.parametrize("name", SCENARIOS)
async def test_both_paths_answer_alike(name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    direct = await _answers(tmp_path / "direct", scenario, direct=True)
    routed = await _answers(tmp_path / "routed", scenario, direct=False)
    for i, (got, expected) in enumerate(zip(direct, routed, strict=True)):
        assert got == expected, f"request {i}: {scenario.requests[i][:2]}"


async def test_the_direct_path_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The submit never reaches the router with the direct path on (and does without it)."""
    routed: list[str] = []
    import oee.api.orders as orders

    real = orders.accept_order

    async def spy(request: Any, *args: Any) -> Any:
        routed.append("route" if "endpoint" in request.scope else "direct")
        return await real(request, *args)

    monkeypatch.setattr(orders, "accept_order", spy)
    monkeypatch.setattr("oee.api.direct.accept_order", spy)
    for direct in (True, False):
        await _answers(tmp_path / str(direct), Scenario([post(json=ORDER)]), direct=direct)
    assert routed == ["direct", "route"]


async def test_every_middleware_of_the_app_is_mirrored(tmp_path: Path) -> None:
    """A middleware added to the app must be mirrored by the direct path before it ships:
    otherwise the submit, served outside the stack, would silently skip it."""
    engine = await embedded_engine(tmp_path, cors_origins="https://app.example", **KEYS)
    app = create_app(engine, direct=True)
    await engine.store.close()
    stacked = {middleware.cls for middleware in app.user_middleware}
    assert stacked >= {DirectRoutes, *MIRRORED_MIDDLEWARE}  # every option on: the whole stack
    unmirrored = stacked - MIRRORED_MIDDLEWARE - {DirectRoutes}
    assert not unmirrored, f"mirror these in oee.api.direct, then list them: {unmirrored}"
