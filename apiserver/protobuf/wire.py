"""Protobuf wire format, read side only: split one message's bytes into its fields.

`parse(data, message)` returns {field number: [(wire type, value), ...]} in wire order, where value is an int for
varint/fixed32/fixed64 fields (unsigned, as read) and bytes for length-delimited ones. Groups (wire types 3/4) are
not used by Kubernetes and are rejected. Errors are worded as the gogo-generated Go unmarshallers word them
(`unexpected EOF`, `proto: <Message>: illegal tag ...`), so a client sees what the real apiserver would print.
"""

from __future__ import annotations

from apiserver.protobuf.errors import ProtobufError

VARINT, FIXED64, BYTES, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5

Fields = dict[int, list[tuple[int, int | bytes]]]


def read_varint(data: bytes, i: int) -> tuple[int, int]:
    """(value, next index); a varint is at most 10 bytes (64 bits)."""
    result = 0
    shift = 0
    n = len(data)
    while True:
        if shift >= 64:
            raise ProtobufError("proto: integer overflow")
        if i >= n:
            raise ProtobufError("unexpected EOF")
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, i
        shift += 7


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def parse(data: bytes, message: str) -> Fields:
    fields: Fields = {}
    i = 0
    n = len(data)
    short = message.rsplit(".", 1)[-1]
    while i < n:
        key, i = read_varint(data, i)
        # Go reads the number as int32(key >> 3) and prints the whole key as the "wire type".
        number, wire_type = _int32(key >> 3), key & 7
        if wire_type == END_GROUP:
            raise ProtobufError(f"proto: {short}: wiretype end group for non-group")
        if number <= 0:
            raise ProtobufError(f"proto: {short}: illegal tag {number} (wire type {key})")
        value: int | bytes
        if wire_type == VARINT:
            value, i = read_varint(data, i)
        elif wire_type == FIXED64:
            if i + 8 > n:
                raise ProtobufError("unexpected EOF")
            value = int.from_bytes(data[i:i + 8], "little")
            i += 8
        elif wire_type == FIXED32:
            if i + 4 > n:
                raise ProtobufError("unexpected EOF")
            value = int.from_bytes(data[i:i + 4], "little")
            i += 4
        elif wire_type == BYTES:
            length, i = read_varint(data, i)
            if length > 0x7FFFFFFFFFFFFFFF:
                raise ProtobufError("proto: negative length found during unmarshaling")
            if i + length > n:
                raise ProtobufError("unexpected EOF")
            value = data[i:i + length]
            i += length
        else:
            raise ProtobufError(f"proto: illegal wireType {wire_type}")
        fields.setdefault(number, []).append((wire_type, value))
    return fields


def packed_varints(data: bytes) -> list[int]:
    out = []
    i = 0
    while i < len(data):
        v, i = read_varint(data, i)
        out.append(v)
    return out


def packed_fixed(data: bytes, width: int) -> list[int]:
    if len(data) % width:
        raise ProtobufError("unexpected EOF")
    return [int.from_bytes(data[i:i + width], "little") for i in range(0, len(data), width)]


# -------------------------------------------------------------------------------- encoder (tests and tooling)

def varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative ints as two's complement, 10 bytes, as Go writes int32/int64
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def field_varint(number: int, value: int) -> bytes:
    return tag(number, VARINT) + varint(value)


def field_bytes(number: int, value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return tag(number, BYTES) + varint(len(raw)) + raw
