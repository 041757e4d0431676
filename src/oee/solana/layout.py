"""Fixed-size account and instruction layouts, declared once as data and read both ways.

A `Layout` lists a record's fields in order, each with its wire type; offsets and size follow
from the list, and `decode`/`encode` both come from it, so a venue's account cannot be read
with one idea of its bytes and written with another. Records are frozen dataclasses whose field
names match the layout's (padding fields, named `_`, are skipped on decode and zeroed on
encode). Everything is little-endian and packed, as Solana programs lay out `#[repr(C, packed)]`
structs, borsh fixed-size structs and Anchor zero-copy accounts (whose padding is declared
explicitly in their IDLs).
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast

from solders.pubkey import Pubkey

T = TypeVar("T")


class LayoutError(ValueError):
    """Bytes that do not fit a layout (wrong length or discriminator)."""


class WireType:
    """One field's encoding: a fixed size and a conversion to and from Python values."""

    size: int

    def unpack(self, data: bytes, offset: int) -> Any:
        raise NotImplementedError

    def pack(self, value: Any) -> bytes:
        raise NotImplementedError


class _Int(WireType):
    """An integer of any width (u128 and i128 have no `struct` code)."""

    def __init__(self, size: int, *, signed: bool) -> None:
        self.size, self.signed = size, signed

    def unpack(self, data: bytes, offset: int) -> int:
        return int.from_bytes(data[offset : offset + self.size], "little", signed=self.signed)

    def pack(self, value: Any) -> bytes:
        return int(value).to_bytes(self.size, "little", signed=self.signed)


class _Struct(WireType):
    """An integer type Python's `struct` reads directly (faster than `int.from_bytes`)."""

    def __init__(self, code: str) -> None:
        self._struct = struct.Struct("<" + code)
        self.size = self._struct.size

    def unpack(self, data: bytes, offset: int) -> int:
        return cast(int, self._struct.unpack_from(data, offset)[0])

    def pack(self, value: Any) -> bytes:
        return self._struct.pack(value)


class _Pubkey(WireType):
    size = 32

    def unpack(self, data: bytes, offset: int) -> Pubkey:
        return Pubkey.from_bytes(data[offset : offset + 32])

    def pack(self, value: Any) -> bytes:
        return bytes(value)


class Bytes(WireType):
    """Raw bytes of a fixed length (reserved space, or a field kept opaque)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def unpack(self, data: bytes, offset: int) -> bytes:
        return bytes(data[offset : offset + self.size])

    def pack(self, value: Any) -> bytes:
        raw = bytes(value)
        if len(raw) != self.size:
            raise LayoutError(f"expected {self.size} bytes, got {len(raw)}")
        return raw


class Array(WireType):
    """`count` items of one type, read as a tuple."""

    def __init__(self, item: WireType, count: int) -> None:
        self.item, self.count = item, count
        self.size = item.size * count

    def unpack(self, data: bytes, offset: int) -> tuple[Any, ...]:
        step = self.item.size
        return tuple(self.item.unpack(data, offset + i * step) for i in range(self.count))

    def pack(self, value: Any) -> bytes:
        items = list(value)
        if len(items) != self.count:
            raise LayoutError(f"expected {self.count} items, got {len(items)}")
        return b"".join(self.item.pack(v) for v in items)


U8, U16, U32, U64 = _Struct("B"), _Struct("H"), _Struct("I"), _Struct("Q")
I8, I16, I32, I64 = _Struct("b"), _Struct("h"), _Struct("i"), _Struct("q")
U128, I128 = _Int(16, signed=False), _Int(16, signed=True)
PUBKEY = _Pubkey()
PAD = "_"  # the name of a field that is skipped on decode and written as zeros


class Layout(WireType, Generic[T]):
    """A packed record: an optional discriminator, then its fields in order.

    Args:
        record: the frozen dataclass that decoded values become (its field names are the
            layout's non-padding field names).
        fields: `(name, type)` pairs in wire order; name `PAD` for reserved bytes.
        discriminator: bytes every valid record starts with (Anchor's 8-byte account or
            instruction discriminator, a one-byte instruction tag), checked on decode.
        size: the expected total size, checked at declaration time against the fields.
    """

    def __init__(
        self,
        record: type[T],
        fields: Sequence[tuple[str, WireType]],
        *,
        discriminator: bytes = b"",
        size: int | None = None,
    ) -> None:
        self.record = record
        self.discriminator = discriminator
        self.fields = tuple(fields)
        offsets: dict[str, int] = {}
        offset = len(discriminator)
        for name, wire in self.fields:
            if name != PAD:
                offsets[name] = offset
            offset += wire.size
        self.size = offset
        self.offsets = offsets
        if size is not None and size != self.size:
            raise LayoutError(f"{record.__name__}: fields add up to {self.size} bytes, not {size}")
        names = [f.name for f in dataclasses.fields(cast(Any, record))]
        if names != list(offsets):
            raise LayoutError(
                f"{record.__name__}: dataclass fields {names} != layout {list(offsets)}"
            )

    def offset(self, name: str) -> int:
        """Where `name` starts, counting the discriminator (what a `memcmp` filter needs)."""
        return self.offsets[name]

    def decode(self, data: bytes) -> T:
        """Reads one record from the start of `data` (longer data is allowed: accounts may be
        allocated with room to grow)."""
        return self.unpack(data, 0)

    def unpack(self, data: bytes, offset: int) -> T:
        end = offset + self.size
        if len(data) < end:
            raise LayoutError(
                f"{self.record.__name__}: need {self.size} bytes, got {len(data) - offset}"
            )
        disc = self.discriminator
        if disc and data[offset : offset + len(disc)] != disc:
            raise LayoutError(f"{self.record.__name__}: wrong discriminator")
        values = []
        at = offset + len(disc)
        for name, wire in self.fields:
            if name != PAD:
                values.append(wire.unpack(data, at))
            at += wire.size
        return self.record(*values)

    def encode(self, record: T) -> bytes:
        """The record's bytes, discriminator first."""
        return self.pack(record)

    def pack(self, value: Any) -> bytes:
        parts = [self.discriminator]
        for name, wire in self.fields:
            parts.append(bytes(wire.size) if name == PAD else wire.pack(getattr(value, name)))
        return b"".join(parts)
