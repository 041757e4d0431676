"""The server commands: run the engine (`serve`), its halves (`api`, `worker`), `migrate`.

The engine, SQLAlchemy and BullMQ are imported inside these commands only, so the client
commands of the same `oee` script start without them.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from oee.api.keys import KeyRing
    from oee.bootstrap import Role
    from oee.settings import Settings, SimSettings
    from oee.sim.ledger import SimLedger
    from oee.sim.persistence import Snapshots
    from oee.sim.world import SimWorld

err = Console(stderr=True)

# Help texts say "(env: ...)": square brackets would be taken for rich markup and vanish.
HostOpt = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="Interface to listen on (env: OEE_HOST; default 127.0.0.1). Another interface "
        "needs API keys (OEE_API_KEYS) or OEE_ALLOW_OPEN=true.",
    ),
]
PortOpt = Annotated[
    int | None,
    typer.Option("--port", help="Port for HTTP and WebSocket (env: PORT; default 3000)."),
]


def _settings(**overrides: Any) -> Settings:
    from oee.logs import configure_logging
    from oee.settings import Settings

    try:
        settings = Settings()
    except Exception as error:  # pydantic's message names the variable and the rule it broke
        err.print(f"[red]error:[/] invalid settings: {error}")
        raise typer.Exit(2) from None
    changes = {k: v for k, v in overrides.items() if v is not None}
    settings = settings.model_copy(update=changes) if changes else settings
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _fail(error: Exception) -> None:
    """One error line, never wrapped (paths and commands in it stay copyable)."""
    err.print(f"[red]error:[/] {error}", soft_wrap=True, highlight=False)


def _require_servers(settings: Settings, command: str) -> None:
    missing = [
        name
        for name, value in (
            ("DATABASE_URL", settings.database_url),
            ("REDIS_URL", settings.redis_url),
        )
        if value is None
    ]
    if missing:
        err.print(
            f"[red]error:[/] `oee {command}` runs one half of a production deployment and needs "
            f"{' and '.join(missing)}; for a single process with no servers use `oee serve`."
        )
        raise typer.Exit(2)


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except OSError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None


def _access(settings: Settings) -> KeyRing:
    """The API keys, checked before anything starts: bad key settings, or an open engine on a
    public interface, stop the command with one clear line; open mode says so once."""
    from oee.api.keys import OPEN_MODE_WARNING, KeyConfigError, exposure_problem, load_keyring

    try:
        keyring = load_keyring(settings)
    except KeyConfigError as error:
        err.print(f"[red]error:[/] invalid API keys: {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    problem = exposure_problem(settings, keyring)
    if problem is not None:
        err.print(f"[red]error:[/] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    if not keyring.enabled:
        where = (
            f"listening on {settings.host} only"
            if not settings.allow_open
            else (f"serving {settings.host} open (OEE_ALLOW_OPEN)")
        )
        err.print(
            f"[yellow]warning:[/] {OPEN_MODE_WARNING}; {where}", highlight=False, soft_wrap=True
        )
    return keyring


async def _serve(settings: Settings, role: Role, keyring: KeyRing) -> None:
    import uvicorn

    from oee.api.app import create_app
    from oee.api.server import server_config
    from oee.bootstrap import build_engine
    from oee.sim.persistence import SnapshotError
    from oee.sim.programs import ProgramLoadError

    try:
        engine = await build_engine(settings, role)
    except (SnapshotError, ProgramLoadError) as error:
        _fail(error)
        raise typer.Exit(2) from None
    config = server_config(create_app(engine, keyring), host=settings.host, port=settings.port)
    mode = "production (PostgreSQL + Redis)" if settings.production else "embedded"
    err.print(
        f"[bold green]oee[/] {role} on http://{settings.host}:{settings.port} — {mode}; "
        f"store {_redact(settings.sqlalchemy_url)}",
        soft_wrap=True,  # a URL folded across two lines cannot be copied
    )
    for line in _start_banner(settings.host, settings.port):
        err.print(line, highlight=False, soft_wrap=True)
    await uvicorn.Server(config).serve()


def _start_banner(host: str, port: int) -> list[str]:
    """Where to point a browser and the client commands (which default to port 3000)."""
    shown = "localhost" if host in {"0.0.0.0", "::", "127.0.0.1", "::1"} else host
    url = f"http://{shown}:{port}"
    return [
        f"  dashboard  {url}/",
        f"  API docs   {url}/docs",
        f"  clients    export OEE_URL={url}   (or --url {url} on any client command)",
    ]


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def serve(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run the whole engine in one process: API, WebSocket, worker and recovery.

    With no DATABASE_URL/REDIS_URL it is the embedded default: SQLite in
    OEE_DATA_DIR (.oee), in-process queue, bus and simulator. With both set
    it runs on PostgreSQL and Redis. Without API keys (OEE_API_KEYS) it runs
    open, on 127.0.0.1 only. Other settings: OEE_* (see the README).
    """
    settings = _settings(host=host, port=port)
    keyring = _access(settings)
    _run(lambda: _serve(settings, "serve", keyring))


