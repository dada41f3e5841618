"""One Kubernetes protobuf message -> the JSON value Go's encoding/json would print for the decoded Go object.

The field table (_table.MESSAGES, generated from k8s.io/api + apimachinery) gives every field's number, JSON name,
protobuf type and Go facts; the rules below are Go's (encoding/json over the gogo-decoded struct):

- A Go pointer field (flag p) is set exactly when it is on the wire, so a present zero (`replicas: 0`, `""`) is
  kept and an absent one is left out.
- A Go value field (no p) always exists: absent on the wire it is the zero value. `omitempty` (flag o) drops
  zero scalars and empty slices/maps; without it the zero is printed (`""`, `0`, `false`, and `null` for a nil
  slice or map). Structs are never "empty" for omitempty, so a value struct is always printed (`"resources": {}`).
- Go-embedded structs (flag i) are merged into the parent object.
- Types with their own JSON form: metav1.Time (null when zero, else RFC 3339 seconds), MicroTime (microseconds),
  Duration (Go duration string), resource.Quantity (its string; "0" when zero), intstr.IntOrString (int or
  string), runtime.RawExtension and metav1.FieldsV1 (the embedded JSON, null when empty), `bytes` (base64), and
  Go slice types wrapped as messages (SLICE_MESSAGES, a JSON array of `items`).
Fields missing from the table are skipped, as the Go unmarshaller skips unknown fields.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Callable
from typing import Any

import orjson

from apiserver.protobuf import _table, gotext, wire
from apiserver.protobuf.errors import ProtobufError

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
DURATION = f"{META}.Duration"
FIELDS_V1 = f"{META}.FieldsV1"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"

# Go's resource.ParseQuantity accepts only this shape (its error names the same expression).
_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_INT_TYPES = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32",
              "sfixed64"}
_VARINT_TYPES = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool"}
_FIXED32_TYPES = {"fixed32", "sfixed32", "float"}
_FIXED64_TYPES = {"fixed64", "sfixed64", "double"}

# Bound nesting as the Go decoder's stack effectively does; a hostile body cannot recurse without limit.
MAX_DEPTH = 100


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _scalar(typ: str, wire_type: int, value: int | bytes, label: str) -> Any:
    """One wire value as the Go scalar of protobuf type `typ` (bytes stay bytes; base64 is applied later);
    `label` is the Go field name errors use."""
    expected = (wire.BYTES if typ in ("string", "bytes") else wire.VARINT if typ in _VARINT_TYPES
                else wire.FIXED32 if typ in _FIXED32_TYPES else wire.FIXED64)
    if wire_type != expected:
        raise ProtobufError(f"proto: wrong wireType = {wire_type} for field {label}")
    if typ == "string":
        assert isinstance(value, bytes)
        return value.decode("utf-8", errors="replace")
    if typ == "bytes":
        return value
    assert isinstance(value, int)
    if typ == "bool":
        return value != 0
    if typ in ("int32", "sfixed32"):
        return _signed(value, 32)
    if typ in ("int64", "sfixed64"):
        return _signed(value, 64)
    if typ in ("uint32", "fixed32"):
        return value & _MASK32
    if typ in ("uint64", "fixed64"):
        return value & _MASK64
    if typ in ("sint32", "sint64"):
        return (value >> 1) ^ -(value & 1)
    if typ == "double":
        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    if typ == "float":
        return struct.unpack("<f", value.to_bytes(4, "little"))[0]
    raise ProtobufError(f"proto: unsupported scalar type {typ}")  # a generator bug, not client input


def go_field_name(message: str, number: int, json_name: str) -> str:
    """The Go field name gogo's errors print: from the table where it differs, else the JSON name capitalised."""
    return _table.GO_NAMES.get((message, number)) or json_name[:1].upper() + json_name[1:]


def _zero(typ: str) -> Any:
    if typ == "string":
        return ""
    if typ == "bool":
        return False
    if typ in ("double", "float"):
        return 0.0
    return 0


def _repeated_scalars(typ: str, values: list[tuple[int, int | bytes]], label: str) -> list[Any]:
    out: list[Any] = []
    for wire_type, value in values:
        if wire_type == wire.BYTES and typ not in ("string", "bytes"):
            # Packed encoding of a repeated number: Go's decoders accept both forms.
            assert isinstance(value, bytes)
            if typ in _FIXED32_TYPES:
                items, item_wire = wire.packed_fixed(value, 4), wire.FIXED32
            elif typ in _FIXED64_TYPES:
                items, item_wire = wire.packed_fixed(value, 8), wire.FIXED64
            else:
                items, item_wire = wire.packed_varints(value), wire.VARINT
            out.extend(_scalar(typ, item_wire, v, label) for v in items)
        else:
            out.append(_scalar(typ, wire_type, value, label))
    return out


