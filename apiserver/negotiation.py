"""Content negotiation: decode request bodies (JSON, YAML, patch types) and choose the response form (object or
Table). Bodies are limited to 3 MiB as kube-apiserver's default; malformed bodies are 400 BadRequest Statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from apiserver import errors, protobuf

MAX_BODY_BYTES = 3 * 1024 * 1024

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply-cbor",
}
TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
DISCOVERY_V2_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
DISCOVERY_V2BETA1_CT = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode_body(raw: bytes, content_type: str | None) -> Any:
    """JSON or YAML (one document) into Python data; errors worded like the real decoder's."""
    mt = media_type(content_type)
    if not raw.strip():
        raise errors.bad_request("Object 'Kind' is missing in ''")
    if mt in ("application/yaml", "application/apply-patch+yaml", "text/yaml"):
        try:
            docs = list(yaml.safe_load_all(raw))
        except yaml.YAMLError as e:
            raise errors.bad_request(f"error converting YAML to JSON: yaml: {_yaml_reason(e)}") from None
        docs = [d for d in docs if d is not None]
        if len(docs) != 1:
            raise errors.bad_request("error converting YAML to JSON: expected exactly one YAML document")
        return docs[0]
    if mt in ("application/json", "", "*/*") or mt in PATCH_TYPES:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise errors.bad_request(f"couldn't get version/kind; json parse error: {e}") from None
    if mt == protobuf.MEDIA_TYPE:
        try:
            return protobuf.decode(raw)
        except protobuf.ProtobufError as e:
            raise errors.bad_request(str(e)) from None
    raise errors.unsupported_media_type(mt)


def _yaml_reason(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)


@dataclass(frozen=True)
class Accept:
    table: bool
    partial_metadata: bool
    json: bool


def parse_accept(header: str | None) -> Accept:
    """The first acceptable form in the client's preference order: Table, PartialObjectMetadata, or plain JSON."""
    if not header:
        return Accept(False, False, True)
    for item in header.split(","):
        parts = [p.strip() for p in item.split(";")]
        mt = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if mt in ("application/json", "*/*", "application/*", "application/yaml"):
            as_ = params.get("as")
            if as_ == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                return Accept(True, False, True)
            if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and params.get("g") == "meta.k8s.io":
                return Accept(False, True, True)
            if as_ is None:
                return Accept(False, False, True)
    if "application/vnd.kubernetes.protobuf" in header:
        return Accept(False, False, True)
    raise errors.not_acceptable()


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)
