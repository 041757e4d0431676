"""The lean HTTP/1.1 client against a scripted socket server: framing, reuse, failures, queueing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import httpx
import pytest

from oee.adapters.http1 import Http1Client
from oee.adapters.venues._http import get_json
from oee.domain.errors import ExecutionError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handle: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A local server running `handle` per request; yields its URL and the connections opened."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while await _read_request(reader):
                await handle(reader, writer)
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield f"http://127.0.0.1:{port}/rpc", connections


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def answer(body: bytes, status: int = 200) -> bytes:
    return f"HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


async def test_content_length_answers_reuse_one_connection() -> None:
    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(answer(b'{"ok":1}'))

    async with server(handle) as (url, connections):
        client = Http1Client()
        for _ in range(5):
            response = await client.post_json(url, b"{}", timeout_s=2, retry=False)
            assert (response.status, response.body) == (200, b'{"ok":1}')
        assert len(connections) == 1
        await client.aclose()


async def test_chunked_answer_is_reassembled() -> None:
    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n")

    async with server(handle) as (url, connections):
        client = Http1Client()
        assert (await client.request("GET", url)).body == b"abcdefg"
        assert (await client.request("GET", url)).body == b"abcdefg"
        assert len(connections) == 1  # the connection stayed usable after the trailers


async def test_connection_close_answer_is_read_to_the_end() -> None:
    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\nbusy")
        await writer.drain()
        writer.close()

    async with server(handle) as (url, connections):
        client = Http1Client()
        response = await client.request("GET", url)
        assert (response.status, response.body) == (503, b"busy")
        await client.request("GET", url)
        assert len(connections) == 2  # a closed connection is not reused


async def test_a_closed_keep_alive_connection_is_retried_only_when_allowed() -> None:
    per_connection: dict[asyncio.StreamWriter, int] = {}  # held: no id reuse
    answered = 0

    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        seen = per_connection[writer] = per_connection.get(writer, 0) + 1
        if seen == 1:
            answered += 1
            writer.write(answer(b"x"))
        else:  # the idle-timeout race: the server drops the connection as a request arrives
            writer.close()

    async with server(handle) as (url, connections):
        client = Http1Client()
        await client.request("GET", url)
        assert (await client.request("GET", url, retry_stale=True)).body == b"x"
        assert (answered, len(connections)) == (2, 2)
        # A request that must not be repeated fails instead of being sent a second time.
        with pytest.raises(ConnectionError):
            await client.request("POST", url, body=b"{}", retry_stale=False)
        assert (answered, len(connections)) == (2, 2)
        # A closed idle connection seen before sending is replaced, whatever the request.
        assert (await client.request("POST", url, body=b"{}")).body == b"x"


async def test_a_full_pool_queues_instead_of_failing() -> None:
    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(answer(b"ok"))

    async with server(handle) as (url, connections):
        client = Http1Client(connections=2, timeout_s=0.2)
        # 10 exchanges of 50 ms over 2 connections take 250 ms: longer than the timeout, yet
        # only the exchange is timed, so every request succeeds.
        answers = await asyncio.gather(*(client.request("GET", url) for _ in range(10)))
        assert [a.body for a in answers] == [b"ok"] * 10
        assert len(connections) == 2


async def test_a_slow_answer_times_out_and_its_connection_is_dropped() -> None:
    delay = 1.0

    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(delay)
        writer.write(answer(b"late"))

    async with server(handle) as (url, connections):
        client = Http1Client()
        with pytest.raises(TimeoutError):
            await client.request("GET", url, timeout_s=0.1)
        delay = 0
        assert (await client.request("GET", url)).body == b"late"
        assert len(connections) == 2  # the timed-out connection could hold a late answer


async def test_an_unreachable_server_is_a_connection_error() -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    with pytest.raises(ConnectionError):
        await Http1Client().request("GET", f"http://127.0.0.1:{port}/")


async def test_garbage_is_a_connection_error() -> None:
    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")

    async with server(handle) as (url, _):
        with pytest.raises(ConnectionError):
            await Http1Client().request("GET", url)


async def test_venue_quotes_over_the_lean_client_keep_their_failure_codes() -> None:
    replies = [
        b'HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{"price": 1.5}',
        b"HTTP/1.1 429 Slow\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 502 Bad\r\nContent-Length: 0\r\n\r\n",
    ]
    targets: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(replies.pop(0))

    async def record(reader: asyncio.StreamReader) -> bytes | None:
        request = await plain(reader)
        if request:
            targets.append(request.split(b"\r\n", 1)[0])
        return request

    global _read_request  # the server reads requests through it: record their targets
    plain, _read_request = _read_request, record
    try:
        async with server(handle) as (url, _):
            client = Http1Client()
            params = {"inputMint": "So1", "amount": "10"}
            args = {"venue": "raydium", "timeout_s": 1.0}
            status, body = await get_json(client, httpx.URL(url), params, **args)  # type: ignore[arg-type]
            assert (status, body) == (200, {"price": Decimal("1.5")})
            assert targets == [b"GET /rpc?inputMint=So1&amount=10 HTTP/1.1"]
            for code, said in (
                ("VENUE_RATE_LIMITED", "retry after 3 s"),
                ("VENUE_UNAVAILABLE", "502"),
            ):
                with pytest.raises(ExecutionError) as caught:
                    await get_json(client, httpx.URL(url), params, **args)  # type: ignore[arg-type]
                assert (caught.value.code, caught.value.retryable) == (code, True)
                assert said in caught.value.message
    finally:
        _read_request = plain
