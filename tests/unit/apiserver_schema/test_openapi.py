"""OpenAPI documents: index hashes, every resource's operations with GVK extensions, resolvable $refs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apiserver import schema
from apiserver.resources import BUILTIN

pytestmark = pytest.mark.unit

RESOURCES: list[dict[str, Any]] = [dict(r.descriptor()) for r in BUILTIN]
GVS: list[tuple[str, str]] = sorted({(str(r["group"]), str(r["version"])) for r in RESOURCES})


def _refs(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            out.append(node["$ref"])
        for v in node.values():
            out.extend(_refs(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(_refs(v))
    return out


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolvable {ref}"
        node = node[part]
    return node


def _ops(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, item in doc["paths"].items() for m, op in item.items() if m != "parameters"]


def test_index_lists_every_group_version_with_a_stable_hash() -> None:
    a = schema.openapi_v3_index(GVS)
    b = schema.openapi_v3_index(list(reversed(GVS)))
    assert a == b
    assert set(a["paths"]) == {f"apis/{g}/{v}" if g else f"api/{v}" for g, v in GVS}
    url = a["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=") and len(url.split("=")[1]) == 128
    assert a["paths"]["api/v1"]["serverRelativeURL"] != url
    changed = schema.openapi_v3_index(GVS, {("apps", "v1"): "rv-7"})
    assert changed["paths"]["apis/apps/v1"] != a["paths"]["apis/apps/v1"]
    assert changed["paths"]["api/v1"] == a["paths"]["api/v1"]


@pytest.mark.parametrize("group, version", GVS)
def test_v3_document_covers_resources_and_resolves(group: str, version: str) -> None:
    doc = schema.openapi_v3_document(group, version, RESOURCES)
    json.dumps(doc)
    assert doc["openapi"] == "3.0.0"
    for ref in _refs(doc):
        _resolve(doc, ref)
    ops = _ops(doc)
    root = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for r in RESOURCES:
        if (r["group"], r["version"]) != (group, version):
            continue
        scope = f"{root}/namespaces/{{namespace}}" if r["namespaced"] else root
        gvk = {"group": group, "version": version, "kind": r["kind"]}
        mine = {(p, m): op for p, m, op in ops if op.get("x-kubernetes-group-version-kind") == gvk}
        assert (f"{scope}/{r['resource']}/{{name}}", "patch") in mine or "patch" not in r["verbs"], r
        if "patch" in r["verbs"]:
            patch = mine[(f"{scope}/{r['resource']}/{{name}}", "patch")]
            names = {p["name"] for p in patch["parameters"]}
            assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= names
            assert patch["x-kubernetes-action"] == "patch"
        if "create" in r["verbs"]:
            post = mine[(f"{scope}/{r['resource']}", "post")]
            assert "fieldValidation" in {p["name"] for p in post["parameters"]}
        if "list" in r["verbs"]:
            assert mine[(f"{scope}/{r['resource']}", "get")]["x-kubernetes-action"] == "list"
        if "watch" in r["verbs"]:
            assert (f"{root}/watch/" + (f"namespaces/{{namespace}}/{r['resource']}" if r["namespaced"]
                                        else r["resource"]), "get") in mine
        # kubectl explain finds the kind's schema by its GVK extension
        defname = schema.definition_name(group, version, r["kind"])
        if defname:
            s = doc["components"]["schemas"][defname]
            assert {"group": group, "version": version, "kind": r["kind"]} in s["x-kubernetes-group-version-kind"]
            assert s["description"]
        if "status" in r["subresources"]:
            assert (f"{scope}/{r['resource']}/{{name}}/status", "put") in mine
    for _p, _m, op in ops:
        assert "x-kubernetes-action" in op or op["operationId"].endswith("APIResources")


def test_v3_schemas_keep_patch_facts_and_wrap_refs() -> None:
    doc = schema.openapi_v3_document("apps", "v1", RESOURCES)
    s = doc["components"]["schemas"]
    containers = s["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["items"] == {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]}
    spec = s["io.k8s.api.apps.v1.DeploymentSpec"]
    replicas = spec["properties"]["replicas"]
    assert (replicas["type"], replicas["format"]) == ("integer", "int32")
    assert replicas["description"].startswith("Number of desired pods")
    assert spec["required"] == ["selector", "template"]
    assert spec["properties"]["strategy"]["x-kubernetes-patch-strategy"] == "retainKeys"
    assert s["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert s["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"] == "date-time"
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "kind": "Scale", "version": "v1"}


def test_secret_data_is_bytes() -> None:
    doc = schema.openapi_v3_document("", "v1", RESOURCES)
    data = doc["components"]["schemas"]["io.k8s.api.core.v1.Secret"]["properties"]["data"]
    assert data["additionalProperties"] == {"type": "string", "format": "byte"}
    assert "/api/v1/namespaces/{namespace}/pods/{name}/log" in doc["paths"]
    assert doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"]["x-kubernetes-action"] == \
        "connect"


def test_v2_document_resolves() -> None:
    doc = schema.openapi_v2_document(RESOURCES)
    assert doc["swagger"] == "2.0"
    for ref in set(_refs(doc)):
        _resolve(doc, ref)
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert {p["name"] for p in patch["parameters"]} >= {"body", "fieldValidation", "force"}
    assert "application/strategic-merge-patch+json" in patch["consumes"]


def test_crd_document() -> None:
    crd = {"spec": {"group": "stable.example.com", "scope": "Namespaced",
                    "names": {"plural": "crontabs", "kind": "CronTab", "listKind": "CronTabList"},
                    "versions": [{"name": "v1", "served": True, "subresources": {"status": {}, "scale": {}},
                                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                      "spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}}}}}}]}}
    other = {"spec": {"group": "stable.example.com", "scope": "Cluster",
                      "names": {"plural": "widgets", "kind": "Widget"},
                      "versions": [{"name": "v1", "served": True}]}}
    doc = schema.crd_openapi_document([crd, other], "v1")
    for ref in _refs(doc):
        _resolve(doc, ref)
    s = doc["components"]["schemas"]
    kind = s["com.example.stable.v1.CronTab"]
    assert kind["x-kubernetes-group-version-kind"] == [{"group": "stable.example.com", "kind": "CronTab",
                                                        "version": "v1"}]
    assert set(kind["properties"]) == {"apiVersion", "kind", "metadata", "spec"}
    assert s["com.example.stable.v1.CronTabList"]["x-kubernetes-group-version-kind"][0]["kind"] == "CronTabList"
    assert "com.example.stable.v1.Widget" in s and "com.example.stable.v1.WidgetList" in s
    paths = doc["paths"]
    patch = paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    assert "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale" in paths
    assert "/apis/stable.example.com/v1/widgets/{name}" in paths
    assert schema.crd_openapi_document(crd, "v9")["components"]["schemas"].get("com.example.stable.v9.CronTab") \
        is None


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """A generic protobuf wire-format reader: (field, wire type, value) at one level."""
    out: list[tuple[int, int, Any]] = []
    i = 0

    def varint() -> int:
        nonlocal i
        shift = n = 0
        while True:
            b = buf[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(buf):
        key = varint()
        f, wt = key >> 3, key & 7
        if wt == 0:
            out.append((f, wt, varint()))
        elif wt == 1:
            out.append((f, wt, buf[i:i + 8]))
            i += 8
        else:
            assert wt == 2
            n = varint()
            out.append((f, wt, buf[i:i + n]))
            i += n
    return out


def test_v2_protobuf_structure() -> None:
    apps = [r for r in RESOURCES if r["group"] == "apps"]
    top = _fields(schema.openapi_v2_protobuf(apps))
    assert (1, 2, b"2.0") in top
    paths = dict((f, v) for f, _w, v in top)[8]
    named = {dict((f, v) for f, _w, v in _fields(p))[1].decode(): dict((f, v) for f, _w, v in _fields(p))[2]
             for _f, _w, p in _fields(paths)}
    item = _fields(named["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"])
    patch = next(v for f, _w, v in item if f == 8)          # PathItem.patch
    ext = [v for f, _w, v in _fields(patch) if f == 13]    # Operation.vendor_extension
    decoded = {dict((f, v) for f, _w, v in _fields(e))[1].decode():
               dict((f, v) for f, _w, v in _fields(dict((f, v) for f, _w, v in _fields(e))[2]))[2].decode()
               for e in ext}
    assert json.loads(decoded["x-kubernetes-group-version-kind"]) == {"group": "apps", "kind": "Deployment",
                                                                      "version": "v1"}
    params = [v for f, _w, v in _fields(patch) if f == 8]
    assert any(b"fieldValidation" in p for p in params)
    defs = dict((f, v) for f, _w, v in top)[9]
    names = {dict((f, v) for f, _w, v in _fields(d))[1].decode() for _f, _w, d in _fields(defs)}
    assert "io.k8s.api.apps.v1.Deployment" in names and len(names) == len(schema.openapi_v2_document(apps)[
        "definitions"])


def test_description_table_names_real_fields() -> None:
    from apiserver.schema import types
    from apiserver.schema.descriptions import TYPE_FIELDS
    for short, fields in TYPE_FIELDS.items():
        names = [n for n in types.definitions() if n.rsplit(".", 1)[-1] == short and ".v1." in n]
        assert names, short
        for n in names:
            assert set(fields) <= set(types.definitions()[n].get("properties") or {}), (n, set(fields))


def test_v2_response_negotiates() -> None:
    body, ctype = schema.openapi_v2_response(schema.OPENAPI_V2_PROTOBUF_ACCEPT, RESOURCES)
    assert ctype == schema.OPENAPI_V2_PROTOBUF and "@" not in ctype and body[:1] == b"\x0a"
    body, ctype = schema.openapi_v2_response("application/json", RESOURCES)
    assert ctype == "application/json" and json.loads(body)["swagger"] == "2.0"
    assert schema.openapi_v2_response(None, RESOURCES)[1] == "application/json"
