"""Hypothesis against the streams: the order WebSocket, the firehose and the SSE route.

A whole engine (embedded deployment, API keys configured) serves on a loopback port from a
thread of its own, so that Hypothesis drives plain blocking clients. Each example opens one
stream with generated handshake parts (the order id, `since`, `recent`, `?token=`, the key,
`Origin`, `Last-Event-ID`), sends generated frames (text, huge, binary), then closes or drops
the connection. Whatever comes: never a 5xx, never a close code 1011, every frame a JSON object
with a `type`, never a frame about another key's order; and once all are gone the server holds
what it held before (no task, subscription or connection left behind).

`OEE_FUZZ_EXAMPLES` scales the runs, as in `test_fuzz_api`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from oee.api.app import create_app
from oee.bootstrap import Engine, build_engine
from oee.devtools.inloop import serving
from tests.support.engine import make_settings

EXAMPLES = int(os.environ.get("OEE_FUZZ_EXAMPLES", "25"))
SECRETS = {
    "alice": "alice-fuzz-secret-0123456789",
    "bob": "bob-fuzz-secret-0123456789xyz",
    "ops": "ops-fuzz-secret-0123456789abc",
}
KEYS = {
    "api_keys": SecretStr(f"alice={SECRETS['alice']},bob={SECRETS['bob']}"),
    "admin_keys": SecretStr(f"ops={SECRETS['ops']}"),
}
# What a stream may answer a hostile client: refusals at the handshake, error frames, and
# the close codes of `oee.api.streams` and `oee.api.limits` (1000 after a terminal event).
HANDSHAKE_REFUSALS = {401, 403, 404, 429}
CLOSE_CODES = {1000, 1001, 1005, 4400, 4404, 4408}
SSE_STATUSES = {200, 400, 401, 403, 404, 429}
TIMEOUT_S = 5.0


@dataclass
class Served:
    """An engine served from its own thread and event loop; `call` runs a coroutine there."""

    engine: Engine
    loop: asyncio.AbstractEventLoop
    port: int
    orders: dict[str, str] = field(default_factory=dict)  # name -> order id
    owners: dict[str, str] = field(default_factory=dict)  # order id -> key name

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def held(self) -> dict[str, int]:
        """What the server holds for clients right now: tasks, subscriptions, connections."""

        async def count() -> dict[str, int]:
            await asyncio.sleep(0.2)  # let handlers of just-closed connections finish
            fanout = self.engine.bus._fanout  # type: ignore[attr-defined]
            return {
                "tasks": len(asyncio.all_tasks()),
                "order_subscriptions": sum(len(f) for f in fanout._by_order.values()),
                "firehose_subscriptions": len(fanout._firehose),
                "ws_connections": int(self.engine.metrics.ws_connections._value.get()),
            }

        return dict(self.call(count()))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp: Path = tmp_path_factory.mktemp("fuzz-streams")
    config = make_settings(tmp, env="test", **KEYS)
    ready: asyncio.Future[Served] | None = None
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        nonlocal ready
        stop = asyncio.Event()
        box["stop"] = stop
        engine = await build_engine(config, "serve")
        async with serving(create_app(engine)) as port:
            box["served"] = Served(engine, asyncio.get_running_loop(), port)
            started.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by the fixture
            box["error"] = exc
            started.set()

    # What escapes the app reaches uvicorn, which logs it here ("Exception in ASGI application").
    escaped = _Collect(logging.ERROR)
    logging.getLogger("uvicorn.error").addHandler(escaped)
    thread = threading.Thread(target=run, name="fuzzed-engine", daemon=True)
    thread.start()
    assert started.wait(30), "the engine did not start"
    if "error" in box:
        raise box["error"]
    served: Served = box["served"]
    _place_orders(served)
    try:
        yield served
    finally:
        served.loop.call_soon_threadsafe(box["stop"].set)
        thread.join(30)
        logging.getLogger("uvicorn.error").removeHandler(escaped)
    assert not escaped.records, [r.getMessage() for r in escaped.records]


class _Collect(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _place_orders(served: Served) -> None:
    """A confirmed market order each for alice and bob, and alice's limit order (watching)."""
    base = f"http://127.0.0.1:{served.port}"
    bodies = {
        "alice-market": ("alice", {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "0.1"}),
        "bob-market": ("bob", {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "0.2"}),
        "alice-limit": (
            "alice",
            {
                "type": "limit",
                "tokenIn": "SOL",
                "tokenOut": "USDC",
                "amountIn": "1",
                "limitPrice": "100000",
            },
        ),
    }
    with httpx.Client(base_url=base, timeout=TIMEOUT_S) as http:
        for name, (owner, body) in bodies.items():
            headers = {"Authorization": f"Bearer {SECRETS[owner]}"}
            answer = http.post("/api/orders/execute", json=body, headers=headers)
            assert answer.status_code == 200, answer.text
            served.orders[name] = answer.json()["orderId"]
            served.owners[answer.json()["orderId"]] = owner
        for name, wanted in (("alice-market", "confirmed"), ("alice-limit", "watching")):
            for _ in range(100):
                headers = {"Authorization": f"Bearer {SECRETS['alice']}"}
                status = http.get(f"/api/orders/{served.orders[name]}", headers=headers)
                if status.json()["status"] == wanted:
                    break
                threading.Event().wait(0.05)


