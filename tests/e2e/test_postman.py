"""The Postman collection, run for real: every request against `oee serve` in its own process.

No Postman and no Node: the collection's scripts use a small fixed vocabulary (documented in
`oee.devtools.postman.script_for`), and `Runner` carries out each statement in Python: the
pre-request GUIDs, the status and body assertions, and the collection variables the scripts save
(so `orderId` flows from *Execute a market order* into the requests after it). A statement
outside the vocabulary fails the test rather than being skipped. The WebSocket streams, which
Postman's v2.1 format cannot hold, are documented in the collection's description; their URLs
are taken from there and followed with the `websockets` client until a terminal event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from oee.devtools import postman
from oee.devtools.engine_process import EngineProcess

ROOT = Path(__file__).resolve().parents[2]
COLLECTION_PATH = ROOT / postman.RELATIVE_PATH
TERMINAL = {"confirmed", "failed", "cancelled", "expired"}
WS_TIMEOUT_S = 15.0

# The vocabulary. A test-script line is `pm.test("<title>", function () { <assertion>; });`
# or the conditional save; a pre-request line sets a fresh GUID.
_WRAPPED = re.compile(r'^pm\.test\(("(?:[^"\\]|\\.)*"), function \(\) \{ (.+); \}\);$')
_SAVE = re.compile(
    r"^if \(pm\.response\.code === (\d+)\) "
    r'pm\.collectionVariables\.set\("(\w+)", pm\.response\.json\(\)\.(\w+)\);$'
)
_GUID = re.compile(
    r'^pm\.collectionVariables\.set\("(\w+)", pm\.variables\.replaceIn\("\{\{\$guid\}\}"\)\);$'
)
_STATUS = re.compile(r"^pm\.response\.to\.have\.status\((\d+)\)$")
_IS_AN = re.compile(r'^pm\.expect\(pm\.response\.json\(\)\)\.to\.be\.an\("(array|object)"\)$')
_HAS = re.compile(r'^pm\.expect\(pm\.response\.json\(\)\)\.to\.have\.property\("(\w+)"\)$')
_SAME_AS = re.compile(
    r"^pm\.expect\(pm\.response\.json\(\)\.(\w+)\)"
    r'\.to\.eql\(pm\.collectionVariables\.get\("(\w+)"\)\)$'
)
_EQUALS = re.compile(r"^pm\.expect\(pm\.response\.json\(\)\.(\w+)\)\.to\.eql\((.+)\)$")
_HEADER = re.compile(r'^pm\.expect\(pm\.response\.headers\.get\("([\w-]+)"\)\)\.to\.eql\((".*")\)$')
_INCLUDES = re.compile(r'^pm\.expect\(pm\.response\.text\(\)\)\.to\.include\((".*")\)$')
_VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")


def _same(a: Any, b: Any) -> bool:
    """Chai's deep `eql`: no `True == 1` and no `1 == 1.0` surprises of Python's `==`."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def leaves(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every request item of a collection or folder, in run order (folders depth-first)."""
    for item in node.get("item", []):
        if "request" in item:
            yield item
        else:
            yield from leaves(item)


def script(item: dict[str, Any], listen: str) -> list[str]:
    lines: list[str] = []
    for event in item.get("event", []):
        if event["listen"] == listen:
            exec_ = event["script"]["exec"]
            lines += exec_.splitlines() if isinstance(exec_, str) else exec_
    return [line for line in lines if line.strip() and not line.strip().startswith("//")]


def documented_status(item: dict[str, Any]) -> int:
    statuses = [
        int(m.group(1))
        for line in script(item, "test")
        if (w := _WRAPPED.match(line)) and (m := _STATUS.match(w.group(2)))
    ]
    assert len(statuses) == 1, f"{item['name']}: expected one status assertion, got {statuses}"
    return statuses[0]