def api(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run only the HTTP/WebSocket API (production: needs DATABASE_URL and REDIS_URL).

    Other settings: OEE_* variables, e.g. OEE_REDIS_PREFIX (see the README).
    """
    settings = _settings(host=host, port=port)
    _require_servers(settings, "api")
    keyring = _access(settings)
    _run(lambda: _serve(settings, "api", keyring))


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(help="Orders executed at once (env: OEE_WORKER_CONCURRENCY; default 10)."),
    ] = None,
) -> None:
    """Run only a worker: executes queued orders (production: needs DATABASE_URL and REDIS_URL).

    SIGTERM or SIGINT stops taking jobs and lets running orders finish for up to
    OEE_WORKER_GRACE_S seconds; a second signal exits at once. OEE_WORKER_METRICS_PORT serves
    the worker's Prometheus metrics (the executor's) at /metrics on that port.
    """
    settings = _settings()
    if concurrency is not None:
        settings.worker.concurrency = concurrency
    _require_servers(settings, "worker")
    _run(lambda: _work(settings))


async def _work(settings: Settings) -> None:
    from oee.bootstrap import build_engine

    engine = await build_engine(settings, "worker")
    if settings.worker.metrics_port is not None:
        from oee.metrics import start_metrics_server

        # On OEE_HOST like the API (loopback unless told): the port has no keys of its own.
        start_metrics_server(
            settings.worker.metrics_port, engine.metrics, addr=settings.host, queue=engine.queue
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            os._exit(130)  # second signal: the operator wants out now
        err.print("[yellow]stopping:[/] draining running orders (signal again to exit at once)")
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    await engine.start()
    err.print(f"[bold green]oee[/] worker running, concurrency {settings.worker.concurrency}")
    await stop.wait()
    await engine.stop()


DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the chain is kept (env: OEE_SIM_DATA_DIR; default OEE_DATA_DIR/sim).",
    ),
]

sim_app = typer.Typer(
    name="sim",
    invoke_without_command=True,
    no_args_is_help=False,
)


@sim_app.callback()
def sim(
    ctx: typer.Context,
    host: HostOpt = None,
    port: Annotated[
        int, typer.Option("--port", help="Port for JSON-RPC and the quote APIs (default 8899).")
    ] = 8899,
    data_dir: DataDirOpt = None,
) -> None:
    """Run the simulated chain and venues as their own process, shared by every worker.

    Serves Solana JSON-RPC on /, the Raydium and Meteora quote APIs on /raydium and /meteora,
    the audit of landed swaps on /admin/swaps, and the demo's admin routes (faults, launches,
    price moves: `oee sim move` through the engine). Point workers at it with
    OEE_RPC_URL=http://HOST:PORT/. The chain persists in --data-dir across restarts
    (snapshots every OEE_SIM_SNAPSHOT_INTERVAL_S and on shutdown); `oee sim reset` starts a
    new one. Simulator settings: OEE_SIM_* (latency scale, seed, faults, programs dir).
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(host=host)
    directory = data_dir or settings.sim_data_dir

    async def main() -> None:
        import uvicorn

        from oee.sim.app import create_sim_app, server_config

        world, ledger, snapshots = open_sim(settings.sim, directory)
        # The app's lifespan snapshots the chain while it runs and once more on SIGTERM.
        app = create_sim_app(world, ledger, settings.sim, snapshots=snapshots)
        config = server_config(app, host=settings.host, port=port)
        err.print(
            f"[bold green]oee sim[/] on http://{settings.host}:{port} (OEE_RPC_URL); "
            f"chain in {directory}"
        )
        await uvicorn.Server(config).serve()

    _run(main)


@sim_app.command("reset")
def sim_reset(
    data_dir: DataDirOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the simulated chain's snapshot, so the next start is a new chain.

    Wallets, launches and the chain's history go; the engine's order history then names
    transactions the new chain never saw. Refused while a simulator runs on the directory.
    """
    from oee.sim.snapshot_file import SnapshotError, delete, snapshot_path

    settings = _settings()
    directory = data_dir or settings.sim_data_dir
    path = snapshot_path(directory)
    if not path.exists():
        err.print(f"no snapshot at {path}: nothing to reset", soft_wrap=True)
        return
    if not yes and not typer.confirm(f"Delete the simulated chain in {path}?", default=False):
        err.print("[yellow]kept[/] the chain")
        raise typer.Exit(1)
    try:
        delete(directory)
    except SnapshotError as error:
        _fail(error)
        raise typer.Exit(1) from None
    err.print(f"[green]reset:[/] deleted {path}; the next start is a new chain", soft_wrap=True)


def open_sim(settings: SimSettings, directory: Path) -> tuple[SimWorld, SimLedger, Snapshots]:
    """The simulator restored from `directory` (or new), with its snapshots; a snapshot or a
    program binary that cannot be used stops the command with the error (exit 2)."""
    from oee.sim import build_sim
    from oee.sim.persistence import SnapshotError, Snapshots
    from oee.sim.programs import ProgramLoadError

    try:
        world, ledger = build_sim(settings)
        snapshots = Snapshots.open(
            world, ledger, directory, interval_s=settings.snapshot_interval_s
        )
    except (SnapshotError, ProgramLoadError) as error:
        _fail(error)
        raise typer.Exit(2) from None
    return world, ledger, snapshots


def migrate() -> None:
    """Apply database migrations (Alembic) to DATABASE_URL, or to the embedded SQLite file.

    Without DATABASE_URL the SQLite file lives in OEE_DATA_DIR (default .oee).
    """
    settings = _settings()

    async def main() -> None:
        from oee.adapters.store.migrate import migrate as run_migrations

        await run_migrations(settings.sqlalchemy_url)

    _run(main)
    err.print(f"[green]migrated[/] {_redact(settings.sqlalchemy_url)} to the latest revision")
