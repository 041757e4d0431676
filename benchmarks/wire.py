"""Lean wire clients for benchmarks that share two cores with what they measure.

`RawHttp` is a keep-alive HTTP/1.1 client and `RawWs` a WebSocket client (RFC 6455) for a
server that sends text frames: each costs a fraction of httpx's or the `websockets` package's
CPU per request or frame, so the load generator stays out of the engine's way. They speak just
enough of the protocols for uvicorn; anything else is an error, never silently misread. Also the
/proc readers the benchmarks measure processes with (psutil is not a dependency).
"""

from __future__ import annotations

import asyncio
import base64
import os
import urllib.parse
from pathlib import Path


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process `pid` so far, from /proc; None when unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # utime and stime: the 12th and 13th after the name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss_bytes(pid: int) -> int | None:
    """Resident memory of process `pid` now (VmRSS), from /proc; None when unreadable."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def host_port(url: str) -> tuple[str, int]:
    """The host and port of an http:// base URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{url!r}: only http://host:port URLs are supported")
    return parts.hostname, parts.port or 80


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client: a pool of connections, one request in flight on each.

    About a tenth of httpx's CPU per request, which matters when the client and the simulator
    share two cores. Enough HTTP for a uvicorn server: Content-Length or chunked bodies, and
    `Connection: close`. A request that fails on a reused connection (closed by the server
    while idle, before it read the request) is retried once on a fresh one.
    """

    def __init__(self, url: str, size: int, timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{url!r}: only http://host:port/ URLs are supported")
        self._host, self._port = parts.hostname, parts.port or 80
        self._root = parts.path.rstrip("/")
        self._host_header = parts.netloc
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {self._root}{path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        async with self._slots, asyncio.timeout(self._timeout_s):
            # The server closes keep-alive connections idle for ~5 s: drop those it has closed.
            while self._idle and self._idle[-1][0].at_eof():
                self._idle.pop()[1].close()
            for attempt in (1, 2):
                # The retry takes a fresh connection: other idle ones may be as stale.
                reused = attempt == 1 and bool(self._idle)
                conn = self._idle.pop() if reused else await self._connect()
                try:
                    status, data, keep = await self._exchange(conn, head + body)
                except (OSError, asyncio.IncompleteReadError):
                    conn[1].close()
                    if reused and attempt == 1:
                        continue
                    raise
                except BaseException:
                    conn[1].close()
                    raise
                if keep:
                    self._idle.append(conn)
                else:
                    conn[1].close()
                return status, data
        raise AssertionError("unreachable")

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # asyncio sets TCP_NODELAY on TCP connections: no Nagle delay on small requests.
        return await asyncio.open_connection(self._host, self._port)

    @staticmethod
    async def _exchange(
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[int, bytes, bool]:
        reader, writer = conn
        writer.write(request)
        await writer.drain()
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        keep = headers.get("connection") != "close"
        if "content-length" in headers:
            data = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")  # the empty trailer
            data = b"".join(chunks)
        else:
            data, keep = await reader.read(), False
        return status, data, keep

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()


class WsClosed(Exception):
    """The connection ended without a close frame (a reset, EOF)."""


class RawWs:
    """One WebSocket connection: open with `connect`, read frames with `recv` until it is None.

    Server frames are never masked; the client's only frames (close and pong) are masked with a
    zero key, which RFC 6455 allows, so no payload needs XOR-ing. `close_code` is the server's
    close code once `recv` returned None.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self.close_code: int | None = None

    @classmethod
    async def connect(cls, host: str, port: int, path: str) -> RawWs:
        """Open the TCP connection and do the upgrade handshake.

        Raises:
            ConnectionError: The server answered anything but 101.
        """
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except BaseException:
            writer.close()
            raise
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            status = head.split(b"\r\n", 1)[0]
            raise ConnectionError(f"no upgrade: {status!r}")
        return cls(reader, writer)

    async def recv(self) -> bytes | None:
        """The next text (or binary) message; None once the server has closed.

        Raises:
            WsClosed: The connection ended without a close frame.
        """
        read = self._reader.readexactly
        parts: list[bytes] = []
        try:
            while True:
                first, second = await read(2)
                size = second & 0x7F
                if size == 126:
                    size = int.from_bytes(await read(2))
                elif size == 127:
                    size = int.from_bytes(await read(8))
                payload = await read(size) if size else b""
                opcode = first & 0x0F
                if opcode == 0x8:
                    self.close_code = int.from_bytes(payload[:2]) if len(payload) >= 2 else 1005
                    self._send(0x8, payload[:2])
                    return None
                if opcode == 0x9:
                    self._send(0xA, payload)
                    continue
                if opcode == 0xA:
                    continue
                parts.append(payload)
                if first & 0x80:  # FIN: the message is whole
                    return parts[0] if len(parts) == 1 else b"".join(parts)
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            raise WsClosed(str(error)) from error

    def _send(self, opcode: int, payload: bytes) -> None:
        # FIN + opcode, MASK bit + length (control frames are < 126 bytes), zero masking key.
        self._writer.write(bytes((0x80 | opcode, 0x80 | len(payload))) + b"\0\0\0\0" + payload)

    async def close(self, code: int = 1000) -> None:
        """Send a close frame (if the server has not closed) and drop the connection."""
        if self.close_code is None and not self._writer.is_closing():
            self._send(0x8, code.to_bytes(2))
        self._writer.close()