# --- what a hostile client sends ----------------------------------------------------------------

# Header values as HTTP carries them: visible latin-1, no line breaks.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300).map(
    lambda s: s.replace("\x7f", "").strip()
)
anything = st.text(max_size=200)
numbers = st.integers(min_value=-(10**20), max_value=10**20).map(str)
since_values = (
    st.none() | numbers | anything | st.sampled_from(["0", "1", "3", " 1", "+1", "\u0661"])
)
frames = st.lists(
    st.text(max_size=2000)
    | st.binary(max_size=2000)
    | st.just("x" * 200_000)
    | st.just(b"\x00" * 200_000),
    max_size=4,
)


@st.composite
def stream_requests(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.sampled_from([None, "alice", "bob", "ops", "garbage"]))
    return {
        "order": draw(
            st.sampled_from(["alice-market", "bob-market", "alice-limit", "unknown"])
            | anything.map(lambda s: "raw:" + s)
        ),
        "key": key,
        "token_for": draw(st.sampled_from([None, "alice", "bob", "garbage", "tampered"])),
        "since": draw(since_values),
        "origin": draw(st.none() | st.just("own") | header_text | st.just("null")),
        "frames": draw(frames),
        "drop": draw(st.booleans()),
    }


def _order_path(served: Served, order: str) -> str:
    if order.startswith("raw:"):
        return quote(order[4:], safe="")
    if order == "unknown":
        return str(uuid.uuid4())
    return served.orders[order]


def _token(served: Served, who: str | None) -> str | None:
    if who is None:
        return None
    if who == "garbage":
        return "not-a-token"
    base = f"http://127.0.0.1:{served.port}"
    owner = "alice" if who == "tampered" else who
    headers = {"Authorization": f"Bearer {SECRETS[owner]}"}
    token = str(httpx.post(f"{base}/api/stream-tokens", headers=headers).json()["token"])
    if who == "tampered":  # alice's token with its payload changed, signature kept
        payload, signature = token.split(".")
        return payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    return token


