"""API keys: read from the settings once at start, checked in constant time on every request.

A key is `name=secret`; the name identifies the client (orders belong to it), the secret
authenticates it. Only SHA-256 digests of the secrets are kept in memory, and a secret may be
configured as its digest already (`name=sha256:<hex>`), so a keys file need not hold any secret.
Admin keys (`OEE_ADMIN_KEYS`) see every order and alone may drive the simulator. Every mistake
in the settings stops the engine at start with a message naming the setting and the entry,
never repeating a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from oee.settings import Settings

MIN_SECRET_LENGTH = 16
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HASHED = re.compile(r"sha256:([0-9a-fA-F]{64})")


class KeyConfigError(ValueError):
    """A key setting the engine refuses to start with (the message never holds a secret)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key's name and whether it is an admin key.

    `name` is None only for `OPEN`, the caller of an engine that runs without keys.
    """

    name: str | None
    admin: bool

    def sees(self, owner: str | None) -> bool:
        """Whether this caller may see an order placed by `owner` (None: placed in open mode)."""
        return self.admin or (owner is not None and owner == self.name)

    @property
    def owner_filter(self) -> str | None:
        """The owner whose orders a listing shows: None (all of them) for admins."""
        return None if self.admin else self.name


OPEN = Principal(None, admin=True)  # no keys configured: everyone sees and may do everything


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A configured key: who it stands for and the SHA-256 digest of its secret."""

    principal: Principal
    digest: bytes
    where: str  # the setting and entry it came from, for error messages


def digest(secret: str) -> bytes:
    """The SHA-256 digest a secret is compared by."""
    return hashlib.sha256(secret.encode()).digest()


class KeyRing:
    """The configured keys; `identify` is one hash and one constant-time compare per key."""

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        """Check the keys as a whole: names and secrets must be unique.

        Raises:
            KeyConfigError: A name or a secret used twice.
        """
        by_name: dict[str, ApiKey] = {}
        by_digest: dict[bytes, ApiKey] = {}
        for key in keys:
            name = key.principal.name
            assert name is not None
            if (other := by_name.get(name)) is not None:
                raise KeyConfigError(
                    f"key name {name!r} is configured twice ({other.where}, {key.where})"
                )
            if (other := by_digest.get(key.digest)) is not None:
                raise KeyConfigError(
                    f"keys {other.principal.name!r} ({other.where}) and {name!r} ({key.where}) "
                    "have the same secret: give each client its own"
                )
            by_name[name], by_digest[key.digest] = key, key
        self._keys = tuple(keys)
        self._by_name = {name: key.principal for name, key in by_name.items()}

    @property
    def enabled(self) -> bool:
        """Whether any key is configured (otherwise the engine runs open)."""
        return bool(self._keys)

    def identify(self, secret: str) -> Principal | None:
        """The key whose secret this is, or None.

        The presented secret is hashed once and its digest compared with every configured
        digest by `hmac.compare_digest`, without stopping at a match, so the time taken says
        nothing about which key (or how much of one) matched.
        """
        presented = digest(secret)
        found: Principal | None = None
        for key in self._keys:
            if hmac.compare_digest(presented, key.digest):
                found = key.principal
        return found

    def named(self, name: str) -> Principal | None:
        """The key called `name`, if it is still configured (stream tokens carry the name)."""
        return self._by_name.get(name)

    def fingerprint(self) -> bytes:
        """A digest of every key's name, scope and secret digest, the same in every process
        configured with the same keys (it derives the stream-token signing secret)."""
        lines = sorted(
            f"{k.principal.name}:{int(k.principal.admin)}:{k.digest.hex()}" for k in self._keys
        )
        return hmac.new(b"oee key ring v1", "\n".join(lines).encode(), hashlib.sha256).digest()


def parse_key(text: str, where: str, *, admin: bool) -> ApiKey:
    """One `name=secret` (or `name=sha256:<hex>`) entry.

    Raises:
        KeyConfigError: The entry is malformed, its name invalid or its secret too short.
    """
    name, sep, secret = (part.strip() for part in text.partition("="))
    if not sep:
        raise KeyConfigError(f"{where}: expected name=secret")
    if not name:
        raise KeyConfigError(f"{where}: the key has no name (write name=secret)")
    if not _NAME.fullmatch(name):
        raise KeyConfigError(
            f"{where}: key name {name[:70]!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if not secret:
        raise KeyConfigError(f"{where}: key {name!r} has no secret")
    if not all("!" <= c <= "~" and c != "," for c in secret):
        raise KeyConfigError(
            f"{where}: the secret of key {name!r} may hold only printable ASCII characters "
            "without spaces or commas"
        )
    if secret.lower().startswith("sha256:"):
        if (hashed := _HASHED.fullmatch(secret)) is None:
            raise KeyConfigError(
                f"{where}: key {name!r}: sha256: must be followed by the 64 hex digits of the "
                "secret's SHA-256"
            )
        key_digest = bytes.fromhex(hashed.group(1))
    elif len(secret) < MIN_SECRET_LENGTH:
        raise KeyConfigError(
            f"{where}: the secret of key {name!r} must be at least {MIN_SECRET_LENGTH} "
            "characters (e.g. `openssl rand -hex 24`)"
        )
    else:
        key_digest = digest(secret)
    return ApiKey(Principal(name, admin), key_digest, where)


def _entries(variable: str, value: SecretStr, file: Path | None) -> Iterator[tuple[str, str]]:
    """Each entry of a comma-separated setting and of its file, with where it came from."""
    text = value.get_secret_value()
    if text.strip():
        pieces = [piece for piece in text.split(",") if piece.strip()]
        if not pieces:
            raise KeyConfigError(f"{variable} holds no name=secret entry")
        for index, piece in enumerate(pieces, start=1):
            yield piece, f"{variable} entry {index}"
    if file is None:
        return
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise KeyConfigError(
            f"{variable}_FILE: cannot read {file}: {type(error).__name__}"
        ) from None
    found = False
    for number, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            found = True
            yield line, f"{variable}_FILE {file} line {number}"
    if not found:  # an empty file must not silently leave the engine open
        raise KeyConfigError(f"{variable}_FILE: {file} holds no keys")


def load_keyring(settings: Settings) -> KeyRing:
    """Every API and admin key the settings configure (none: open mode).

    Raises:
        KeyConfigError: Any mistake, named by setting and entry (never by its secret).
    """
    keys = [
        parse_key(text, where, admin=admin)
        for variable, value, file, admin in (
            ("OEE_API_KEYS", settings.api_keys, settings.api_keys_file, False),
            ("OEE_ADMIN_KEYS", settings.admin_keys, settings.admin_keys_file, True),
        )
        for text, where in _entries(variable, value, file)
    ]
    return KeyRing(keys)


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def exposure_problem(settings: Settings, keyring: KeyRing) -> str | None:
    """Why the API must not start as configured, or None.

    Without keys anyone who can reach the engine can trade with its wallet and read every
    order, so an open engine listens on loopback only unless `OEE_ALLOW_OPEN` says otherwise.
    """
    if keyring.enabled or settings.allow_open or is_loopback(settings.host):
        return None
    return (
        f"refusing to serve {settings.host}:{settings.port} without API keys: anyone who can "
        "reach it could trade and read every order. Set OEE_API_KEYS (or OEE_API_KEYS_FILE), "
        "listen on 127.0.0.1 (--host / OEE_HOST), or set OEE_ALLOW_OPEN=true to serve it open"
    )


OPEN_MODE_WARNING = (
    "no API keys configured (OEE_API_KEYS): the engine runs OPEN — anyone who can reach it "
    "can trade and read every order"
)
