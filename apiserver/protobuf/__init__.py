"""Decode Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into JSON-shaped dicts.

kubectl's typed clients (1.32) send create bodies as protobuf and accept JSON back, so the apiserver only has to
decode: `decode(raw)` turns the HTTP body into exactly the dict the same object would be as JSON (what Go's
encoding/json prints for it), so the rest of the server treats both encodings alike.

Body layout: the 4-byte magic b"k8s\\x00", then a runtime.Unknown message {typeMeta=1 {apiVersion=1, kind=2},
raw=2, contentEncoding=3, contentType=4}; `raw` is the object's own message, named by apiVersion + kind. Field
tables are generated from k8s.io/api and k8s.io/apimachinery (tools/gen_k8s_proto_table.py -> _table.py); the
JSON rules live in jsonform.py. Errors are ProtobufError (a ValueError) worded like the Go decoder's; the caller
returns them as 400 BadRequest.

What kubectl 1.32 sends as protobuf (measured): POST bodies of the typed `create <kind>` generators, `autoscale`,
`create job --from`, `create token` (TokenRequest), `auth can-i` (SelfSubjectAccessReview), and DELETE bodies of
`drain --disable-eviction` (DeleteOptions with apiVersion "v1": the option kinds decode under every group
version, as metav1.AddToGroupVersion registers them). Patches, `create/apply -f`, `run`, `expose`, plain
`delete` and the drain Eviction POST are JSON.
"""

from __future__ import annotations

from typing import Any

from apiserver.protobuf import _table, wire
from apiserver.protobuf.errors import ProtobufError
from apiserver.protobuf.jsonform import Decoder

__all__ = ["MAGIC", "MEDIA_TYPE", "ProtobufError", "decode", "message_for"]

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

# The scheme name kube-apiserver's errors carry for built-in kinds.
SCHEME = "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"
META_PACKAGE = "k8s.io.apimachinery.pkg.apis.meta.v1"
# metav1.AddToGroupVersion registers these option kinds in every group version.
_META_IN_EVERY_VERSION = ("DeleteOptions", "ListOptions", "GetOptions", "CreateOptions", "UpdateOptions",
                          "PatchOptions", "WatchEvent")


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def message_for(api_version: str, kind: str) -> str | None:
    """The fully qualified protobuf message of an API kind, or None when this table has no such kind."""
    package = _table.GROUP_VERSIONS.get(api_version)
    if package is None:
        return None
    name = f"{package}.{kind}"
    if name in _table.KINDS:
        return name
    if kind in _META_IN_EVERY_VERSION:
        return f"{META_PACKAGE}.{kind}"
    return None


def _string(fields: wire.Fields, number: int, name: str) -> str:
    if number not in fields:
        return ""
    wire_type, value = fields[number][-1]
    if wire_type != wire.BYTES:
        raise ProtobufError(f"proto: wrong wireType = {wire_type} for field {name}")
    assert isinstance(value, bytes)
    return value.decode("utf-8", errors="replace")


def decode(raw: bytes) -> dict[str, Any]:
    """The HTTP body of a protobuf request -> the object as a JSON-shaped dict ({"apiVersion", "kind", ...})."""
    return _decode(raw, Decoder(_decode))


def _decode(raw: bytes, decoder: Decoder) -> dict[str, Any]:
    if not raw:
        raise ProtobufError("empty data")
    if not raw.startswith(MAGIC):
        raise ProtobufError("provided data does not appear to be a protobuf message, expected prefix "
                            "[" + " ".join(str(b) for b in MAGIC) + "]")
    if len(raw) == len(MAGIC):
        raise ProtobufError("empty body")
    unknown = wire.parse(raw[len(MAGIC):], "Unknown")
    type_meta: wire.Fields = {}
    if 1 in unknown:
        parts = []
        for wire_type, value in unknown[1]:
            if wire_type != wire.BYTES:
                raise ProtobufError(f"proto: wrong wireType = {wire_type} for field TypeMeta")
            assert isinstance(value, bytes)
            parts.append(value)
        type_meta = wire.parse(b"".join(parts), "TypeMeta")
    api_version = _string(type_meta, 1, "APIVersion")
    kind = _string(type_meta, 2, "Kind")
    body = b""
    if 2 in unknown:
        wire_type, value = unknown[2][-1]
        if wire_type != wire.BYTES:
            raise ProtobufError(f"proto: wrong wireType = {wire_type} for field Raw")
        assert isinstance(value, bytes)
        body = value
    described = f"runtime.TypeMeta{{APIVersion:{_go_quote(api_version)}, Kind:{_go_quote(kind)}}}"
    if not kind:
        raise ProtobufError(f"Object 'Kind' is missing in '{described}'")
    if not api_version:
        raise ProtobufError(f"Object 'apiVersion' is missing in '{described}'")
    message = message_for(api_version, kind)
    if message is None:
        raise ProtobufError(f"no kind {_go_quote(kind)} is registered for version {_go_quote(api_version)} "
                            f"in scheme {_go_quote(SCHEME)}")
    obj = decoder.message(message, body)
    assert isinstance(obj, dict)
    return {"kind": kind, "apiVersion": api_version, **obj}
