"""Hand-built protobuf encoding for tests: field numbers are written out literally (facts from generated.proto),
so the tests do not lean on the generated table they check."""

from __future__ import annotations

import struct

from apiserver.protobuf import MAGIC
from apiserver.protobuf.wire import BYTES, FIXED32, FIXED64, field_bytes, field_varint, tag, varint


def m(*parts: bytes) -> bytes:
    return b"".join(parts)


def s(number: int, value: str | bytes) -> bytes:
    """A length-delimited field (string, bytes or nested message)."""
    return field_bytes(number, value)


def v(number: int, value: int) -> bytes:
    return field_varint(number, value)


def packed(number: int, values: list[int]) -> bytes:
    return field_bytes(number, b"".join(varint(x) for x in values))


def double(number: int, value: float) -> bytes:
    return tag(number, FIXED64) + struct.pack("<d", value)


def fixed32(number: int, value: int) -> bytes:
    return tag(number, FIXED32) + value.to_bytes(4, "little")


def entry(number: int, key: str, value: str | bytes) -> bytes:
    """One map entry {key=1, value=2}."""
    return s(number, m(s(1, key), s(2, value)))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """MAGIC + runtime.Unknown{typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4}."""
    return MAGIC + m(s(1, m(s(1, api_version), s(2, kind))), s(2, raw), s(3, ""), s(4, ""))


def meta(name: str, **extra: bytes) -> bytes:
    """ObjectMeta as Go writes it: every value field present, empty ones too (name=1, generateName=2,
    namespace=3, selfLink=4, uid=5, resourceVersion=6, generation=7, creationTimestamp=8 (empty: zero time))."""
    body = m(s(1, name), s(2, ""), s(3, ""), s(4, ""), s(5, ""), s(6, ""), v(7, 0), s(8, b""))
    return body + b"".join(extra.values())


__all__ = ["BYTES", "double", "entry", "envelope", "fixed32", "m", "meta", "packed", "s", "v"]