def _json_scalar(typ: str, value: Any) -> Any:
    if typ == "bytes":
        return base64.b64encode(value).decode("ascii")
    return value


def _message_bytes(values: list[tuple[int, int | bytes]], label: str) -> bytes:
    """A non-repeated message field: Go merges repeated occurrences, which equals concatenating them."""
    parts = []
    for wire_type, value in values:
        if wire_type != wire.BYTES:
            raise ProtobufError(f"proto: wrong wireType = {wire_type} for field {label}")
        assert isinstance(value, bytes)
        parts.append(value)
    return b"".join(parts)


class Decoder:
    """Converts messages by fully qualified name; `embedded(raw, decoder)` decodes a nested `k8s\\x00` body
    (RawExtension) with the same decoder, so nesting depth is counted across embedded objects too."""

    def __init__(self, embedded: Callable[[bytes, Decoder], Any]) -> None:
        self._embedded = embedded
        self._depth = 0

    def message(self, typ: str, data: bytes) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ProtobufError("proto: message nesting exceeds the maximum depth")
            special = _SPECIAL.get(typ)
            if special is not None:
                return special(self, data)
            if typ in _table.SLICE_MESSAGES:
                return self._slice(typ, data)
            return self._struct(typ, data)
        finally:
            self._depth -= 1

    def _struct(self, typ: str, data: bytes) -> dict[str, Any]:
        spec = _table.MESSAGES.get(typ)
        if spec is None:
            raise ProtobufError(f"proto: no message type {typ} is known")  # generator bug guard
        fields = wire.parse(data, typ)
        out: dict[str, Any] = {}
        for number, name, ftype, flags in spec:
            present = fields.get(number)
            label = go_field_name(typ, number, name)
            if ftype.startswith("map:"):
                self._map_field(out, name, label, ftype, flags, present or [])
            elif "r" in flags:
                self._repeated_field(out, name, label, ftype, flags, present or [])
            elif ftype in _INT_TYPES or ftype in ("string", "bytes", "bool", "double", "float"):
                self._scalar_field(out, name, label, ftype, flags, present)
            else:
                self._message_field(out, name, label, ftype, flags, present)
        return out

    def _scalar_field(self, out: dict[str, Any], name: str, label: str, ftype: str, flags: str,
                      present: list[tuple[int, int | bytes]] | None) -> None:
        if present is None:
            if "p" in flags or ftype == "bytes":  # nil pointer / nil []byte
                if "o" not in flags:
                    out[name] = None
                return
            value = _zero(ftype)
        else:
            wire_type, raw = present[-1]  # last one wins, as in Go
            value = _scalar(ftype, wire_type, raw, label)
        if "o" in flags and "p" not in flags and not value:
            return  # omitempty on a zero value (or an empty []byte)
        out[name] = _json_scalar(ftype, value)

    def _repeated_field(self, out: dict[str, Any], name: str, label: str, ftype: str, flags: str,
                        present: list[tuple[int, int | bytes]]) -> None:
        if not present:
            if "o" not in flags:
                out[name] = None  # nil slice
            return
        if ftype in _INT_TYPES or ftype in ("string", "bytes", "bool", "double", "float"):
            out[name] = [_json_scalar(ftype, v) for v in _repeated_scalars(ftype, present, label)]
            return
        items = []
        for wire_type, raw in present:
            if wire_type != wire.BYTES:
                raise ProtobufError(f"proto: wrong wireType = {wire_type} for field {label}")
            assert isinstance(raw, bytes)
            items.append(self.message(ftype, raw))
        out[name] = items

    def _map_field(self, out: dict[str, Any], name: str, label: str, ftype: str, flags: str,
                   present: list[tuple[int, int | bytes]]) -> None:
        if not present:
            if "o" not in flags:
                out[name] = None  # nil map
            return
        _, key_type, value_type = ftype.split(":", 2)
        value_is_scalar = value_type in _INT_TYPES or value_type in ("string", "bytes", "bool", "double", "float")
        result: dict[str, Any] = {}
        for wire_type, raw in present:
            if wire_type != wire.BYTES:
                raise ProtobufError(f"proto: wrong wireType = {wire_type} for field {label}")
            assert isinstance(raw, bytes)
            entry = wire.parse(raw, "MapEntry")
            key: Any = _zero(key_type)
            if 1 in entry:
                key = _scalar(key_type, *entry[1][-1], label)
            value: Any
            if value_is_scalar:
                value = _zero(value_type) if value_type != "bytes" else b""
                if 2 in entry:
                    value = _scalar(value_type, *entry[2][-1], label)
                value = _json_scalar(value_type, value)
            else:
                value = self.message(value_type, _message_bytes(entry.get(2, []), label))
            result[key if isinstance(key, str) else str(key)] = value
        out[name] = result

    def _message_field(self, out: dict[str, Any], name: str, label: str, ftype: str, flags: str,
                       present: list[tuple[int, int | bytes]] | None) -> None:
        if present is None and "p" in flags:
            if "o" not in flags and "i" not in flags:
                out[name] = None  # nil pointer
            return
        value = self.message(ftype, _message_bytes(present or [], label))
        if "i" in flags:
            if isinstance(value, dict):
                out.update(value)
            return
        if "o" in flags and isinstance(value, list) and not value:
            return  # a Go slice type under omitempty
        out[name] = value

    def _slice(self, typ: str, data: bytes) -> list[Any]:
        spec = _table.MESSAGES[typ]
        holder: dict[str, Any] = {}
        for number, name, ftype, _flags in spec:
            if number == 1:
                self._repeated_field(holder, name, "Items", ftype, "ro", wire.parse(data, typ).get(1, []))
                return list(holder.get(name) or [])
        return []


