"""A lean asyncio HTTP/1.1 keep-alive client for the engine's few hot requests.

The JSON-RPC node and the venue quote services are called several times per order. httpx
costs ~1.5 ms of CPU per call under load (a py-spy profile put half the worker's Python time
in httpcore's pool bookkeeping, which walks every connection on every request); this client
does only what those calls need, in tens of microseconds:

- `request(method, url, body)`: one request, its whole response read (Content-Length,
  chunked, or until the server closes);
- per origin, at most `connections` open connections kept alive between requests. When all are
  busy, a request waits its turn for as long as it takes: a busy pool is load, not a failure,
  and must never become a failed trade. Only the connect and the exchange itself are timed;
- a reused connection the server already closed (its idle timeout racing our request) is
  retried once on a fresh one, only when the caller says the request may be repeated
  (`retry_stale`): a POST that changes state is never sent twice by this client.

Failures are builtin exceptions the callers already map: `TimeoutError` (connect or exchange
too slow) and `ConnectionError` (refused, reset, or an answer that is not HTTP/1.1).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_MAX_CHUNK_LINE = 1024


@dataclass(frozen=True, slots=True)
class Response:
    """A whole response: its status, headers (names lower-cased) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Stale(ConnectionError):
    """A reused connection closed before any byte of the answer arrived."""


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]  # scheme, host, port: what one pool serves
    host_header: str
    path: str  # path and query


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def usable(self) -> bool:
        return not (self.writer.is_closing() or self.reader.at_eof())

    def close(self) -> None:
        self.writer.close()


class _Pool:
    """One origin's connections: idle ones reused last-in first-out, at most `size` open."""

    def __init__(self, origin: tuple[str, str, int], size: int, connect_timeout_s: float) -> None:
        self._scheme, self._host, self._port = origin
        self._connect_timeout_s = connect_timeout_s
        self._slots = asyncio.Semaphore(size)  # FIFO: waiters are served in arrival order
        self._idle: list[_Connection] = []

    async def acquire(self, *, fresh: bool = False) -> tuple[_Connection, bool]:
        """A connection and whether it was reused; waits (untimed) while all are busy."""
        await self._slots.acquire()
        try:
            while self._idle and not fresh:
                connection = self._idle.pop()
                if connection.usable():
                    return connection, True
                connection.close()
            return await self._connect(), False
        except BaseException:
            self._slots.release()
            raise

    def release(self, connection: _Connection, *, reusable: bool) -> None:
        if reusable:
            self._idle.append(connection)
        else:
            connection.close()
        self._slots.release()

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def _connect(self) -> _Connection:
        context = ssl.create_default_context() if self._scheme == "https" else None
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                reader, writer = await asyncio.open_connection(
                    self._host, self._port, ssl=context, limit=2**20
                )
        except TimeoutError:
            raise TimeoutError(f"connect to {self._host}:{self._port} timed out") from None
        except OSError as error:  # refused, unreachable, a name that does not resolve
            raise ConnectionError(f"connect to {self._host}:{self._port}: {error}") from None
        return _Connection(reader, writer)