@dataclass
class Runner:
    """Runs collection items the way Postman's runner would, in order, sharing variables."""

    client: httpx.AsyncClient
    variables: dict[str, str]
    failures: list[str] = field(default_factory=list)
    responses: dict[str, httpx.Response] = field(default_factory=dict)

    def resolve(self, text: str, where: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if not self.variables.get(name):
                raise AssertionError(f"{where}: variable {{{{{name}}}}} is unset")
            return self.variables[name]

        return _VARIABLE.sub(value, text)

    def prerequest(self, item: dict[str, Any]) -> None:
        for line in script(item, "prerequest"):
            match = _GUID.match(line)
            assert match, f"{item['name']}: pre-request line outside the vocabulary: {line}"
            self.variables[match.group(1)] = str(uuid.uuid4())

    async def send(self, item: dict[str, Any]) -> httpx.Response:
        name, request = item["name"], item["request"]
        url = request["url"]
        query = "&".join(f"{q['key']}={q['value']}" for q in url.get("query", []))
        rebuilt = "/".join([*url["host"], *url["path"]]) + (f"?{query}" if query else "")
        assert rebuilt == url["raw"], f"{name}: url parts {rebuilt!r} != raw {url['raw']!r}"
        headers = {
            h["key"]: self.resolve(h["value"], name)
            for h in request.get("header", [])
            if not h.get("disabled")
        }
        body = request.get("body")
        content = None
        if body is not None:
            assert body["mode"] == "raw", f"{name}: only raw bodies are used"
            content = self.resolve(body["raw"], name).encode()
        return await self.client.request(
            request["method"], self.resolve(url["raw"], name), headers=headers, content=content
        )

    def check(self, item: dict[str, Any], response: httpx.Response) -> None:
        name = item["name"]
        for line in script(item, "test"):
            if save := _SAVE.match(line):
                if response.status_code == int(save.group(1)):
                    self.variables[save.group(2)] = response.json()[save.group(3)]
                continue
            wrapped = _WRAPPED.match(line)
            assert wrapped, f"{name}: test line outside the vocabulary: {line}"
            title, assertion = json.loads(wrapped.group(1)), wrapped.group(2)
            try:
                ok = self.assertion(assertion, response)
            except (ValueError, KeyError, TypeError) as error:  # not JSON, not an object...
                ok = False
                title += f" ({error!r})"
            if not ok:
                self.failures.append(
                    f"{name}: {title!r} failed; got {response.status_code} {response.text[:300]}"
                )

    def assertion(self, text: str, response: httpx.Response) -> bool:
        if m := _STATUS.match(text):
            return response.status_code == int(m.group(1))
        if m := _IS_AN.match(text):
            return isinstance(response.json(), list if m.group(1) == "array" else dict)
        if m := _HAS.match(text):
            body = response.json()
            return isinstance(body, dict) and m.group(1) in body
        if m := _SAME_AS.match(text):
            return _same(response.json().get(m.group(1)), self.variables.get(m.group(2)))
        if m := _EQUALS.match(text):
            return _same(response.json().get(m.group(1)), json.loads(m.group(2)))
        if m := _HEADER.match(text):
            return response.headers.get(m.group(1)) == json.loads(m.group(2))
        if m := _INCLUDES.match(text):
            return json.loads(m.group(1)) in response.text
        raise AssertionError(f"assertion outside the vocabulary: {text}")

    def check_example(self, item: dict[str, Any], response: httpx.Response) -> None:
        """The saved example shows the documented status and, for errors, the same code."""
        name, status = item["name"], documented_status(item)
        examples = item.get("response", [])
        if not examples:
            self.failures.append(f"{name}: no saved example response")
            return
        example = examples[0]
        if example["code"] != status:
            self.failures.append(f"{name}: example shows {example['code']}, tests say {status}")
        if status >= 400 and response.status_code == status:
            code = json.loads(example["body"]).get("code")
            if code != response.json().get("code"):
                self.failures.append(f"{name}: example code {code}, live {response.json()}")

    async def run(self, collection: dict[str, Any]) -> None:
        for item in leaves(collection):
            self.prerequest(item)
            response = await self.send(item)
            self.responses[item["name"]] = response
            self.check(item, response)
            self.check_example(item, response)


@dataclass
class CollectionRun:
    engine: EngineProcess
    collection: dict[str, Any]
    runner: Runner

    @property
    def ws_base(self) -> str:
        return "ws" + self.engine.base_url.removeprefix("http")

    def ws_url(self, template: str) -> str:
        return self.runner.resolve(template, "WebSocket URL")


def load_collection() -> dict[str, Any]:
    collection: dict[str, Any] = json.loads(COLLECTION_PATH.read_text(encoding="utf-8"))
    return collection


def documented_ws_urls(collection: dict[str, Any]) -> list[str]:
    """The WebSocket URLs the collection's description gives, in order."""
    return re.findall(r"`(\{\{wsBaseUrl\}\}/ws/[^`\s]*)`", collection["info"]["description"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run() -> AsyncIterator[CollectionRun]:
    """One engine, the whole collection run against it once, in order."""
    collection = load_collection()
    async with EngineProcess("embedded", env={"OEE_SIM_LATENCY_SCALE": "0"}) as engine:
        variables = {v["key"]: v.get("value", "") for v in collection.get("variable", [])}
        variables |= {
            "baseUrl": engine.base_url,
            "wsBaseUrl": "ws" + engine.base_url.removeprefix("http"),
        }
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            runner = Runner(client, variables)
            await runner.run(collection)
            yield CollectionRun(engine, collection, runner)


# --- the file itself -------------------------------------------------------------------------


def test_collection_file_is_the_generated_one() -> None:
    assert COLLECTION_PATH.read_text(encoding="utf-8") == postman.render(), (
        "the collection is out of date: run .venv/bin/python -m oee.devtools.postman"
    )


def test_collection_is_v2_1_with_variables_and_scripts() -> None:
    collection = load_collection()
    assert collection["info"]["schema"] == postman.SCHEMA
    assert collection["info"]["name"]
    assert collection["info"]["_postman_id"]
    keys = {v["key"] for v in collection["variable"]}
    assert {"baseUrl", "wsBaseUrl", "orderId"} <= keys
    items = list(leaves(collection))
    names = [item["name"] for item in items]
    assert len(names) == len(set(names)), "request names must be unique"
    for item in items:
        assert item["request"]["url"]["host"] == ["{{baseUrl}}"], item["name"]
        assert item["request"]["method"] in {"GET", "POST"}, item["name"]
        documented_status(item)  # exactly one
        used = set(_VARIABLE.findall(json.dumps(item["request"])))
        assert used <= keys, f"{item['name']} uses undeclared variables {used - keys}"
    savers = [item["name"] for item in items if any(_SAVE.match(s) for s in script(item, "test"))]
    assert "Execute a market order" in savers


def test_description_documents_the_websocket_streams() -> None:
    collection = load_collection()
    description = collection["info"]["description"]
    assert documented_ws_urls(collection) == list(postman.WS_URLS)
    assert "postman-app-support#11252" in description  # why they are not requests
    for words in ("snapshot", "seq", "?since=0", "4404", "1000"):
        assert words in description


# --- the collection against a live engine ---------------------------------------------------


@pytest.mark.asyncio(loop_scope="module")
async def test_every_request_gets_its_documented_answer(run: CollectionRun) -> None:
    assert run.runner.failures == []
    assert len(run.runner.responses) == len(list(leaves(run.collection)))
    # The variables flowed: the saved order is a real one.
    order_id = run.runner.variables["orderId"]
    assert uuid.UUID(order_id)
    assert run.runner.responses["Get an order"].json()["orderId"] == order_id


@pytest.mark.asyncio(loop_scope="module")
async def test_collection_covers_every_http_endpoint(run: CollectionRun) -> None:
    """Every path and method of the live OpenAPI has a request answered with a 2xx."""
    spec = (await run.runner.client.get(f"{run.engine.base_url}/openapi.json")).json()
    endpoints = {
        (method.upper(), path) for path, methods in spec["paths"].items() for method in methods
    }
    patterns = {
        endpoint: re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", endpoint[1]) + "$")
        for endpoint in endpoints
    }
    covered = set()
    for item in leaves(run.collection):
        if not 200 <= documented_status(item) < 300:
            continue
        path = "/" + "/".join(item["request"]["url"]["path"])
        method = item["request"]["method"]
        exact = (method, path)
        if exact in endpoints:
            covered.add(exact)
            continue
        covered |= {e for e, p in patterns.items() if e[0] == method and p.match(path)}
    missing = sorted(endpoints - covered)
    assert not missing, (
        f"endpoints with no successful request in the collection: {missing}; add them to "
        "oee.devtools.postman and run python -m oee.devtools.postman"
    )


async def _frames(url: str) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame until the server closes, and its close code."""
    frames: list[dict[str, Any]] = []
    async with connect(url, open_timeout=WS_TIMEOUT_S, close_timeout=2) as ws:
        with contextlib.suppress(ConnectionClosed):  # a 4xxx close raises; its code is kept
            async with asyncio.timeout(WS_TIMEOUT_S):
                async for message in ws:
                    frames.append(json.loads(message))
        return frames, ws.close_code


@pytest.mark.asyncio(loop_scope="module")
async def test_order_stream_follows_the_saved_order_to_a_terminal_event(
    run: CollectionRun,
) -> None:
    stream_url = documented_ws_urls(run.collection)[0]
    assert stream_url == postman.ORDER_STREAM_URL
    order_id = run.runner.variables["orderId"]

    frames, code = await _frames(run.ws_url(stream_url))
    assert code == 1000
    snapshot, events = frames[0], frames[1:]
    assert snapshot["type"] == "snapshot"
    assert snapshot["orderId"] == order_id
    seqs = [snapshot["seq"], *(event["seq"] for event in events)]
    assert seqs == sorted(set(seqs)), f"seq must strictly increase: {seqs}"
    final = events[-1]["type"] if events else snapshot["order"]["status"]
    assert final == "confirmed", frames

    # The whole life of the order, replayed from the log: pending (seq 1) ... confirmed (seq 5).
    replay, code = await _frames(run.ws_url(stream_url) + "?since=0")
    assert code == 1000
    assert [e["seq"] for e in replay] == list(range(1, len(replay) + 1))
    assert [e["type"] for e in replay] == [
        "pending",
        "routing",
        "building",
        "submitted",
        "confirmed",
    ]
    assert all(e["orderId"] == order_id for e in replay)
    confirmed = replay[-1]
    assert confirmed["type"] in TERMINAL
    for key in ("txHash", "executedPrice", "chosenDex"):
        assert confirmed[key], confirmed


@pytest.mark.asyncio(loop_scope="module")
async def test_order_stream_refuses_an_unknown_order_with_4404(run: CollectionRun) -> None:
    url = f"{run.ws_base}/ws/orders/{postman.UNKNOWN_ORDER_ID}"
    frames, code = await _frames(url)
    assert code == 4404
    assert frames == [{"type": "error", "code": "ORDER_NOT_FOUND", "message": frames[0]["message"]}]


@pytest.mark.asyncio(loop_scope="module")
async def test_firehose_snapshot_lists_the_collection_s_orders(run: CollectionRun) -> None:
    firehose_url = documented_ws_urls(run.collection)[1]
    assert firehose_url == postman.FIREHOSE_URL
    async with connect(run.ws_url(firehose_url), open_timeout=WS_TIMEOUT_S) as ws:
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), WS_TIMEOUT_S))
    assert snapshot["type"] == "snapshot"
    assert isinstance(snapshot["activeCount"], int)
    listed = {order["orderId"] for order in snapshot["orders"]}
    assert run.runner.variables["orderId"] in listed


@pytest.mark.asyncio(loop_scope="module")
async def test_runner_fails_a_wrong_answer_and_an_unknown_statement(run: CollectionRun) -> None:
    """The runner is no rubber stamp: a wrong status, a wrong value and foreign code all fail."""
    health = next(i for i in leaves(run.collection) if i["name"] == "Health")
    wrong = json.loads(json.dumps(health))
    exec_ = wrong["event"][0]["script"]["exec"]
    exec_[:] = [
        line.replace("status(200)", "status(201)").replace("eql(true)", "eql(false)")
        for line in exec_
    ]
    runner = Runner(run.runner.client, dict(run.runner.variables))
    await runner.run({"item": [wrong]})
    assert len(runner.failures) == 3, runner.failures  # status, ok, and the example's status
    exec_.append('pm.test("anything", function () { pm.expect(1).to.be.ok; });')
    with pytest.raises(AssertionError, match="outside the vocabulary"):
        await runner.run({"item": [wrong]})
