"""API keys, stream tokens and the exposure rule as pure functions: parsing, constant-time
checks, signing, and the speed of the check every request pays."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from oee.api import keys as keys_module
from oee.api.access import AccessMiddleware, admin_only, needs_key
from oee.api.app import create_app
from oee.api.keys import (
    OPEN,
    KeyConfigError,
    Principal,
    exposure_problem,
    is_loopback,
    load_keyring,
)
from oee.api.stream_tokens import TOKEN_TTL_S, StreamTokens, signing_secret
from oee.settings import Settings

ALICE = "alice-secret-0123456789"
BOB = "bob-secret-0123456789xyz"
OPS = "ops-secret-0123456789abcd"


def settings(**values: Any) -> Settings:
    secrets = {k: SecretStr(v) for k, v in values.items() if k in ("api_keys", "admin_keys")}
    return Settings(database_url=None, redis_url=None, **{**values, **secrets})


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- parsing -----------------------------------------------------------------------------------


def test_keys_come_from_the_settings_their_files_and_may_be_stored_as_hashes(
    tmp_path: Path,
) -> None:
    api_file, admin_file = tmp_path / "api-keys", tmp_path / "admin-keys"
    api_file.write_text(f"# the desk\n\n  carol = sha256:{sha256('carol-secret-0123456789')}\n")
    admin_file.write_text(f"ops={OPS}\n")
    ring = load_keyring(
        settings(
            api_keys=f" alice={ALICE} , bob=sha256:{sha256(BOB).upper()},",
            api_keys_file=api_file,
            admin_keys_file=admin_file,
        )
    )
    assert ring.enabled
    assert ring.identify(ALICE) == Principal("alice", admin=False)
    assert ring.identify(BOB) == Principal("bob", admin=False)
    assert ring.identify("carol-secret-0123456789") == Principal("carol", admin=False)
    assert ring.identify(OPS) == Principal("ops", admin=True)
    for wrong in ("", ALICE + " ", ALICE[:-1], sha256(BOB), f"sha256:{sha256(BOB)}"):
        assert ring.identify(wrong) is None
    assert ring.named("ops") == Principal("ops", admin=True)
    assert ring.named("eve") is None


def test_no_keys_is_open_mode() -> None:
    assert not load_keyring(settings()).enabled
    assert not load_keyring(settings(api_keys="   ")).enabled


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("alice", "entry 1: expected name=secret"),
        (f"={ALICE}", "has no name"),
        (f"al ice={ALICE}", "must be 1-64 letters"),
        (f"-alice={ALICE}", "must be 1-64 letters"),
        (f"{'a' * 65}={ALICE}", "must be 1-64 letters"),
        ("alice=", "has no secret"),
        ("alice=short-secret", "at least 16 characters"),
        ("alice=sha256:abc", "64 hex digits"),
        (f"alice=sha256:{'g' * 64}", "64 hex digits"),
        ("alice=secret with spaces 0123", "printable ASCII"),
        ("alice=sécret-0123456789abcdef", "printable ASCII"),
        (f"alice={ALICE},alice={BOB}", "'alice' is configured twice"),
        (f"alice={ALICE},bob={ALICE}", "have the same secret"),
        (f"alice={ALICE},bob=sha256:{sha256(ALICE)}", "have the same secret"),
        (",,", "holds no name=secret entry"),
    ],
)
def test_bad_key_settings_are_refused_naming_where_never_the_secret(value: str, words: str) -> None:
    with pytest.raises(KeyConfigError, match=None) as refused:
        load_keyring(settings(api_keys=value))
    message = str(refused.value)
    assert words in message
    assert "OEE_API_KEYS" in message
    for secret in (ALICE, BOB, "short-secret", "secret with spaces", "sécret"):
        assert secret not in message


def test_a_name_is_unique_across_api_and_admin_keys(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match=r"'ops' is configured twice \(OEE_API_KEYS entry 1"):
        load_keyring(settings(api_keys=f"ops={ALICE}", admin_keys=f"ops={OPS}"))


def test_bad_key_files_are_refused_by_setting_and_line(tmp_path: Path) -> None:
    file = tmp_path / "keys"
    file.write_text(f"alice={ALICE}\n# fine\nbob\n")
    with pytest.raises(KeyConfigError, match=rf"OEE_API_KEYS_FILE {file} line 3: expected"):
        load_keyring(settings(api_keys_file=file))
    file.write_text("# nothing but comments\n\n")
    with pytest.raises(KeyConfigError, match="holds no keys"):
        load_keyring(settings(admin_keys_file=file))
    with pytest.raises(KeyConfigError, match="OEE_API_KEYS_FILE: cannot read"):
        load_keyring(settings(api_keys_file=tmp_path / "missing"))


def test_key_settings_never_print_their_secrets() -> None:
    configured = settings(api_keys=f"alice={ALICE}", admin_keys=f"ops={OPS}")
    shown = f"{configured!r} {configured} {configured.model_dump()}"
    assert ALICE not in shown
    assert OPS not in shown


# --- the check every request pays --------------------------------------------------------------


def test_every_configured_digest_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One hash of the presented secret, then `hmac.compare_digest` against every key, match
    or not, first or last: the time taken does not depend on which key matched."""
    ring = load_keyring(settings(api_keys=f"alice={ALICE},bob={BOB}", admin_keys=f"ops={OPS}"))
    compared: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", counting)
    for presented in (ALICE, OPS, "nobody-0123456789abc"):
        compared.clear()
        ring.identify(presented)
        assert len(compared) == 3, presented
        assert {a for a, _ in compared} == {hashlib.sha256(presented.encode()).digest()}


