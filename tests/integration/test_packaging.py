"""The Dockerfile, docker-compose.yml and docs/deployment.md, checked without a Docker engine.

What can be checked here is checked for real: the Dockerfile is read by Docker's own parser (the
`dockerfile` package wraps BuildKit's), the Compose file is validated against the Compose
Specification's JSON schema (vendored by check-jsonschema), every `oee` command that the image,
Compose or the guide runs is run with `--help`, the environment Compose gives the engine is fed
to `Settings`, the health probe of the image and of Compose is run against a live engine, and
the guide's snippets are parsed and their commands and health-check paths checked. Building the
image and starting the stack need a Docker engine and are not done here.
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dockerfile
import pytest
import yaml
from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings

from oee.api.app import create_app
from oee.bootstrap import build_engine
from oee.cli.client import KEY_ENV, URL_ENV
from oee.devtools.engine_process import free_port
from oee.devtools.inloop import serving
from oee.settings import Settings, WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
OEE = Path(sys.executable).with_name("oee")
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
GUIDE = ROOT / "docs" / "deployment.md"
ENGINE_SERVICES = ("migrate", "api", "worker")
GRACE_S = WorkerSettings.model_fields["grace_s"].default  # a stopping worker's drain time


# --- helpers ---------------------------------------------------------------------------------


def settings_variables() -> tuple[dict[str, Any], set[str]]:
    """Every setting's canonical environment name with its default, and every accepted name."""
    canonical: dict[str, Any] = {}
    accepted: set[str] = set()
    prefix = str(Settings.model_config.get("env_prefix", ""))
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseSettings):
            group_prefix = str(group.model_config.get("env_prefix", ""))
            for sub, sub_field in group.model_fields.items():
                env = (group_prefix + sub).upper()
                canonical[env] = sub_field.default
                accepted.add(env)
            continue
        alias = field.validation_alias
        names = (
            [str(choice) for choice in alias.choices]
            if isinstance(alias, AliasChoices)
            else [(prefix + name).upper()]
        )
        canonical[names[0]] = field.default
        accepted |= set(names)
    return canonical, accepted


def instructions() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def stages() -> list[list[dockerfile.Command]]:
    """The Dockerfile's build stages, each starting with its FROM."""
    result: list[list[dockerfile.Command]] = []
    for command in instructions():
        if command.cmd.upper() == "FROM":
            result.append([])
        assert result, "the Dockerfile must start with FROM (after ARGs)"
        result[-1].append(command)
    return result


def of(stage: list[dockerfile.Command], cmd: str) -> list[dockerfile.Command]:
    return [c for c in stage if c.cmd.upper() == cmd]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


# What a user must set before `docker compose up` (the file says `${VAR:?why}` for it).
COMPOSE_ENV = {"OEE_API_KEYS": "desk=" + "d" * 32}


