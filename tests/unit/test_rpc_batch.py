"""JSON-RPC auto-batching: which calls share a request, and whose answer reaches whom."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from oee.adapters.chain import rpc_batch
from oee.adapters.chain.jsonrpc import JsonRpc, RpcFault
from oee.domain.errors import ExecutionError


class Node:
    """A transport answering each call by method (an `error` dict answers an error object)."""

    def __init__(self, status: int = 200, **answers: Any) -> None:
        self.status, self.answers, self.bodies = status, answers, []  # type: ignore[var-annotated]

    async def post(self, body: bytes, *, timeout_s: float, repeatable: bool) -> tuple[int, bytes]:
        payload = json.loads(body)
        self.bodies.append(payload)
        await asyncio.sleep(0)
        if isinstance(payload, dict):
            return self.status, json.dumps(self._one(payload)).encode()
        # Answers in reverse: a node may answer a batch in any order.
        return self.status, json.dumps([self._one(r) for r in reversed(payload)]).encode()

    def _one(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = self.answers[request["method"]]
        if isinstance(answer, dict) and "error" in answer:
            return {"jsonrpc": "2.0", "id": request["id"], **answer}
        value = answer(request["params"]) if callable(answer) else answer
        return {"jsonrpc": "2.0", "id": request["id"], "result": value}

    def methods(self) -> list[Any]:
        return [
            [r["method"] for r in body] if isinstance(body, list) else body["method"]
            for body in self.bodies
        ]


def rpc(node: Node, window_s: float = 0.01, batch_max: int = 64) -> JsonRpc:
    return JsonRpc(node, "http://node/", batch_window_s=window_s, batch_max=batch_max)


async def test_concurrent_reads_share_one_request_each_getting_its_own_answer() -> None:
    node = Node(getBalance=lambda params: params[0], getBlockHeight=7)
    client = rpc(node)
    answers = await asyncio.gather(
        client.call("getBalance", ["a"]),
        client.call("getBlockHeight", []),
        client.call("getBalance", ["b"]),
    )
    assert answers == ["a", 7, "b"]
    assert node.methods() == [["getBalance", "getBlockHeight", "getBalance"]]


async def test_a_lone_read_goes_as_a_plain_request() -> None:
    node = Node(getBlockHeight=7)
    assert await rpc(node).call("getBlockHeight", []) == 7
    assert node.methods() == ["getBlockHeight"]


async def test_writes_go_alone_and_at_once() -> None:
    node = Node(sendTransaction="sig", requestAirdrop="drop", getBlockHeight=7)
    client = rpc(node, window_s=10.0)  # a read would wait 10 s: a write must not
    send = client.call("sendTransaction", ["tx"])
    drop = client.call("requestAirdrop", ["w", 1])
    assert await asyncio.wait_for(asyncio.gather(send, drop), 1) == ["sig", "drop"]
    assert node.methods() == ["sendTransaction", "requestAirdrop"]


async def test_account_reads_are_batched_apart() -> None:
    node = Node(getMultipleAccounts={"value": []}, getBlockHeight=7, getBalance=1)
    client = rpc(node)
    await asyncio.gather(
        client.call("getMultipleAccounts", [["x"]]),
        client.call("getBlockHeight", []),
        client.call("getMultipleAccounts", [["y"]]),
        client.call("getBalance", ["a"]),
    )
    assert sorted(node.methods()) == [
        ["getBlockHeight", "getBalance"],
        ["getMultipleAccounts", "getMultipleAccounts"],
    ]


async def test_a_full_batch_leaves_at_once_and_big_batches_split_by_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = Node(getBalance=lambda params: params[0])
    client = rpc(node, window_s=10.0, batch_max=3)
    answers = await asyncio.wait_for(
        asyncio.gather(*(client.call("getBalance", [str(i)]) for i in range(3))), 1
    )
    assert answers == ["0", "1", "2"]
    assert node.methods() == [["getBalance"] * 3]

    node.bodies.clear()
    monkeypatch.setattr(rpc_batch, "MAX_BATCH_BYTES", 300)  # ~3 requests of ~80 bytes
    client = rpc(node, batch_max=100)
    answers = await asyncio.gather(*(client.call("getBalance", [str(i)]) for i in range(10)))
    assert answers == [str(i) for i in range(10)]
    sizes = [len(body) if isinstance(body, list) else 1 for body in node.bodies]
    assert sum(sizes) == 10
    assert max(sizes) <= 4
    assert len(sizes) >= 3


async def test_an_error_object_reaches_only_its_caller() -> None:
    failing = {"error": {"code": -32602, "message": "bad params"}}
    node = Node(getBalance=1, getTransaction=failing, getBlockHeight={"error": {"code": -32005}})
    client = rpc(node)
    balance, fault, busy = await asyncio.gather(
        client.call("getBalance", ["a"]),
        client.call("getTransaction", ["sig"]),
        client.result("getBlockHeight", []),
        return_exceptions=True,
    )
    assert balance == 1
    assert isinstance(fault, RpcFault)
    assert (fault.code, fault.message) == (-32602, "bad params")
    assert isinstance(busy, ExecutionError)
    assert busy.code == "RPC_UNAVAILABLE"


async def test_a_failed_request_fails_every_call_in_it() -> None:
    node = Node(status=503, getBalance=1, getBlockHeight=7)
    client = rpc(node)
    answers = await asyncio.gather(
        client.call("getBalance", ["a"]), client.call("getBlockHeight", []), return_exceptions=True
    )
    for answer in answers:
        assert isinstance(answer, ExecutionError)
        assert (answer.code, answer.retryable) == ("RPC_UNAVAILABLE", True)
        assert "503" in answer.message


async def test_a_call_the_node_left_unanswered_fails_alone() -> None:
    class Forgetful(Node):
        async def post(
            self, body: bytes, *, timeout_s: float, repeatable: bool
        ) -> tuple[int, bytes]:
            status, answer = await super().post(body, timeout_s=timeout_s, repeatable=repeatable)
            return status, json.dumps(json.loads(answer)[1:]).encode()  # drops the last call

    node = Forgetful(getBalance=lambda params: params[0])
    client = rpc(node)
    first, last = await asyncio.gather(
        client.call("getBalance", ["a"]), client.call("getBalance", ["b"]), return_exceptions=True
    )
    assert first == "a"
    assert isinstance(last, ExecutionError)
    assert last.code == "RPC_UNAVAILABLE"
