"""The swagger 2.0 document in the protobuf form kubectl asks for (``openapi_v2.Document`` of google/gnostic).

kubectl 1.27 and 1.28 fetch ``/openapi/v2`` with ``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf``
to learn whether the server supports ``fieldValidation`` (a query parameter on the kind's PATCH operation) and to
build their client-side schema; without it their ``create``/``apply`` fail with "failed to download openapi".
Newer kubectl read v3 JSON instead, and may still probe v2 (a 404 is fine for them).

The encoder is a small hand-written protobuf writer over the gnostic OpenAPIv2 field numbers: proto3 (defaults are
omitted), vendor extensions and ``default``/``enum`` values as ``Any{yaml}`` whose text is JSON (valid YAML).
"""

from __future__ import annotations

import json
import struct
from typing import Any

# kubectl asks with the '@' form; the response must use the dotted form, since '@' is not a valid media-type
# character for Go's mime parser (the real server's handler answers the same way).
ACCEPT_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


# --- wire format -------------------------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _len(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _str(field: int, s: Any) -> bytes:
    return _len(field, str(s).encode()) if s not in (None, "") else b""


def _bool(field: int, v: Any) -> bytes:
    return _varint(field << 3) + b"\x01" if v else b""


def _int(field: int, v: Any) -> bytes:
    return _varint(field << 3) + _varint(int(v)) if isinstance(v, int) and not isinstance(v, bool) and v else b""


def _double(field: int, v: Any) -> bytes:
    if isinstance(v, int | float) and not isinstance(v, bool) and v:
        return _varint(field << 3 | 1) + struct.pack("<d", float(v))
    return b""


def _any(v: Any) -> bytes:
    return _str(2, json.dumps(v, separators=(",", ":")) + "\n")


def _extensions(field: int, d: dict[str, Any]) -> bytes:
    return b"".join(_len(field, _str(1, k) + _len(2, _any(v))) for k, v in d.items() if k.startswith("x-"))


# --- messages ----------------------------------------------------------------------------------------------------
def _schema(s: dict[str, Any]) -> bytes:
    out = [_str(1, s.get("$ref")), _str(2, s.get("format")), _str(3, s.get("title")), _str(4, s.get("description"))]
    if "default" in s:
        out.append(_len(5, _any(s["default"])))
    out += [_double(6, s.get("multipleOf")), _double(7, s.get("maximum")), _bool(8, s.get("exclusiveMaximum")),
            _double(9, s.get("minimum")), _bool(10, s.get("exclusiveMinimum")), _int(11, s.get("maxLength")),
            _int(12, s.get("minLength")), _str(13, s.get("pattern")), _int(14, s.get("maxItems")),
            _int(15, s.get("minItems")), _bool(16, s.get("uniqueItems")), _int(17, s.get("maxProperties")),
            _int(18, s.get("minProperties"))]
    out += [_str(19, r) for r in s.get("required") or ()]
    out += [_len(20, _any(e)) for e in s.get("enum") or ()]
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        out.append(_len(21, _len(1, _schema(extra))))
    elif isinstance(extra, bool):
        out.append(_len(21, _varint(2 << 3) + (b"\x01" if extra else b"\x00")))
    t = s.get("type")
    if t:
        out.append(_len(22, b"".join(_str(1, x) for x in (t if isinstance(t, list) else [t]))))
    items = s.get("items")
    if isinstance(items, dict):
        out.append(_len(23, _len(1, _schema(items))))
    out += [_len(24, _schema(x)) for x in s.get("allOf") or ()]
    props = s.get("properties")
    if isinstance(props, dict):
        out.append(_len(25, b"".join(_len(1, _str(1, k) + _len(2, _schema(v))) for k, v in props.items())))
    out.append(_extensions(31, s))
    return b"".join(out)


def _parameter(p: dict[str, Any]) -> bytes:
    if p.get("in") == "body":
        body = (_str(1, p.get("description")) + _str(2, p.get("name")) + _str(3, "body") + _bool(4, p.get("required"))
                + _len(5, _schema(p.get("schema") or {})))
        param = _len(1, body)
    elif p.get("in") == "path":
        sub = (_bool(1, p.get("required")) + _str(2, "path") + _str(3, p.get("description")) + _str(4, p.get("name"))
               + _str(5, p.get("type")) + _bool(19, p.get("uniqueItems")))
        param = _len(2, _len(4, sub))
    else:
        sub = (_bool(1, p.get("required")) + _str(2, "query") + _str(3, p.get("description")) + _str(4, p.get("name"))
               + _str(6, p.get("type")) + _bool(20, p.get("uniqueItems")))
        param = _len(2, _len(3, sub))
    return _len(1, param)   # ParametersItem.parameter


def _operation(op: dict[str, Any]) -> bytes:
    out = [_str(1, t) for t in op.get("tags") or ()]
    out += [_str(3, op.get("description")), _str(5, op.get("operationId"))]
    out += [_str(6, x) for x in op.get("produces") or ()]
    out += [_str(7, x) for x in op.get("consumes") or ()]
    out += [_len(8, _parameter(p)) for p in op.get("parameters") or ()]
    codes = b""
    for code, resp in (op.get("responses") or {}).items():
        r = _str(1, resp.get("description"))
        if isinstance(resp.get("schema"), dict):
            r += _len(2, _len(1, _schema(resp["schema"])))
        codes += _len(1, _str(1, code) + _len(2, _len(1, r)))
    out.append(_len(9, codes))
    out += [_str(10, x) for x in op.get("schemes") or ()]
    out.append(_extensions(13, op))
    return b"".join(out)


_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _path_item(item: dict[str, Any]) -> bytes:
    out = [_len(n, _operation(item[m])) for m, n in _METHODS.items() if isinstance(item.get(m), dict)]
    out += [_len(9, _parameter(p)) for p in item.get("parameters") or ()]
    return b"".join(out)


def encode_v2(doc: dict[str, Any]) -> bytes:
    """A swagger 2.0 document (as ``openapi_v2_document`` returns it) as a gnostic ``openapi_v2.Document``."""
    info = doc.get("info") or {}
    out = [_str(1, doc.get("swagger", "2.0")), _len(2, _str(1, info.get("title")) + _str(2, info.get("version")))]
    paths = b"".join(_len(2, _str(1, p) + _len(2, _path_item(item))) for p, item in (doc.get("paths") or {}).items())
    out.append(_len(8, paths))
    defs = b"".join(_len(1, _str(1, n) + _len(2, _schema(s))) for n, s in (doc.get("definitions") or {}).items())
    out.append(_len(9, defs))
    for req in doc.get("security") or ():
        out.append(_len(12, b"".join(_len(1, _str(1, k) + _len(2, b"".join(_str(1, x) for x in v)))
                                     for k, v in req.items())))
    sec = b""
    for name, d in (doc.get("securityDefinitions") or {}).items():
        api_key = _str(1, d.get("type")) + _str(2, d.get("name")) + _str(3, d.get("in")) + _str(4, d.get("description"))
        sec += _len(1, _str(1, name) + _len(2, _len(2, api_key)))
    if sec:
        out.append(_len(13, sec))
    return b"".join(out)