def interpolate(value: str, env: dict[str, str] = COMPOSE_ENV) -> str:
    """Compose's `${VAR:-default}` / `${VAR-default}` / `${VAR:?error}` / `${VAR}`, with the
    variables of `env` set; a required variable `env` lacks fails as Compose would."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
        if env.get(name):
            return env[name]
        if operator.endswith("?"):
            raise AssertionError(f"Compose refuses to start without {name}: {argument}")
        return argument

    return re.sub(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", one, value)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also matches a path's parents."""
    parts = path.split("/")
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.removeprefix("!").strip("/")
        prefixes = ("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            ignored = not negate
    return ignored


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def snippets(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", guide(), flags=re.DOTALL)


def routes() -> set[str]:
    """Every HTTP path the API serves (the app is built around a stand-in; nothing starts)."""
    stand_in = SimpleNamespace(settings=Settings(database_url=None, redis_url=None))
    app = create_app(stand_in)  # type: ignore[arg-type]
    return set(app.openapi()["paths"])


async def run_oee(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(OEE),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("OEE_")},
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


def healthcheck_script(argv: list[str]) -> list[str]:
    """A `CMD python -c ...` health check as an argv runnable here."""
    assert argv[0] == "CMD", f"exec form expected, got {argv}"
    assert argv[1] == "python", argv
    return [sys.executable, *argv[2:]]


# --- the Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_python_3_11_slim() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    for stage in all_stages:
        image = stage[0].value[0]
        assert image == "python:3.11-slim", image
    runtime = all_stages[-1]
    copies = [c for c in of(runtime, "COPY") if any(f.startswith("--from=") for f in c.flags)]
    assert copies, "the final stage copies its virtualenv from a build stage"
    assert not any("pip install" in " ".join(c.value) for c in of(runtime, "RUN")), (
        "nothing is built or installed in the final stage"
    )


def test_image_runs_oee_serve_as_a_non_root_user_with_a_data_volume() -> None:
    runtime = stages()[-1]
    users = of(runtime, "USER")
    assert users, "the final stage sets USER"
    user = users[-1].value[0].split(":")[0]
    assert user not in {"root", "0"}
    env = {}
    for command in of(runtime, "ENV"):
        pairs = command.value
        env |= dict(zip(pairs[::2], (v.strip('"') for v in pairs[1::2]), strict=True))
    volumes = [v for c in of(runtime, "VOLUME") for v in c.value]
    assert env["OEE_DATA_DIR"] in volumes
    assert env["PORT"] == "3000"
    assert "/opt/oee/bin" in env["PATH"].split(":")
    assert [v for c in of(runtime, "EXPOSE") for v in c.value] == ["3000"]
    cmd = of(runtime, "CMD")[-1]
    assert cmd.json, "exec form, so the engine is PID 1 and gets SIGTERM"
    assert list(cmd.value) == ["oee", "serve"]
    health = of(runtime, "HEALTHCHECK")[-1]
    assert "/health" in " ".join(health.value)


def test_image_installs_the_package_without_the_dev_extra() -> None:
    runs = [" ".join(c.value) for c in instructions() if c.cmd.upper() == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert installs
    for line in installs:
        assert "[dev" not in line
        assert "--editable" not in line
        assert not re.search(r"\s-e\s", line)
    assert any(
        re.search(r"pip install --no-deps --no-build-isolation \.(\s|$)", r) for r in installs
    )
    # Dependencies come from the runtime lock alone, every file checked against its hash.
    (deps,) = [r for r in installs if "requirements.lock" in r]
    assert "--require-hashes" in deps
    assert "--no-deps" in deps


def test_build_context_lets_through_exactly_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    sources = [
        src
        for c in instructions()
        if c.cmd.upper() == "COPY" and not any(f.startswith("--from=") for f in c.flags)
        for src in c.value[:-1]
    ]
    assert sources
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: no such file"
        files = [path] if path.is_file() else [p for p in path.rglob("*.py") if p.is_file()]
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if "__pycache__" in relative:
                continue
            assert not dockerignored(relative, patterns), f"{relative} is left out of the context"
    for kept_out in (
        ".git/HEAD",
        ".venv/bin/python",
        ".oee/oee.sqlite3",
        ".oee/wallet.json",
        "tests/conftest.py",
        "docs/deployment.md",
        "src/oee/__pycache__/settings.cpython-311.pyc",
    ):
        assert dockerignored(kept_out, patterns), f"{kept_out} would be sent to the daemon"


# --- docker-compose.yml ------------------------------------------------------------------------


def check_compose_schema(path: Path) -> tuple[int, str]:
    """check-jsonschema's command line, run in this process: exit code and output."""
    from check_jsonschema import main
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["--builtin-schema", "vendor.compose-spec", str(path)])
    return result.exit_code, result.output


def test_compose_file_validates_against_the_compose_specification() -> None:
    code, output = check_compose_schema(COMPOSE)
    assert code == 0, output


def test_the_compose_schema_check_catches_mistakes(tmp_path: Path) -> None:
    """The validator is live: a misspelt key and a wrong condition are refused."""
    for mistake in ("key", "condition"):
        broken = copy.deepcopy(compose())
        worker = broken["services"]["worker"]
        if mistake == "key":
            worker["stop_grace_perod"] = worker.pop("stop_grace_period")
        else:
            worker["depends_on"]["migrate"]["condition"] = "service_completed"
        path = tmp_path / f"{mistake}.yml"
        path.write_text(yaml.safe_dump(broken))
        code, output = check_compose_schema(path)
        assert code == 1, (mistake, output)


def test_docker_compose_config_accepts_the_file() -> None:
    """Compose's own parser, where the Docker CLI has the compose plugin (not on this machine)."""
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True) if docker else None
    if probe is None or probe.returncode != 0:
        pytest.skip("`docker compose` is not installed here; the schema check above covers it")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],  # type: ignore[list-item]
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_compose_wires_postgres_redis_migrate_api_and_scalable_workers() -> None:
    services = compose()["services"]
    assert set(ENGINE_SERVICES) | {"postgres", "redis"} <= set(services)

    postgres, redis = services["postgres"], services["redis"]
    assert re.fullmatch(r"postgres:1[56](\.\d+)*(-\w+)?", postgres["image"])
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert re.fullmatch(r"redis:\d+(\.\d+)*(-\w+)?", redis["image"])
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    command = redis["command"]
    assert command[command.index("--save") + 1] == ""  # no RDB snapshots
    assert command[command.index("--appendonly") + 1] == "no"  # no AOF

    images = {services[name]["image"] for name in ENGINE_SERVICES}
    assert len(images) == 1, "migrate, api and worker run the same image"
    for name in ENGINE_SERVICES:
        assert services[name]["build"] == "."
        assert services[name]["command"][0] == "oee"

    migrate, api, worker = (services[name] for name in ENGINE_SERVICES)
    assert migrate["command"] == ["oee", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["healthcheck"] == {"disable": True}

    assert api["command"] == ["oee", "api"]
    assert api["ports"] == ["3000:3000"]
    assert "/health" in " ".join(api["healthcheck"]["test"])
    after = {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert api["depends_on"] == after

    assert worker["command"] == ["oee", "worker"]
    # Workers reach the shared simulator as their Solana RPC node.
    assert worker["depends_on"] == after | {"sim": {"condition": "service_healthy"}}
    sim = services["sim"]
    assert sim["command"][:2] == ["oee", "sim"]
    assert "/health" in " ".join(sim["healthcheck"]["test"])
    assert worker["deploy"]["replicas"] >= 1
    assert "container_name" not in worker, "a fixed name would stop --scale worker=N"
    assert "ports" not in worker
    assert worker["healthcheck"] == {"disable": True}, "a worker serves no /health"
    assert int(worker["stop_grace_period"].removesuffix("s")) > GRACE_S


def test_compose_gives_the_engine_only_real_settings_and_production_mode() -> None:
    services = compose()["services"]
    _, accepted = settings_variables()
    postgres_env = services["postgres"]["environment"]
    for name in ENGINE_SERVICES:
        env = {k: interpolate(str(v)) for k, v in services[name]["environment"].items()}
        unknown = set(env) - accepted
        assert not unknown, f"{name}: not settings of the engine: {sorted(unknown)}"
        # The process reads its environment: give it exactly the Compose one.
        with pytest.MonkeyPatch.context() as mp:
            for key in list(os.environ):
                if key.startswith("OEE_") or key in {"DATABASE_URL", "REDIS_URL", "PORT"}:
                    mp.delenv(key)
            for key, value in env.items():
                mp.setenv(key, value)
            settings = Settings()
        assert settings.production, name
        assert settings.migrate_on_start is False, f"{name}: the migrate service migrates"
        assert settings.sqlalchemy_url.startswith("postgresql+asyncpg://")
        user = interpolate(str(postgres_env["POSTGRES_USER"]))
        password = interpolate(str(postgres_env["POSTGRES_PASSWORD"]))
        database = interpolate(str(postgres_env["POSTGRES_DB"]))
        assert env["DATABASE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{database}"
        assert env["REDIS_URL"].startswith("redis://redis:6379/")


def test_compose_serves_the_api_on_every_interface_only_with_keys() -> None:
    from oee.api.keys import exposure_problem, load_keyring

    api = compose()["services"]["api"]["environment"]
    assert "${OEE_API_KEYS:?" in str(api["OEE_API_KEYS"]), "a placeholder the user must set"
    with pytest.raises(AssertionError, match="without OEE_API_KEYS"):
        interpolate(str(api["OEE_API_KEYS"]), env={})
    env = {k: interpolate(str(v)) for k, v in api.items()}
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("OEE_"):
                mp.delenv(key)
        for key, value in env.items():
            mp.setenv(key, value)
        settings = Settings()
    keyring = load_keyring(settings)
    assert settings.host == "0.0.0.0"
    assert keyring.enabled
    assert exposure_problem(settings, keyring) is None
    # The image alone listens everywhere too, so it refuses to start without keys.
    runtime = " ".join(" ".join(c.value) for c in of(stages()[-1], "ENV"))
    assert "OEE_HOST 0.0.0.0" in runtime or "OEE_HOST=0.0.0.0" in runtime


# --- commands and health probes ------------------------------------------------------------


def commands_used() -> dict[str, str]:
    """Each `oee` subcommand the image, Compose and the guide run, with where it was seen."""
    seen: dict[str, str] = {}
    cmd = of(stages()[-1], "CMD")[-1].value
    if cmd[0] == "oee":
        seen[cmd[1]] = "Dockerfile CMD"
    for name, service in compose()["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "oee":
            seen.setdefault(command[1], f"docker-compose.yml {name}")
    text = guide()
    code = re.findall(r"`([^`\n]+)`", text) + re.findall(r"```\w*\n(.*?)```", text, re.DOTALL)
    for chunk in code:
        for sub in re.findall(r"(?:^|[\s\"'/\[])oee ([a-z][a-z-]*)", chunk, re.MULTILINE):
            seen.setdefault(sub, "docs/deployment.md")
    return seen


async def test_every_command_the_image_compose_and_guide_run_exists() -> None:
    used = commands_used()
    assert {"serve", "api", "worker", "migrate"} <= set(used)
    results = await asyncio.gather(*(run_oee(sub, "--help") for sub in used))
    failed = {
        f"oee {sub} ({where})": out[-300:]
        for (sub, where), (code, out) in zip(used.items(), results, strict=True)
        if code != 0
    }
    assert not failed, failed


async def test_health_probes_of_image_and_compose_pass_on_a_live_engine_only(
    tmp_path: Path,
) -> None:
    probes = {
        "Dockerfile HEALTHCHECK": healthcheck_script(
            list(of(stages()[-1], "HEALTHCHECK")[-1].value)
        ),
        "compose api healthcheck": healthcheck_script(
            compose()["services"]["api"]["healthcheck"]["test"]
        ),
    }

    async def probe(argv: list[str], port: int) -> int:
        env = {k: v for k, v in os.environ.items() if k != "PORT"} | {"PORT": str(port)}
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        return await asyncio.wait_for(proc.wait(), 15)

    # The engine as `oee serve` builds it, served in this loop (quicker than its own process).
    settings = Settings(data_dir=tmp_path, database_url=None, redis_url=None)
    async with serving(create_app(await build_engine(settings, "serve"))) as port:
        for name, argv in probes.items():
            assert await probe(argv, port) == 0, f"{name} fails on a healthy engine"
    closed = free_port()
    for name, argv in probes.items():
        assert await probe(argv, closed) != 0, f"{name} passes with nothing listening"


# --- docs/deployment.md ------------------------------------------------------------------------


def _same_default(documented: str, default: Any) -> bool:
    text = documented.strip().strip("`")
    if default is None or default == "":
        return text == "unset"
    if isinstance(default, bool):
        return text == str(default).lower()
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    if default == "":
        return text == "empty"
    if isinstance(default, int | float):
        return float(text) == float(default)
    return text == str(default)


def test_guide_lists_every_setting_with_its_real_default() -> None:
    canonical, _ = settings_variables()
    rows = dict(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \| ([^|]+) \|", guide(), re.MULTILINE))
    missing = sorted(set(canonical) - set(rows))
    assert not missing, f"add these settings to the table in docs/deployment.md: {missing}"
    wrong = {
        name: (rows[name].strip(), canonical[name])
        for name in canonical
        if not _same_default(rows[name], canonical[name])
    }
    assert not wrong, f"defaults in docs/deployment.md differ from settings.py: {wrong}"


def test_guide_names_only_real_settings() -> None:
    _, accepted = settings_variables()
    accepted |= {KEY_ENV, URL_ENV}  # read by the client commands, not the engine
    named = set(re.findall(r"\b(OEE_[A-Z0-9_]+)\b", guide()))
    assert not named - accepted, f"no such setting: {sorted(named - accepted)}"


def test_guide_says_execution_is_simulated() -> None:
    assert "**Execution is simulated today.**" in guide()


def test_fly_toml_snippet() -> None:
    (text,) = snippets("toml")
    fly = tomllib.loads(text)
    assert fly["deploy"]["release_command"] == "oee migrate"
    assert fly["processes"] == {"app": "oee api", "worker": "oee worker"}
    service = fly["http_service"]
    assert service["processes"] == ["app"]
    assert str(service["internal_port"]) == fly["env"]["PORT"]
    assert {check["path"] for check in service["checks"]} <= routes()
    assert fly["kill_timeout"] > GRACE_S
    assert fly["env"]["OEE_MIGRATE_ON_START"] == "false"


def test_render_yaml_snippet() -> None:
    (render,) = [
        blueprint
        for blueprint in map(yaml.safe_load, snippets("yaml"))
        if isinstance(blueprint, dict) and "services" in blueprint
    ]
    services = {service["name"]: service for service in render["services"]}
    web = next(s for s in services.values() if s["type"] == "web")
    worker = next(s for s in services.values() if s["type"] == "worker")
    redis = next(s for s in services.values() if s["type"] == "keyvalue")
    assert (web["dockerCommand"], worker["dockerCommand"]) == ("oee api", "oee worker")
    assert web["preDeployCommand"] == "oee migrate"
    assert web["healthCheckPath"] in routes()
    assert redis["maxmemoryPolicy"] == "noeviction"
    database = render["databases"][0]["name"]
    for service in (web, worker):
        assert service["runtime"] == "docker"
        env = {e["key"]: e for e in service["envVars"] if "key" in e}
        assert env["DATABASE_URL"]["fromDatabase"]["name"] == database
        assert env["REDIS_URL"]["fromService"]["name"] == redis["name"]
    (group,) = render["envVarGroups"]
    settings = {e["key"]: e["value"] for e in group["envVars"]}
    assert settings["OEE_MIGRATE_ON_START"] == "false"


def test_railway_json_snippets() -> None:
    configs = [json.loads(text) for text in snippets("json")]
    railway = {c["deploy"]["startCommand"]: c for c in configs if "railway" in c["$schema"]}
    assert set(railway) == {"oee api", "oee worker"}
    api = railway["oee api"]["deploy"]
    assert api["preDeployCommand"] == ["oee migrate"]
    assert api["healthcheckPath"] in routes()
    for config in railway.values():
        assert config["build"]["builder"] == "DOCKERFILE"
        assert (ROOT / config["build"]["dockerfilePath"]).is_file()
