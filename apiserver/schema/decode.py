"""What the real apiserver's JSON decoder says about a built-in object: unknown fields and wrong JSON types.

The real server decodes a body into Go structs with sigs.k8s.io/json (Go's encoding/json, case-sensitive). Two
kinds of complaint come out, and this module reproduces both from the type table (``types``):

- **Strict errors** (``unknown_fields``): every field the Go struct lacks, named by its full path with list indices
  (``spec.template.spec.containers[0].imagex``) and map keys as dotted parts; at most 100, deduplicated. Values that
  Go keeps as raw JSON (RawExtension, FieldsV1, apiextensions JSON) and schemas marked
  ``x-kubernetes-preserve-unknown-fields`` are not looked into. ``duplicate_fields`` finds repeated keys in the raw
  JSON body (``duplicate field "<path>"``), which a parsed dict can no longer show.
- **Type errors** (``type_errors``): Go keeps only the *first* mismatch in document order
  (``json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32``: the innermost
  struct's Go name, the JSON path *without* indices or map keys, the target's Go type as reflect prints it), except
  that a type with its own unmarshaller (IntOrString, Time, MicroTime, Quantity) aborts decoding at once, so its
  error wins over an earlier mismatch. ``null`` is accepted everywhere. Byte fields must hold standard base64 and
  fail as Go's decoder does (``illegal base64 data at input byte 4``, no field context).

The real apiserver wraps either message as ``<Kind> in version "<v>" cannot be handled as a <Kind>: <detail>`` (strict
ones as ``strict decoding error: unknown field "a", duplicate field "b"``): ``cannot_handle`` and
``strict_error_message`` build those 400 messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from apiserver.schema import types
from apiserver.schema.types import Schema, ref_name, short_name
from kemu.api.quantity import QuantityError, parse_quantity

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
INTSTR = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIME = META + "Time"
MICROTIME = META + "MicroTime"
# Types Go keeps as raw JSON: anything decodes, nothing inside is checked.
RAW = frozenset({
    "io.k8s.apimachinery.pkg.runtime.RawExtension", META + "FieldsV1", META + "Patch",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
})
MAX_STRICT_ERRORS = 100
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def unknown_fields(group: str, version: str, kind: str, obj: dict[str, Any]) -> list[str]:
    """Paths of fields the built-in kind's Go types don't have ([] for unknown kinds)."""
    name = types.definition_name(group, version, kind)
    if name is None or not isinstance(obj, dict):
        return []
    out: list[str] = []
    _unknown({"$ref": name}, obj, "", out)
    return list(dict.fromkeys(out))[:MAX_STRICT_ERRORS]


def unknown_fields_of(defname: str, value: Any, path: str = "") -> list[str]:
    """``unknown_fields`` for any definition (e.g. ObjectMeta under a custom resource's metadata)."""
    out: list[str] = []
    _unknown({"$ref": defname}, value, path, out)
    return list(dict.fromkeys(out))[:MAX_STRICT_ERRORS]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _unknown(schema: Schema, value: Any, path: str, out: list[str]) -> None:
    if value is None or len(out) >= MAX_STRICT_ERRORS:
        return
    name = ref_name(schema)
    if name is not None:
        if name in RAW or name in (INTSTR, QUANTITY, TIME, MICROTIME):
            return
        schema = types.definition(name) or {}
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is not None:
            for k, v in value.items():
                if k in props:
                    _unknown(props[k], v, _join(path, k), out)
                else:
                    out.append(_join(path, k))
        elif isinstance(extra, dict):
            for k, v in value.items():
                _unknown(extra, v, _join(path, k), out)
    elif isinstance(value, list) and schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _unknown(schema["items"], item, f"{path}[{i}]", out)


def duplicate_fields(raw: bytes | str) -> list[str]:
    """Paths of keys repeated within one JSON object (``duplicate field "<path>"`` under strict validation), in
    document order; [] for input that isn't JSON (the body decoder reports that). Python's JSON decoding keeps the
    last value silently, so this looks at the raw body."""
    try:
        tree = json.loads(raw, object_pairs_hook=_Pairs)
    except ValueError:
        return []
    out: list[str] = []
    _dups(tree, "", out)
    return list(dict.fromkeys(out))[:MAX_STRICT_ERRORS]


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key-value pairs, duplicates kept."""


def _dups(node: Any, path: str, out: list[str]) -> None:
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for k, v in node:
            if k in seen:
                out.append(_join(path, k))
            seen.add(k)
            _dups(v, _join(path, k), out)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _dups(item, f"{path}[{i}]", out)


def strict_error_message(kind: str, version: str, unknown: Sequence[str], duplicates: Sequence[str] = ()) -> str:
    """The 400 message of a strict decoding failure, as the real apiserver words a create/update body's."""
    errs = [f'unknown field "{p}"' for p in unknown] + [f'duplicate field "{p}"' for p in duplicates]
    return cannot_handle(kind, version, "strict decoding error: " + ", ".join(errs))


def cannot_handle(kind: str, version: str, detail: str) -> str:
    """The real decoder's wrapping of a body it cannot decode (type errors, strict errors, bad quantities)."""
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {detail}'


# --- type errors ------------------------------------------------------------------------------------------------
class _Abort(Exception):
    """A custom unmarshaller failed: decoding stops with this message."""


class _Decoder:
    def __init__(self) -> None:
        self.saved: str | None = None

    def save(self, msg: str) -> None:
        if self.saved is None:
            self.saved = msg

    # ``chain`` holds the Go type names known from the table (None: derive them from the schema, which is only
    # done when a message needs them -- the common, error-free path never builds one).
    def decode(self, schema: Schema, value: Any, struct: str, stack: list[str], chain: list[str] | None) -> None:
        if value is None:
            return
        name = ref_name(schema)
        if name is not None:
            self._named(name, value, struct, stack, chain)
            return
        t = schema.get("type")
        if t == "array":
            if isinstance(value, list):
                items = schema.get("items") or {}
                sub = chain[1:] if chain else None
                for item in value:
                    self.decode(items, item, struct, stack, sub)
            else:
                self._mismatch(value, schema, chain, struct, stack)
        elif t == "object":
            if not isinstance(value, dict):
                self._mismatch(value, schema, chain, struct, stack)
                return
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                sub = chain[1:] if chain else None
                for v in value.values():
                    self.decode(extra, v, struct, stack, sub)
        elif t == "string":
            if schema.get("format") == "byte" and isinstance(value, str):
                err = base64_error(value)
                if err:
                    self.save(err)
            elif not isinstance(value, str):
                self._mismatch(value, schema, chain, struct, stack)
        elif t == "integer":
            lo, hi = INT_RANGES.get(schema.get("format", ""), INT_RANGES["int64"])
            if isinstance(value, bool) or not isinstance(value, int | float):
                self._mismatch(value, schema, chain, struct, stack)
            elif isinstance(value, float) or not lo <= value <= hi:
                self._mismatch(value, schema, chain, struct, stack, number=True)
        elif t == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                self._mismatch(value, schema, chain, struct, stack)
        elif t == "boolean" and not isinstance(value, bool):
            self._mismatch(value, schema, chain, struct, stack)

    def _mismatch(self, value: Any, schema: Schema, chain: list[str] | None, struct: str, stack: list[str],
                  number: bool = False) -> None:
        if self.saved is None:
            go_type = (chain or implied_chain(schema))[0]
            self.saved = _mismatch(value, go_type, struct, stack, number)

    def _named(self, name: str, value: Any, struct: str, stack: list[str], chain: list[str] | None) -> None:
        if name in RAW:
            return
        if name == INTSTR:
            if isinstance(value, str):
                return
            if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
                raise _Abort(_mismatch(value, "int32", struct, stack, number=True))
            return
        if name == QUANTITY:
            raw = value if isinstance(value, str) else json.dumps(value) if isinstance(value, int | float) else "x"
            try:
                parse_quantity(raw.strip() if isinstance(value, str) else raw)
            except QuantityError as e:
                raise _Abort(str(e)) from None
            return
        if name in (TIME, MICROTIME):
            if not isinstance(value, str):
                raise _Abort(_mismatch(value, "string", struct, stack))
            err = rfc3339_error(value, micro=name == MICROTIME)
            if err:
                raise _Abort(err)
            return
        d = types.definition(name) or {}
        props = d.get("properties")
        if props is None:
            self.decode(d, value, struct, stack, chain)
            return
        if not isinstance(value, dict):
            self._mismatch(value, {"$ref": name}, chain, struct, stack)
            return
        own = short_name(name)
        for k, v in value.items():
            p = props.get(k)
            if p is not None:
                self.decode(p, v, own, [*stack, k], types.go_chain(name, k))


def type_errors(group: str, version: str, kind: str, obj: dict[str, Any]) -> list[str]:
    """The decoder's complaint about wrong JSON types in a built-in object, as a one-element list ([] if none)."""
    name = types.definition_name(group, version, kind)
    if name is None or not isinstance(obj, dict):
        return []
    return type_errors_of(name, obj)


def type_errors_of(defname: str, value: Any) -> list[str]:
    dec = _Decoder()
    try:
        dec.decode({"$ref": defname}, value, "", [], None)
    except _Abort as e:
        return [str(e)]
    return [dec.saved] if dec.saved else []


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _mismatch(value: Any, go_type: str, struct: str, stack: list[str], number: bool = False) -> str:
    what = json_kind(value)
    if number and what == "number":
        what = "number " + json.dumps(value)
    if struct or stack:
        return f"json: cannot unmarshal {what} into Go struct field {struct}.{'.'.join(stack)} of type {go_type}"
    return f"json: cannot unmarshal {what} into Go value of type {go_type}"


def implied_chain(schema: Schema) -> list[str]:
    """The Go type names an OpenAPI schema implies: the type, then its elements one level down."""
    name = ref_name(schema)
    if name is not None:
        parts = name.split(".")
        return [f"{parts[-2]}.{parts[-1]}"]
    t = schema.get("type")
    fmt = schema.get("format")
    if t == "array":
        inner = implied_chain(schema.get("items") or {})
        return ["[]" + inner[0], *inner]
    if t == "object" and isinstance(schema.get("additionalProperties"), dict):
        inner = implied_chain(schema["additionalProperties"])
        return ["map[string]" + inner[0], *inner]
    if t == "object":
        return ["map[string]interface {}"]
    if t == "string":
        return ["[]uint8"] if fmt == "byte" else ["string"]
    if t == "integer":
        return [fmt if fmt in ("int32", "int64") else "int"]
    if t == "boolean":
        return ["bool"]
    if t == "number":
        return ["float64"]
    return ["interface {}"]


# --- Go's standard base64 decoder and RFC 3339 parser, for their error messages --------------------------------
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def base64_error(s: str) -> str | None:
    """Go's base64.StdEncoding.Decode error for ``s`` (newlines skipped, padding required), or None."""
    src = s.encode()
    si = 0
    n = len(src)
    while True:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return _corrupt(si - j)
            c = src[si]
            si += 1
            if c in _B64:
                j += 1
                continue
            if c in (0x0A, 0x0D):
                continue
            if c != 0x3D or j in (0, 1):     # not '=', or padding too early
                return _corrupt(si - 1)
            if j == 2:                        # "==" expected; the first '=' is consumed
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    return _corrupt(n)
                if src[si] != 0x3D:
                    return _corrupt(si - 1)
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            return _corrupt(si) if si < n else None


def _corrupt(at: int) -> str:
    return f"illegal base64 data at input byte {at}"


RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
_LAYOUT = (("", "2006", 4), ("-", "01", 2), ("-", "02", 2), ("T", "15", 2), (":", "04", 2), (":", "05", 2))
_RANGES = {"01": (1, 12, "month"), "02": (1, 31, "day"), "15": (0, 23, "hour"), "04": (0, 59, "minute"),
           "05": (0, 59, "second")}
_TZ = re.compile(r"Z|[+-]\d\d:\d\d")


def rfc3339_error(value: str, micro: bool = False) -> str | None:
    """Go's time.Parse error for an RFC 3339 timestamp (metav1.Time; MicroTime names its own layout), or None."""
    layout = RFC3339_MICRO if micro else RFC3339
    q = json.dumps
    rest = value
    head = f"parsing time {q(value)} as {q(layout)}: cannot parse "
    nums: dict[str, int] = {}
    for lit, elem, width in _LAYOUT:
        if not rest.startswith(lit):
            return f"{head}{q(rest)} as {q(lit)}"
        rest = rest[len(lit):]
        digits = rest[:width]
        if len(digits) < width or not digits.isdigit():
            return f"{head}{q(rest)} as {q(elem)}"
        nums[elem] = int(digits)
        rest = rest[width:]
    if micro:
        # the layout's ".000000" wants exactly that many digits
        if rest[:1] not in (".", ",") or len(rest) < 7 or not rest[1:7].isdigit():
            return f"{head}{q(rest)} as {q('.000000')}"
        rest = rest[7:]
    elif rest[:1] in (".", ",") and rest[1:2].isdigit():
        k = 1
        while rest[k:k + 1].isdigit():
            k += 1
        rest = rest[k:]
    m = _TZ.match(rest)
    if not m:
        return f"{head}{q(rest)} as {q('Z07:00')}"
    if rest[m.end():]:
        return f"parsing time {q(value)}: extra text: {q(rest[m.end():])}"
    for elem, (lo, hi, what) in _RANGES.items():
        if not lo <= nums[elem] <= hi:
            return f"parsing time {q(value)}: {what} out of range"
    return None