class Http1Client:
    """HTTP/1.1 over keep-alive connections, a small pool per origin (see the module)."""

    def __init__(
        self,
        *,
        connections: int = 16,
        connect_timeout_s: float = 3.0,
        timeout_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Args:
        connections: Open connections per origin at most; more requests queue.
        connect_timeout_s: For opening one connection.
        timeout_s: For one exchange (writing the request, reading the whole answer) unless a
            request says otherwise. Time spent queueing for a connection is not counted.
        headers: Sent with every request (e.g. a user agent).
        """
        self._size, self._connect_timeout_s = connections, connect_timeout_s
        self.timeout_s = timeout_s
        self._extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._targets: dict[str, _Target] = {}  # parsed once per URL string

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        content_type: str = "application/json",
        timeout_s: float | None = None,
        retry_stale: bool = False,
    ) -> Response:
        """Send one request and read its whole answer.

        Args:
            retry_stale: The request may be sent again when a reused keep-alive connection
                turns out closed before any answer: true for reads, false for a POST whose
                repetition could act twice.

        Raises:
            TimeoutError: The connect or the exchange took too long.
            ConnectionError: The server could not be reached or did not answer HTTP/1.1.
        """
        target = self._target(url)
        pool = self._pools.get(target.origin)
        if pool is None:
            pool = self._pools[target.origin] = _Pool(
                target.origin, self._size, self._connect_timeout_s
            )
        head = f"{method} {target.path} HTTP/1.1\r\nHost: {target.host_header}\r\n{self._extra}"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        wire = head.encode("latin-1") + b"\r\n" + body
        timeout = self.timeout_s if timeout_s is None else timeout_s
        connection, reused = await pool.acquire()
        try:
            return await self._exchange(pool, connection, wire, method, timeout)
        except _Stale:
            if not (reused and retry_stale):
                raise ConnectionError(f"{target.origin[1]} closed the connection") from None
        connection, _ = await pool.acquire(fresh=True)
        try:
            return await self._exchange(pool, connection, wire, method, timeout)
        except _Stale:
            raise ConnectionError(f"{target.origin[1]} closed the connection") from None

    async def post_json(self, url: str, body: bytes, *, timeout_s: float, retry: bool) -> Response:
        """POST a JSON body (see `request`)."""
        return await self.request("POST", url, body=body, timeout_s=timeout_s, retry_stale=retry)

    async def aclose(self) -> None:
        """Close every idle connection (busy ones close when their exchange ends)."""
        for pool in self._pools.values():
            pool.close()

    async def _exchange(
        self, pool: _Pool, connection: _Connection, wire: bytes, method: str, timeout_s: float
    ) -> Response:
        reusable = False
        try:
            async with asyncio.timeout(timeout_s):
                connection.writer.write(wire)
                await connection.writer.drain()
                response, reusable = await _read_response(connection.reader, method)
            return response
        except (ConnectionResetError, BrokenPipeError) as error:
            # Most often the server dropped an idle connection as we reused it; `request`
            # repeats the exchange only when the caller allows it.
            raise _Stale(str(error)) from None
        except (ConnectionError, TimeoutError):
            raise  # already what the callers map (both are OSErrors)
        except OSError as error:  # e.g. a TLS failure: the callers map ConnectionError
            raise ConnectionError(f"connection failed: {error!r}") from None
        except asyncio.IncompleteReadError:
            raise ConnectionError("the server closed the connection mid-answer") from None
        except (ValueError, asyncio.LimitOverrunError) as error:
            raise ConnectionError(f"not an HTTP/1.1 answer: {error}") from None
        finally:
            pool.release(connection, reusable=reusable)

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            target = _Target((parts.scheme, parts.hostname, port), parts.netloc, path)
            if len(self._targets) < 1024:  # quote URLs carry their query: keep the cache bounded
                self._targets[url] = target
        return target


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[Response, bool]:
    """The response and whether its connection may carry another request."""
    while True:
        line = await reader.readline()
        if not line:
            raise _Stale("closed before the status line")
        version, _, rest = line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ValueError(f"status line {line[:80]!r}")
        status = int(rest[:3])
        headers = await _read_headers(reader)
        if not 100 <= status < 200:
            break  # an interim answer (100 Continue) is followed by the real one
    keep = headers.get("connection", "").lower()
    reusable = keep != "close" and (version == b"HTTP/1.1" or keep == "keep-alive")
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body, reusable = await reader.read(), False  # delimited by the close
    return Response(status, headers, body), reusable


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ValueError(f"header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        line = await reader.readline()
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        if len(line) > _MAX_CHUNK_LINE:
            raise ValueError("chunk size line too long")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await _read_headers(reader)  # trailers, up to the blank line
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the chunk's CRLF
