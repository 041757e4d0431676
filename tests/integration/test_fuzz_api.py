"""Schemathesis over the engine's own OpenAPI document: every operation, as an attacker would.

The whole engine runs in this process, built as `oee serve` builds it (embedded deployment: a
SQLite file, the simulator, the worker) with API keys configured, and Schemathesis calls the
ASGI app directly (its own event loop thread; the app's lifespan starts the engine once). Each
operation is fuzzed with valid and invalid data (`positive` and `negative` modes): no answer may
be a 5xx, and every answer must be a status the operation declares, with its declared content
type, headers and body schema. Calls go out as an admin key (so the simulator relays are
reached), and Schemathesis also replays them without a key to check that auth is enforced.

Operations come from the served document at run time, so a route added later is fuzzed too.
CI runs `EXAMPLES` examples per operation; `OEE_FUZZ_EXAMPLES=500` makes the larger run of
docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.queue.memory import MemoryQueue
from oee.api.app import create_app
from oee.bootstrap import build_engine
from tests.support.api import make_engine
from tests.support.engine import make_settings

# Schema-valid data may still break a rule no schema can state (an unknown token, a pair with
# no pool, an expiry in the past): those are 422s with the rule's code, not a bug.
EXCLUDED = [positive_data_acceptance]
EXAMPLES = int(os.environ.get("OEE_FUZZ_EXAMPLES", "25"))
# Answers by operation and status, for the report (Schemathesis's own probes not counted).
TALLY: defaultdict[str, Counter[int]] = defaultdict(Counter)
OPS = "ops-fuzz-secret-0123456789"
KEYS = {
    "api_keys": SecretStr("alice=alice-fuzz-secret-0123456789"),
    "admin_keys": SecretStr(f"ops={OPS}"),
}


# The document the app serves, read from an app that is never started: its operations are
# known when tests are collected. (Schemathesis's `from_fixture` needs pytest internals that
# pytest 9 no longer has.)
schema = schemathesis.openapi.from_dict(
    create_app(make_engine(None, MemoryQueue(), MemoryBus())).openapi()
)


@pytest.fixture
def fuzzed_app(tmp_path: Path) -> Iterator[FastAPI]:
    """A whole engine's app with keys, one per operation: its lifespan starts the engine on
    the first call, and Schemathesis ends it after each test."""
    # No rate limit: Schemathesis's probes with wrong keys would soon lock its one client
    # address out (429 to every call; `oee.api.limits.AuthFailures`, tested on its own).
    config = make_settings(tmp_path, env="test", **KEYS)
    app = create_app(asyncio.run(build_engine(config, "serve")))
    assert app.openapi() == schema.raw_schema, "the fuzzed engine serves another document"
    try:
        yield app
    finally:
        asgi.shutdown_lifespans()  # stops the engine


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_a_5xx_or_off_its_schema(
    fuzzed_app: FastAPI, case: schemathesis.Case
) -> None:
    # The app is known only now; Schemathesis's own probes (the call without a key) read it
    # from the operation and its schema (a clone per test).
    case.operation.app = case.operation.schema.app = fuzzed_app
    headers = {"Authorization": f"Bearer {OPS}"}
    response = case.call(headers=headers)
    TALLY[f"{case.method.upper()} {case.path}"][response.status_code] += 1
    case.validate_response(response, excluded_checks=EXCLUDED, headers=headers)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """With `OEE_FUZZ_REPORT=<file>`, write what was sent and answered (docs/reliability.md)."""
    yield
    if path := os.environ.get("OEE_FUZZ_REPORT"):
        by_operation = {op: dict(sorted(statuses.items())) for op, statuses in TALLY.items()}
        cases = sum(sum(statuses.values()) for statuses in TALLY.values())
        server_errors = sum(n for st in TALLY.values() for code, n in st.items() if code >= 500)
        summary = {"examples": EXAMPLES, "cases": cases, "5xx": server_errors}
        Path(path).write_text(json.dumps({**summary, "operations": by_operation}, indent=1))
