"""The live loops: one order followed to its end, and the firehose board.

Both draw with `rich.live.Live` refreshed from the event loop (never from rich's own thread,
which would read the state while events change it). When the console is not a terminal,
`Live` prints only its last frame, so piped output is the final picture, plain.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from websockets.asyncio.client import ClientConnection

from oee.cli.client import CliError, EngineClient, frames
from oee.cli.state import TERMINAL, Board, OrderState
from oee.cli.views import board_view, order_panel

REFRESH_S = 0.25
SIGNALS = (signal.SIGINT, signal.SIGTERM)
CLOSE_MEANING = {1001: "the engine is shutting down", 1013: "the engine is overloaded"}


async def follow_order(
    client: EngineClient, order_id: str, console: Console, timeout_s: float
) -> OrderState:
    """Show one order's stages live until it finishes; returns what was learnt.

    The stream is opened with `since=0`, so every stage is shown with its time even when the
    order moved on (or finished) before the stream opened. The full view is read once routing
    is done (the venues' quotes) and again at the end (the result).

    Raises:
        CliError: `TIMEOUT` after `timeout_s`, or the stream's own failure.
    """
    state = OrderState(order_id)
    try:
        with Live(order_panel(state), console=console, auto_refresh=False) as live:
            async with asyncio.timeout(timeout_s):
                await _follow(client, state, live)
    except TimeoutError:
        message = (
            f"order {order_id} did not finish within {timeout_s:g} s (last status "
            f"{state.status}); it goes on — see it with `oee orders`"
        )
        raise CliError("TIMEOUT", message) from None
    finally:
        if not console.is_terminal:
            console.line()  # `Live` ends its last frame with a newline on terminals only
    return state


async def _follow(client: EngineClient, state: OrderState, live: Live) -> None:
    quotes_read = False
    async with client.stream(f"/ws/orders/{state.order_id}?since=0") as ws:
        async for frame in frames(ws):
            state.apply(frame)
            finished = frame["type"] in TERMINAL
            if finished or (not quotes_read and "building" in state.stages):
                state.apply_view(await client.order(state.order_id), with_status=False)
                quotes_read = True
            live.update(order_panel(state), refresh=True)
            if finished:
                return
    message = f"the stream of order {state.order_id} ended before it finished"
    raise CliError("STREAM_ENDED", message)


async def watch_board(
    client: EngineClient,
    console: Console,
    notes: Console,
    *,
    recent: int,
    rows: int,
    duration_s: float | None,
) -> None:
    """Show every order flowing through the engine until stopped (Ctrl-C, SIGTERM, duration).

    Raises:
        CliError: The firehose could not be opened, or the engine ended it.
    """
    board = Board()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, stop.set)  # stopping is the normal way out: exit 0
    try:
        async with client.stream(f"/ws/orders?recent={recent}") as ws:
            notes.print(f"watching {client.base_url} (Ctrl-C to stop)", soft_wrap=True)
            reading = asyncio.ensure_future(_read(ws, board))
            try:
                with Live(console=console, auto_refresh=False) as live:
                    await _draw(live, board, rows, reading, stop, duration_s)
            finally:
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)
                if not console.is_terminal:
                    console.line()
            if not reading.cancelled():  # the engine ended the stream, or it broke
                reading.result()
                code = ws.close_code or 1000
                why = CLOSE_MEANING.get(code, f"close code {code}")
                raise CliError("STREAM_ENDED", f"the engine ended the firehose ({why})")
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)


async def _read(ws: ClientConnection, board: Board) -> None:
    async for frame in frames(ws):
        if frame["type"] == "snapshot":
            board.snapshot(frame, time.monotonic())
        else:
            board.event(frame, time.monotonic())


async def _draw(
    live: Live,
    board: Board,
    rows: int,
    reading: asyncio.Future[None],
    stop: asyncio.Event,
    duration_s: float | None,
) -> None:
    """Redraw until the stream ends, `stop` is set or the duration is up; then the last frame."""

    def view() -> RenderableType:
        return board_view(board, time.monotonic(), datetime.now(UTC), rows)

    stopping = asyncio.ensure_future(stop.wait())
    either: set[asyncio.Future[Any]] = {reading, stopping}
    try:
        async with asyncio.timeout(duration_s):
            while not (reading.done() or stop.is_set()):
                if live.console.is_terminal:  # elsewhere only the last frame is printed
                    live.update(view(), refresh=True)
                await asyncio.wait(either, timeout=REFRESH_S)
    except TimeoutError:
        pass  # --duration is up
    finally:
        stopping.cancel()
        live.update(view())