def _headers(served: Served, request: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    key = request["key"]
    if key == "garbage":
        headers["Authorization"] = "Bearer wrong-secret-000000000000"
    elif key is not None:
        headers["Authorization"] = f"Bearer {SECRETS[key]}"
    origin = request["origin"]
    if origin == "own":
        headers["Origin"] = f"http://127.0.0.1:{served.port}"
    elif origin is not None:
        headers["Origin"] = origin
    return headers


def _query(served: Served, request: dict[str, Any], since_name: str = "since") -> str:
    params: dict[str, str] = {}
    if request["since"] is not None:
        params[since_name] = request["since"]
    token = _token(served, request["token_for"])
    if token is not None:
        params["token"] = token
    return "?" + urlencode(params) if params else ""


def _viewer(request: dict[str, Any]) -> str | None:
    """Whose key the server sees (the header wins over a token)."""
    if request["key"] is not None:
        return request["key"] if request["key"] != "garbage" else None
    return request["token_for"] if request["token_for"] in ("alice", "bob") else None


def _check_frame(served: Served, raw: str | bytes, viewer: str | None) -> dict[str, Any]:
    assert isinstance(raw, str), "the server sends text frames"
    frame = json.loads(raw)
    assert isinstance(frame, dict), frame
    assert isinstance(frame.get("type"), str), frame
    assert frame.get("code") != "INTERNAL_ERROR", frame
    owner = served.owners.get(str(frame.get("orderId")))
    if frame["type"] != "error" and owner is not None and viewer != "ops":
        assert owner == viewer, f"{viewer} saw {owner}'s order: {frame}"
    return frame


def _talk(ws: ClientConnection, request: dict[str, Any]) -> None:
    for frame in request["frames"]:
        with contextlib.suppress(WebSocketException, OSError):
            ws.send(frame)
    if request["drop"]:
        # Gone without a close frame, as a killed client or a cut network goes.
        with contextlib.suppress(OSError):
            ws.socket.shutdown(socket.SHUT_RDWR)
        ws.socket.close()


def _read_until_closed(served: Served, ws: ClientConnection, viewer: str | None) -> None:
    with contextlib.suppress(TimeoutError):
        while True:
            try:
                raw = ws.recv(timeout=0.2)
            except WebSocketException:
                break
            _check_frame(served, raw, viewer)
    ws.close()
    code = ws.close_code
    assert code is None or code in CLOSE_CODES, f"closed with {code}: {ws.close_reason!r}"


def _open_ws(served: Served, path: str, request: dict[str, Any]) -> None:
    url = f"ws://127.0.0.1:{served.port}{path}"
    headers = _headers(served, request)
    try:
        with connect(
            url, additional_headers=headers, open_timeout=TIMEOUT_S, close_timeout=1, max_size=None
        ) as ws:
            _talk(ws, request)
            if not request["drop"]:
                _read_until_closed(served, ws, _viewer(request))
    except InvalidStatus as refused:
        _check_refusal(refused.response.status_code, refused.response.body, HANDSHAKE_REFUSALS)


def _check_refusal(status: int, body: bytes | None, allowed: set[int]) -> None:
    """A refusal is one of `allowed`, with the usual error body."""
    assert status in allowed, (status, body)
    error = json.loads(body or b"{}")
    assert isinstance(error.get("code"), str), error
    assert isinstance(error.get("message"), str), error


# --- the properties -------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@FUZZ
@given(request=stream_requests())
def test_the_order_websocket_survives_any_client(served: Served, request: dict[str, Any]) -> None:
    path = f"/ws/orders/{_order_path(served, request['order'])}{_query(served, request)}"
    _open_ws(served, path, request)


@FUZZ
@given(request=stream_requests())
def test_the_firehose_survives_any_client(served: Served, request: dict[str, Any]) -> None:
    _open_ws(served, f"/ws/orders{_query(served, request, since_name='recent')}", request)


@FUZZ
@given(request=stream_requests(), last_event_id=st.none() | header_text | numbers)
def test_the_sse_stream_survives_any_client(
    served: Served, request: dict[str, Any], last_event_id: str | None
) -> None:
    path = f"/api/orders/{_order_path(served, request['order'])}/events{_query(served, request)}"
    headers = _headers(served, request)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    url = f"http://127.0.0.1:{served.port}{path}"
    timeout = httpx.Timeout(TIMEOUT_S, read=0.2)
    raw_headers = {name: value.encode("latin-1") for name, value in headers.items()}
    with (
        httpx.Client(timeout=timeout) as http,
        http.stream("GET", url, headers=raw_headers) as answer,
    ):
        if answer.status_code != 200:
            _check_refusal(answer.status_code, answer.read(), SSE_STATUSES)
            return
        assert answer.headers["content-type"].startswith("text/event-stream")
        if request["drop"]:
            return  # leaves at once: the server notices the closed connection
        with contextlib.suppress(httpx.ReadTimeout):
            for line in answer.iter_lines():
                if line.startswith("data: "):
                    _check_frame(served, line[6:], _viewer(request))


def test_rapid_connect_and_drop_leaves_nothing_behind(served: Served) -> None:
    """Hundreds of streams opened and dropped at once: the server is back where it was."""
    before = served.held()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = f"/ws/orders/{served.orders['alice-limit']}"
    headers = {"Authorization": f"Bearer {SECRETS['alice']}"}
    for _ in range(max(EXAMPLES * 4, 100)):
        with connect(f"ws://127.0.0.1:{served.port}{path}", additional_headers=headers) as ws:
            ws.recv(timeout=TIMEOUT_S)  # the snapshot: the stream is fully set up
            ws.socket.close()  # dropped without a close frame
    after = served.held()
    # Exact for what each stream holds; the engine's own periodic tasks come and go.
    tasks_before, tasks_after = before.pop("tasks"), after.pop("tasks")
    assert after == before, (before, after)
    assert tasks_after <= tasks_before + 3, (tasks_before, tasks_after)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mib < 50, f"peak memory grew {grown_mib:.0f} MiB"


def test_nothing_is_left_behind_by_the_fuzzing(served: Served) -> None:
    """Runs last in this module: every fuzzed stream is gone from the server."""
    held = served.held()
    assert held["order_subscriptions"] == 0, held
    assert held["firehose_subscriptions"] == 0, held
    assert held["ws_connections"] == 0, held
