"""The `oee` command line: run the engine, its halves, migrations and load tests."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import typer
from rich.console import Console

from oee.bootstrap import Role, build_engine
from oee.logs import configure_logging
from oee.settings import Settings

app = typer.Typer(
    name="oee",
    help="Order execution engine for Solana DEX trading (Raydium and Meteora).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

HostOpt = Annotated[
    str | None,
    typer.Option("--host", help="Interface to listen on [env: OEE_HOST; default 0.0.0.0]."),
]
PortOpt = Annotated[
    int | None,
    typer.Option("--port", help="Port for HTTP and WebSocket [env: PORT; default 3000]."),
]


def _settings(**overrides: Any) -> Settings:
    try:
        settings = Settings()
    except Exception as error:  # pydantic's message names the variable and the rule it broke
        err.print(f"[red]error:[/] invalid settings: {error}")
        raise typer.Exit(2) from None
    changes = {k: v for k, v in overrides.items() if v is not None}
    settings = settings.model_copy(update=changes) if changes else settings
    configure_logging(settings.log_level, settings.log_format)
    return settings


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


async def _serve(settings: Settings, role: Role) -> None:
    import uvicorn

    from oee.api.app import create_app
    from oee.api.server import server_config

    engine = await build_engine(settings, role)
    config = server_config(create_app(engine), host=settings.host, port=settings.port)
    mode = "production (PostgreSQL + Redis)" if settings.production else "embedded"
    err.print(
        f"[bold green]oee[/] {role} on http://{settings.host}:{settings.port} — {mode}; "
        f"store {_redact(settings.sqlalchemy_url)}"
    )
    await uvicorn.Server(config).serve()


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


@app.command()
def serve(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run the whole engine in one process: API, WebSocket, worker and recovery.

    With no DATABASE_URL/REDIS_URL it is the embedded default: SQLite in OEE_DATA_DIR (.oee),
    in-process queue, bus and simulator. With both set it runs on PostgreSQL and Redis.
    """
    settings = _settings(host=host, port=port)
    _run(lambda: _serve(settings, "serve"))


@app.command()
def api(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run only the HTTP/WebSocket API (production: needs DATABASE_URL and REDIS_URL)."""
    settings = _settings(host=host, port=port)
    _require_servers(settings, "api")
    _run(lambda: _serve(settings, "api"))


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(help="Orders executed at once [env: OEE_WORKER_CONCURRENCY; default 10]."),
    ] = None,
) -> None:
    """Run only a worker: executes queued orders (production: needs DATABASE_URL and REDIS_URL).

    SIGTERM or SIGINT stops taking jobs and lets running orders finish for up to
    OEE_WORKER_GRACE_S seconds; a second signal exits at once.
    """
    settings = _settings()
    if concurrency is not None:
        settings.worker.concurrency = concurrency
    _require_servers(settings, "worker")
    _run(lambda: _work(settings))


async def _work(settings: Settings) -> None:
    engine = await build_engine(settings, "worker")
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


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) to DATABASE_URL, or to the embedded SQLite file."""
    settings = _settings()

    async def main() -> None:
        from oee.adapters.store.migrate import migrate as run_migrations

        await run_migrations(settings.sqlalchemy_url)

    _run(main)
    err.print(f"[green]migrated[/] {_redact(settings.sqlalchemy_url)} to the latest revision")


@app.command()
def loadtest(
    url: Annotated[
        str, typer.Argument(help="Base URL of a running engine.")
    ] = "http://localhost:3000",
    count: Annotated[int, typer.Argument(min=1, max=1_000_000, help="Orders to submit.")] = 100,
    concurrency: Annotated[int, typer.Option(min=1, help="Orders in flight at once.")] = 50,
    token_in: Annotated[str, typer.Option(help="Token sold.")] = "SOL",
    token_out: Annotated[str, typer.Option(help="Token bought.")] = "USDC",
    amount: Annotated[str, typer.Option(help="Amount of token_in per order.")] = "0.1",
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the report as JSON to this file.")
    ] = None,
) -> None:
    """Submit COUNT orders, follow each over WebSocket, and report throughput and latency."""
    import json

    from oee.loadtest import render_report, run_loadtest

    console = Console()
    report = asyncio.run(
        run_loadtest(
            url,
            count,
            concurrency=concurrency,
            token_in=token_in,
            token_out=token_out,
            amount_in=amount,
        )
    )
    render_report(report, console)
    if json_out:
        with open(json_out, "w") as fh:
            json.dump(report.to_dict(), fh, indent=2)
    if report.accepted == 0:
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the `oee` script."""
    app()


if __name__ == "__main__":
    main()