# ------------------------------------------------------------------------------------------ special messages

def _int_field(fields: wire.Fields, number: int, typ: str, name: str) -> int:
    if number not in fields:
        return 0
    wire_type, raw = fields[number][-1]
    value = _scalar(typ, wire_type, raw, name)
    assert isinstance(value, int)
    return value


def _bytes_field(fields: wire.Fields, number: int, name: str) -> bytes | None:
    if number not in fields:
        return None
    wire_type, raw = fields[number][-1]  # a repeated bytes field replaces the earlier value in Go
    return bytes(_scalar("bytes", wire_type, raw, name))


def _time(_: Decoder, data: bytes) -> str | None:
    if not data:
        return None  # Go's Time.Unmarshal: no bytes is the zero time, whose JSON is null
    fields = wire.parse(data, "Timestamp")
    # metav1.Time keeps whole seconds only (its Unmarshal drops nanos).
    return gotext.rfc3339(_int_field(fields, 1, "int64", "Seconds"))


def _micro_time(_: Decoder, data: bytes) -> str | None:
    if not data:
        return None
    fields = wire.parse(data, "Timestamp")
    seconds = _int_field(fields, 1, "int64", "Seconds")
    nanos = _int_field(fields, 2, "int32", "Nanos")
    total_us = seconds * 1_000_000 + int(nanos / 1000)  # Duration.Truncate rounds toward zero
    secs, micros = divmod(total_us, 1_000_000)
    return gotext.rfc3339(secs, micros)


def _duration(_: Decoder, data: bytes) -> str:
    return gotext.go_duration(_int_field(wire.parse(data, DURATION), 1, "int64", "Duration"))


def _quantity(_: Decoder, data: bytes) -> str:
    fields = wire.parse(data, QUANTITY)
    if 1 not in fields:
        return "0"  # the zero Quantity
    wire_type, raw = fields[1][-1]
    if wire_type != wire.BYTES:
        raise ProtobufError(f"proto: wrong wireType = {wire_type} for field String_")
    assert isinstance(raw, bytes)
    text = raw.decode("utf-8", errors="replace")
    if not _QUANTITY_RE.match(text):
        raise ProtobufError(QUANTITY_FORMAT_ERROR)
    return text


def _int_or_string(_: Decoder, data: bytes) -> int | str:
    fields = wire.parse(data, INT_OR_STRING)
    if _int_field(fields, 1, "int64", "Type") == 1:
        if 3 not in fields:
            return ""
        value = _scalar("string", *fields[3][-1], "StrVal")
        assert isinstance(value, str)
        return value
    return _int_field(fields, 2, "int32", "IntVal")


def _embedded_json(decoder: Decoder, raw: bytes | None) -> Any:
    if raw is None:
        return None
    if raw.startswith(b"k8s\x00"):
        return decoder._embedded(raw, decoder)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtobufError("unable to decode embedded object: not JSON or Kubernetes protobuf") from None


def _raw_extension(decoder: Decoder, data: bytes) -> Any:
    return _embedded_json(decoder, _bytes_field(wire.parse(data, RAW_EXTENSION), 1, "Raw"))


def _fields_v1(decoder: Decoder, data: bytes) -> Any:
    raw = _bytes_field(wire.parse(data, FIELDS_V1), 1, "Raw")
    return _embedded_json(decoder, raw) if raw else None


_SPECIAL: dict[str, Callable[[Decoder, bytes], Any]] = {
    TIME: _time,
    MICRO_TIME: _micro_time,
    DURATION: _duration,
    QUANTITY: _quantity,
    INT_OR_STRING: _int_or_string,
    RAW_EXTENSION: _raw_extension,
    FIELDS_V1: _fields_v1,
}