def test_the_middleware_finds_the_key_among_many() -> None:
    # Its cost is measured by benchmarks/auth_cost.py, not asserted here.
    ring = load_keyring(settings(api_keys=",".join(f"k{i}={ALICE}{i:04d}" for i in range(10))))
    middleware = AccessMiddleware(lambda *_: None, ring, StreamTokens(ring, b"s" * 32))  # type: ignore[arg-type]
    scope = {
        "type": "http",
        "path": "/api/orders/execute",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:3000"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {ALICE}0009".encode()),
        ],
    }
    principal, _ = middleware.authenticate(scope)
    assert principal == Principal("k9", admin=False)


# --- who sees what ----------------------------------------------------------------------------


def test_a_key_sees_its_own_orders_an_admin_and_open_mode_see_all() -> None:
    alice, ops = Principal("alice", admin=False), Principal("ops", admin=True)
    assert alice.sees("alice")
    assert not alice.sees("bob")
    assert not alice.sees(None)
    assert ops.sees("alice")
    assert ops.sees(None)
    assert OPEN.sees("bob")
    assert (alice.owner_filter, ops.owner_filter, OPEN.owner_filter) == ("alice", None, None)


def test_which_paths_need_a_key_and_which_an_admin_key() -> None:
    for path in ("/health", "/ready", "/docs", "/openapi.json", "/", "/static/js/main.js"):
        assert not needs_key(path), path
    for path in ("/api/orders/active", "/ws/orders", "/api/wallet", "/metrics", "/x", "/static"):
        assert needs_key(path), path
    assert admin_only("/metrics")
    assert admin_only("/api/sim/faults")
    assert admin_only("/api/sim/x")
    assert not admin_only("/api/orders/recent")
    assert not admin_only("/api/simulated")


def test_openapi_declares_the_keys_and_their_refusals() -> None:
    class StandIn:
        settings = Settings(database_url=None, redis_url=None)

    spec = create_app(StandIn()).openapi()  # type: ignore[arg-type]
    assert set(spec["components"]["securitySchemes"]) == {"bearerKey", "apiKeyHeader"}
    assert spec["components"]["securitySchemes"]["apiKeyHeader"]["name"] == "X-API-Key"
    assert "security" not in spec["paths"]["/health"]["get"]
    active = spec["paths"]["/api/orders/active"]["get"]
    assert active["security"] == [{"bearerKey": []}, {"apiKeyHeader": []}]
    assert "401" in active["responses"]
    assert "403" not in active["responses"]
    assert {"401", "403"} <= set(spec["paths"]["/metrics"]["get"]["responses"])
    assert {"401", "403"} <= set(spec["paths"]["/api/sim/pools"]["post"]["responses"])


