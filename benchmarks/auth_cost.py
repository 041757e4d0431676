"""What authenticating a request costs: the API-key check and a stream token's verification.

Every request pays the key check (one SHA-256 of the presented secret, then a constant-time
compare against every configured digest), so its cost grows with the number of keys. Run:

    .venv/bin/python benchmarks/auth_cost.py            # full form: 200,000 checks per case
    .venv/bin/python benchmarks/auth_cost.py --short    # what CI runs (no speed asserted)

Prints one line per case (µs per request) and, with --json FILE, writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from pydantic import SecretStr

from oee.api.access import AccessMiddleware
from oee.api.keys import Principal, load_keyring
from oee.api.stream_tokens import StreamTokens
from oee.settings import Settings

SECRET = "benchmark-secret-"


def _scope(secret: str) -> dict[str, Any]:
    return {
        "type": "http",
        "path": "/api/orders/execute",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:3000"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {secret}".encode()),
        ],
    }


def key_check_us(keys: int, rounds: int) -> float:
    """µs per request for the middleware's authentication with `keys` configured keys."""
    config = ",".join(f"k{i}={SECRET}{i:06d}" for i in range(keys))
    ring = load_keyring(Settings(database_url=None, redis_url=None, api_keys=SecretStr(config)))
    middleware = AccessMiddleware(lambda *_: None, ring, StreamTokens(ring, b"s" * 32))  # type: ignore[arg-type]
    scope = _scope(f"{SECRET}{keys - 1:06d}")  # the last key: the compare visits all anyway
    started = time.perf_counter()
    for _ in range(rounds):
        principal, _ = middleware.authenticate(scope)
    elapsed = time.perf_counter() - started
    assert principal == Principal(f"k{keys - 1}", admin=False)
    return elapsed / rounds * 1e6


def token_verify_us(rounds: int) -> float:
    """µs to verify one stream token."""
    ring = load_keyring(
        Settings(database_url=None, redis_url=None, api_keys=SecretStr(f"k0={SECRET}000000"))
    )
    tokens = StreamTokens(ring, b"s" * 32)
    token, _ = tokens.issue(Principal("k0", admin=False))
    started = time.perf_counter()
    for _ in range(rounds):
        tokens.verify(token)
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="a quick run (CI)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    rounds = 2_000 if args.short else 200_000
    figures = {f"key check, {n} keys": key_check_us(n, rounds) for n in (1, 10, 100)}
    figures["stream token verify"] = token_verify_us(rounds)
    for case, us in figures.items():
        print(f"{case:<24} {us:8.2f} µs per request")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)


if __name__ == "__main__":
    main()
