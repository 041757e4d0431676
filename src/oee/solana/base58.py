"""Bitcoin-alphabet base58, as Solana prints keys, signatures, instruction data and memcmp bytes."""

from __future__ import annotations

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def b58encode(data: bytes) -> str:
    """The base58 text of `data` (leading zero bytes become leading "1"s)."""
    number, digits = int.from_bytes(data, "big"), []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Inverse of `b58encode`.

    Raises:
        ValueError: A character outside the alphabet.
    """
    number = 0
    for char in text:
        if char not in _INDEX:
            raise ValueError(f"invalid character {char!r}")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")