# --- stream tokens -----------------------------------------------------------------------------


def test_a_stream_token_stands_for_its_key_until_it_expires() -> None:
    config = settings(api_keys=f"alice={ALICE}", admin_keys=f"ops={OPS}")
    ring = load_keyring(config)
    clock = [1_000_000.0]
    tokens = StreamTokens(ring, signing_secret(config, ring), lambda: clock[0])
    token, expires = tokens.issue(Principal("alice", admin=False))
    assert expires == 1_000_000 + TOKEN_TTL_S
    assert tokens.verify(token) == Principal("alice", admin=False)
    assert tokens.issue(Principal("alice", admin=False))[0] != token, "each token is distinct"
    clock[0] += TOKEN_TTL_S - 1
    assert tokens.verify(token) is not None
    clock[0] += 1
    assert tokens.verify(token) is None, "expired"


def test_forged_tampered_and_revoked_tokens_are_refused() -> None:
    config = settings(api_keys=f"alice={ALICE},bob={BOB}")
    ring = load_keyring(config)
    tokens = StreamTokens(ring, signing_secret(config, ring))
    token, _ = tokens.issue(Principal("alice", admin=False))
    payload, signature = token.split(".")
    bob_payload = StreamTokens(ring, b"x" * 32).issue(Principal("bob", admin=False))[0]
    for forged in (
        f"{bob_payload.split('.')[0]}.{signature}",  # bob's claim, alice's signature
        bob_payload,  # signed with another secret
        f"{payload}.{signature[::-1]}",
        f"{payload}.",
        token + ".x",
        "x" * 600,
        "!!!.???",
        "",
    ):
        assert tokens.verify(forged) is None, forged
    # The keys changed (alice removed): her tokens stop, and so does every old token, since
    # the secret derives from the keys.
    fewer = settings(api_keys=f"bob={BOB}")
    fewer_ring = load_keyring(fewer)
    assert StreamTokens(fewer_ring, signing_secret(fewer, fewer_ring)).verify(token) is None


def test_the_signing_secret_is_shared_by_processes_with_the_same_keys_or_setting() -> None:
    one = settings(api_keys=f"alice={ALICE}")
    same = settings(api_keys=f"alice=sha256:{sha256(ALICE)}")  # the same key, stored hashed
    other = settings(api_keys=f"alice={BOB}")
    secret = signing_secret(one, load_keyring(one))
    assert signing_secret(same, load_keyring(same)) == secret
    assert signing_secret(other, load_keyring(other)) != secret
    pinned = [
        settings(api_keys=f"alice={key}", stream_token_secret=SecretStr("a-long-shared-secret"))
        for key in (ALICE, BOB)
    ]
    assert len({signing_secret(s, load_keyring(s)) for s in pinned}) == 1


# --- exposure ---------------------------------------------------------------------------------


def test_the_engine_listens_on_loopback_unless_told_otherwise() -> None:
    assert Settings().host == "127.0.0.1"
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "10.0.0.5", "example.com", ""):
        assert not is_loopback(host), host


def test_an_open_engine_may_serve_another_interface_only_when_told() -> None:
    open_everywhere = settings(host="0.0.0.0")
    problem = exposure_problem(open_everywhere, load_keyring(open_everywhere))
    assert problem is not None
    assert "OEE_ALLOW_OPEN=true" in problem
    assert "OEE_API_KEYS" in problem
    for fine in (
        settings(),
        settings(host="0.0.0.0", allow_open=True),
        settings(host="0.0.0.0", api_keys=f"alice={ALICE}"),
        settings(host="0.0.0.0", admin_keys=f"ops={OPS}"),
    ):
        assert exposure_problem(fine, load_keyring(fine)) is None
