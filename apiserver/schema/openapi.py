"""OpenAPI documents for kubectl: the v3 index, per group-version v3 documents, a swagger 2.0 document, CRD documents.

Shapes follow what kube-apiserver serves, because kubectl reads them structurally:

- ``GET /openapi/v3`` is an index ``{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=<HEX>"}}}``.
  kubectl caches each document under its URL, so the hash must change whenever the document does: it covers the
  type table, this module's format version and an optional per-group-version fingerprint the caller passes (e.g.
  the resourceVersions of the CRDs behind a group-version).
- A group-version document (openapi 3.0.0) has, per resource and subresource, the operations the real server lists,
  each with ``x-kubernetes-action`` and ``x-kubernetes-group-version-kind``; create/update/patch carry the
  ``fieldValidation``, ``dryRun``, ``fieldManager`` (and for patch ``force``) parameters -- kubectl's server-side
  validation check looks for ``fieldValidation`` on the PATCH operation of the kind. ``components.schemas`` holds
  every type reachable from the served kinds, with references in v3 form (``allOf: [{$ref}]`` under properties and
  items, as the real documents write them) and the x-kubernetes extensions kubectl apply uses for strategic merge
  (patch-merge-key, patch-strategy, list-type, list-map-keys). kubectl explain finds a kind's schema by its
  ``x-kubernetes-group-version-kind`` and follows the references.
- The swagger 2.0 document carries the same operations in v2 form and every built-in definition.
- A CRD document names the custom kind's schema ``<reversed group>.<version>.<Kind>`` (as the real server does),
  adds apiVersion/kind/metadata to the CRD's openAPIV3Schema, a list schema, and the meta types they reference.

Descriptions are our own (``descriptions``), never Kubernetes' texts.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apiserver.schema import types
from apiserver.schema.descriptions import FIELDS, TYPE_FIELDS, kind_description
from apiserver.schema.protov2 import ACCEPT_TYPE, CONTENT_TYPE, encode_v2

FORMAT_VERSION = "kemu-openapi-1"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
JSON_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
STREAM_TYPES = ["application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"]
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
               "application/apply-patch+yaml"]
CR_PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
SCALE = ("autoscaling", "v1", "Scale")
# Subresources whose body/response is another kind: subresource -> (group, version, kind, methods).
SUB_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "scale": ("autoscaling", "v1", "Scale", ("get", "put", "patch")),
    "binding": ("", "v1", "Binding", ("post",)),
    "eviction": ("policy", "v1", "Eviction", ("post",)),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("post",)),
}
CONNECT_KINDS = {("pods", "exec"): "PodExecOptions", ("pods", "attach"): "PodAttachOptions",
                 ("pods", "portforward"): "PodPortForwardOptions", ("pods", "proxy"): "PodProxyOptions",
                 ("services", "proxy"): "ServiceProxyOptions", ("nodes", "proxy"): "NodeProxyOptions"}
CONNECT_METHODS = {"exec": ("get", "post"), "attach": ("get", "post"), "portforward": ("get", "post"),
                   "proxy": ("delete", "get", "head", "options", "patch", "post", "put")}


@dataclass(frozen=True)
class Param:
    name: str
    where: str          # query | path
    type: str           # string | integer | boolean
    description: str
    required: bool = False


P_PRETTY = Param("pretty", "query", "string", "If 'true', the output is indented.")
P_NAMESPACE = Param("namespace", "path", "string", "The namespace of the object.", True)
P_NAME = Param("name", "path", "string", "The name of the object.", True)
P_DRYRUN = Param("dryRun", "query", "string", "If set to All, the request is processed but nothing is persisted.")
P_MANAGER = Param("fieldManager", "query", "string", "The name of the actor making the change (server-side apply).")
P_VALIDATION = Param("fieldValidation", "query", "string",
                     "How to treat unknown or duplicate fields: Ignore, Warn or Strict.")
P_FORCE = Param("force", "query", "boolean", "Apply: take ownership of fields other managers own.")
LIST_PARAMS = (
    Param("allowWatchBookmarks", "query", "boolean", "Watch: also send BOOKMARK events."),
    Param("continue", "query", "string", "The continue token of a previous page."),
    Param("fieldSelector", "query", "string", "Select objects by field values."),
    Param("labelSelector", "query", "string", "Select objects by labels."),
    Param("limit", "query", "integer", "The most objects to return in one page."),
    Param("resourceVersion", "query", "string", "The resource version to read from or watch after."),
    Param("resourceVersionMatch", "query", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    Param("sendInitialEvents", "query", "boolean", "Watch: start with synthetic events for the current objects."),
    Param("timeoutSeconds", "query", "integer", "Time limit of the list or watch call."),
    Param("watch", "query", "boolean", "Watch for changes instead of listing."),
)
DELETE_PARAMS = (
    P_DRYRUN,
    Param("gracePeriodSeconds", "query", "integer", "Seconds before the object is deleted."),
    Param("ignoreStoreReadErrorWithClusterBreakingPotential", "query", "boolean",
          "Delete even when the stored object cannot be read."),
    Param("orphanDependents", "query", "boolean", "Deprecated: use propagationPolicy."),
    Param("propagationPolicy", "query", "string", "Garbage collection of dependents: Orphan, Background or "
          "Foreground."),
)
LOG_PARAMS = (
    Param("container", "query", "string", "The container to read logs of."),
    Param("follow", "query", "boolean", "Stream the log."),
    Param("insecureSkipTLSVerifyBackend", "query", "boolean", "Skip verifying the kubelet's serving certificate."),
    Param("limitBytes", "query", "integer", "The most bytes to return."),
    Param("previous", "query", "boolean", "The log of the previous container instance."),
    Param("sinceSeconds", "query", "integer", "Only lines newer than this many seconds."),
    Param("stream", "query", "string", "Which stream: All, Stdout or Stderr."),
    Param("tailLines", "query", "integer", "Only this many lines from the end."),
    Param("timestamps", "query", "boolean", "Prefix each line with its timestamp."),
)


@dataclass
class Op:
    method: str
    action: str
    op_id: str
    description: str
    gvk: tuple[str, str, str]
    response: str | None               # definition name, or None for plain text
    body: str | None = None            # request definition name
    params: tuple[Param, ...] = ()
    consumes: list[str] = field(default_factory=lambda: ["*/*"])
    produces: list[str] = field(default_factory=lambda: list(JSON_TYPES))
    codes: tuple[str, ...] = ("200",)


@dataclass
class PathItem:
    params: tuple[Param, ...]
    ops: list[Op]


# --- naming ----------------------------------------------------------------------------------------------------
def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def group_tag(group: str) -> str:
    """``apps`` -> apps, ``rbac.authorization.k8s.io`` -> rbacAuthorization, core -> core."""
    if not group:
        return "core"
    parts = [p for p in group.removesuffix(".k8s.io").replace("-", ".").split(".") if p]
    return parts[0] + "".join(_cap(p) for p in parts[1:])


def _gv_id(group: str, version: str) -> str:
    return _cap(group_tag(group)) + _cap(version)


def crd_schema_name(group: str, version: str, kind: str) -> str:
    """How the real server names a custom kind's schema: reversed group, version, kind."""
    return ".".join([*reversed(group.split(".")), version, kind])


# --- operations --------------------------------------------------------------------------------------------------
def _resource_paths(r: Mapping[str, Any], kind_def: str | None, list_def: str | None, crd: bool = False
                    ) -> dict[str, PathItem]:
    group, version, kind, res = r["group"], r["version"], r["kind"], r["resource"]
    namespaced = bool(r.get("namespaced"))
    verbs = set(r.get("verbs") or ())
    gvk = (group, version, kind)
    gv = _gv_id(group, version)
    ns_word = "Namespaced" if namespaced else ""
    root = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    scope = root + "/namespaces/{namespace}" if namespaced else root
    scope_params = (P_NAMESPACE, P_PRETTY) if namespaced else (P_PRETTY,)
    item_params = (P_NAME, *scope_params)
    patch_types = CR_PATCH_TYPES if crd else PATCH_TYPES
    out: dict[str, PathItem] = {}

    coll: list[Op] = []
    if "list" in verbs:
        coll.append(Op("get", "list", f"list{gv}{ns_word}{kind}", f"list or watch objects of kind {kind}", gvk,
                       list_def, params=LIST_PARAMS, produces=JSON_TYPES + STREAM_TYPES))
    if "create" in verbs:
        coll.append(Op("post", "post", f"create{gv}{ns_word}{kind}", f"create a {kind}", gvk, kind_def, kind_def,
                       (P_DRYRUN, P_MANAGER, P_VALIDATION), codes=("200", "201", "202")))
    if "deletecollection" in verbs:
        coll.append(Op("delete", "deletecollection", f"delete{gv}Collection{ns_word}{kind}",
                       f"delete a collection of {kind}", gvk, META + "Status", META + "DeleteOptions",
                       DELETE_PARAMS + tuple(p for p in LIST_PARAMS if p.name not in
                                             ("allowWatchBookmarks", "watch"))))
    if coll:
        out[f"{scope}/{res}"] = PathItem(scope_params, coll)

    item: list[Op] = []
    if "get" in verbs:
        item.append(Op("get", "get", f"read{gv}{ns_word}{kind}", f"read the specified {kind}", gvk, kind_def))
    if "update" in verbs:
        item.append(Op("put", "put", f"replace{gv}{ns_word}{kind}", f"replace the specified {kind}", gvk, kind_def,
                       kind_def, (P_DRYRUN, P_MANAGER, P_VALIDATION), codes=("200", "201")))
    if "patch" in verbs:
        item.append(Op("patch", "patch", f"patch{gv}{ns_word}{kind}", f"partially update the specified {kind}", gvk,
                       kind_def, META + "Patch", (P_DRYRUN, P_MANAGER, P_VALIDATION, P_FORCE),
                       consumes=list(patch_types), codes=("200", "201")))
    if "delete" in verbs:
        item.append(Op("delete", "delete", f"delete{gv}{ns_word}{kind}", f"delete a {kind}", gvk, kind_def,
                       META + "DeleteOptions", DELETE_PARAMS, codes=("200", "202")))
    if item:
        out[f"{scope}/{res}/{{name}}"] = PathItem(item_params, item)

    if "list" in verbs and namespaced:
        out[f"{root}/{res}"] = PathItem((*LIST_PARAMS, P_PRETTY), [
            Op("get", "list", f"list{gv}{kind}ForAllNamespaces", f"list or watch objects of kind {kind}", gvk,
               list_def, produces=JSON_TYPES + STREAM_TYPES)])
    if "watch" in verbs:
        wscope = f"{root}/watch/namespaces/{{namespace}}" if namespaced else f"{root}/watch"
        watch_event = META + "WatchEvent"
        out[f"{wscope}/{res}"] = PathItem((*LIST_PARAMS, *scope_params), [
            Op("get", "watchlist", f"watch{gv}{ns_word}{kind}List", f"watch changes to a list of {kind}", gvk,
               watch_event, produces=JSON_TYPES + STREAM_TYPES)])
        out[f"{wscope}/{res}/{{name}}"] = PathItem((*LIST_PARAMS, *item_params), [
            Op("get", "watch", f"watch{gv}{ns_word}{kind}", f"watch changes to an object of kind {kind}", gvk,
               watch_event, produces=JSON_TYPES + STREAM_TYPES)])
        if namespaced:
            out[f"{root}/watch/{res}"] = PathItem((*LIST_PARAMS, P_PRETTY), [
                Op("get", "watchlist", f"watch{gv}{kind}ListForAllNamespaces", f"watch changes to a list of {kind}",
                   gvk, watch_event, produces=JSON_TYPES + STREAM_TYPES)])

    for sub in r.get("subresources") or ():
        ops = _sub_ops(r, sub, kind_def, gv + ns_word + kind, patch_types)
        if ops:
            out[f"{scope}/{res}/{{name}}/{sub}"] = PathItem(
                (P_NAME, *scope_params) if sub not in ("exec", "attach", "portforward", "proxy") else
                (P_NAME, P_NAMESPACE) if namespaced else (P_NAME,), ops)
    return out


def _sub_ops(r: Mapping[str, Any], sub: str, kind_def: str | None, base: str, patch_types: list[str]) -> list[Op]:
    gvk = (r["group"], r["version"], r["kind"])
    suffix = _cap(sub)
    write = (P_DRYRUN, P_MANAGER, P_VALIDATION)
    if sub in ("status", "ephemeralcontainers", "scale"):
        sg = SUB_KINDS[sub][:3] if sub == "scale" else gvk
        d = types.definition_name(*sg) if sub == "scale" else kind_def
        what = f"{sub} of the specified {r['kind']}"
        return [Op("get", "get", f"read{base}{suffix}", f"read {what}", sg, d),
                Op("put", "put", f"replace{base}{suffix}", f"replace {what}", sg, d, d, write, codes=("200", "201")),
                Op("patch", "patch", f"patch{base}{suffix}", f"partially update {what}", sg, d, META + "Patch",
                   (*write, P_FORCE), consumes=list(patch_types), codes=("200", "201"))]
    if sub in SUB_KINDS:
        g, v, k, _methods = SUB_KINDS[sub]
        d = types.definition_name(g, v, k)
        return [Op("post", "post", f"create{base}{suffix}", f"create {k} of a {r['kind']}", (g, v, k), d, d, write,
                   codes=("200", "201", "202"))]
    if sub == "finalize":
        return [Op("put", "put", f"replace{base}{suffix}", f"replace finalize of the specified {r['kind']}", gvk,
                   kind_def, kind_def, write, codes=("200", "201"))]
    if sub == "log":
        return [Op("get", "get", f"read{base}Log", f"read the log of the specified {r['kind']}", gvk, None,
                   params=LOG_PARAMS, produces=["text/plain", *JSON_TYPES])]
    opts = CONNECT_KINDS.get((r["resource"], sub))
    if opts is None:
        return []
    return [Op(m, "connect", f"connect{_cap(m)}{base}{suffix}", f"connect {m.upper()} requests to {sub} of "
               f"{r['kind']}", ("", "v1", opts), None, produces=["*/*"]) for m in CONNECT_METHODS[sub]]


# --- rendering ---------------------------------------------------------------------------------------------------
def _v3_param(p: Param) -> dict[str, Any]:
    d: dict[str, Any] = {"name": p.name, "in": p.where, "description": p.description,
                         "schema": {"type": p.type, "uniqueItems": True}}
    if p.required:
        d["required"] = True
    return d


def _v2_param(p: Param) -> dict[str, Any]:
    d: dict[str, Any] = {"name": p.name, "in": p.where, "description": p.description, "type": p.type,
                         "uniqueItems": True}
    if p.required:
        d["required"] = True
    return d


def _gvk_ext(gvk: tuple[str, str, str]) -> dict[str, str]:
    return {"group": gvk[0], "kind": gvk[2], "version": gvk[1]}


def _v3_op(op: Op, tag: str) -> dict[str, Any]:
    def schema(d: str | None) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{d}"} if d else {"type": "string"} if op.response is None else {
            "type": "object"}

    resp = {"description": "OK", "content": {ct: {"schema": schema(op.response)} for ct in op.produces}}
    out: dict[str, Any] = {"tags": [tag], "description": op.description, "operationId": op.op_id}
    if op.params:
        out["parameters"] = [_v3_param(p) for p in op.params]
    if op.body:
        out["requestBody"] = {"content": {ct: {"schema": schema(op.body)} for ct in op.consumes},
                              "required": op.method != "delete"}
    out["responses"] = {**{c: resp if c == "200" else {"description": _CODE_TEXT[c], "content": resp["content"]}
                           for c in op.codes}, "401": {"description": "Unauthorized"}}
    out["x-kubernetes-action"] = op.action
    out["x-kubernetes-group-version-kind"] = _gvk_ext(op.gvk)
    return out


def _v2_op(op: Op, tag: str) -> dict[str, Any]:
    def schema(d: str | None) -> dict[str, Any]:
        return {"$ref": f"#/definitions/{d}"} if d else {"type": "string"}

    params = [_v2_param(p) for p in op.params]
    if op.body:
        params.insert(0, {"name": "body", "in": "body", "required": op.method != "delete",
                          "schema": schema(op.body)})
    out: dict[str, Any] = {"description": op.description, "consumes": op.consumes, "produces": op.produces,
                           "schemes": ["https"], "tags": [tag], "operationId": op.op_id}
    if params:
        out["parameters"] = params
    out["responses"] = {**{c: {"description": _CODE_TEXT[c], "schema": schema(op.response)} for c in op.codes},
                        "401": {"description": "Unauthorized"}}
    out["x-kubernetes-action"] = op.action
    out["x-kubernetes-group-version-kind"] = _gvk_ext(op.gvk)
    return out


_CODE_TEXT = {"200": "OK", "201": "Created", "202": "Accepted"}


def _root_path(group: str, version: str) -> tuple[str, PathItem]:
    root = f"/api/{version}/" if not group else f"/apis/{group}/{version}/"
    op = Op("get", "", f"get{_gv_id(group, version)}APIResources", "get available resources", ("", "", ""),
            META + "APIResourceList")
    return root, PathItem((), [op])


def _render_paths(paths: dict[str, PathItem], tag: str, v3: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(paths):
        item = paths[path]
        rendered: dict[str, Any] = {}
        for op in item.ops:
            o = _v3_op(op, tag) if v3 else _v2_op(op, tag)
            if not op.action:       # the group-version root has no action/GVK
                o.pop("x-kubernetes-action")
                o.pop("x-kubernetes-group-version-kind")
            rendered[op.method] = o
        if item.params:
            rendered["parameters"] = [(_v3_param if v3 else _v2_param)(p) for p in item.params]
        out[path] = rendered
    return out


# --- schemas -----------------------------------------------------------------------------------------------------
def to_v3(schema: Any, nested: bool = False) -> Any:
    """A v2 definition in v3 form: references point into components and nested ones are wrapped in allOf."""
    if isinstance(schema, list):
        return [to_v3(v, nested) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k == "$ref":
            continue
        if k == "properties" and isinstance(v, dict):
            out[k] = {name: to_v3(p, True) for name, p in v.items()}
        elif k in ("items", "additionalProperties") and isinstance(v, dict):
            out[k] = to_v3(v, True)
        else:
            out[k] = copy.deepcopy(v)
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = "#/components/schemas/" + ref.rsplit("/", 1)[-1]
        if nested:
            out["allOf"] = [{"$ref": target}]
        else:
            out["$ref"] = target
    return out


def _describe(name: str, d: dict[str, Any]) -> dict[str, Any]:
    """Our own descriptions: the kind's, the common top-level fields', and the per-type table's."""
    gvks = d.get("x-kubernetes-group-version-kind") or []
    texts = dict(TYPE_FIELDS.get(types.short_name(name), {}))
    if len(gvks) == 1:
        texts = {**FIELDS, **texts}
    props = d.get("properties")
    if not texts and len(gvks) != 1:
        return d
    d = dict(d)
    if len(gvks) == 1:
        d["description"] = kind_description(gvks[0].get("kind", ""))
    if isinstance(props, dict):
        d["properties"] = {k: ({**p, "description": texts[k]} if k in texts and isinstance(p, dict) else p)
                           for k, p in props.items()}
    return d


def _schemas(names: Iterable[str], v3: bool) -> dict[str, Any]:
    closure: set[str] = set()
    for n in names:
        closure |= types.references(n)
    out: dict[str, Any] = {}
    for n in sorted(closure):
        d = _describe(n, types.definitions()[n])
        out[n] = to_v3(d) if v3 else copy.deepcopy(d)
    return out


def _kind_defs(r: Mapping[str, Any]) -> tuple[str | None, str | None]:
    kd = types.definition_name(r["group"], r["version"], r["kind"])
    ld = types.definition_name(r["group"], r["version"], r["kind"] + "List")
    return kd, ld


def _op_defs(paths: dict[str, PathItem]) -> set[str]:
    out: set[str] = set()
    for item in paths.values():
        for op in item.ops:
            out.update(d for d in (op.response, op.body) if d and types.definition(d) is not None)
    return out


# --- public ------------------------------------------------------------------------------------------------------
_CACHE: dict[tuple[str, str], Any] = {}
_CACHE_MAX = 64


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _cached(kind: str, key: str, build: Callable[[], Any]) -> Any:
    """Documents are pure functions of their inputs: keep the last few (the registry rarely changes)."""
    hit = _CACHE.get((kind, key))
    if hit is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        hit = _CACHE[(kind, key)] = build()
    return hit


@functools.cache
def _data_digest() -> str:
    return hashlib.sha256(types.DATA_FILE.read_bytes() + FORMAT_VERSION.encode()).hexdigest()


def gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index(group_versions: list[tuple[str, str]],
                     fingerprints: Mapping[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """``GET /openapi/v3``. ``fingerprints`` (optional) changes a group-version's hash when its document changes
    for reasons the type table doesn't know (custom resources: pass e.g. the CRDs' resourceVersions)."""
    paths: dict[str, Any] = {}
    for g, v in sorted(set(group_versions)):
        key = gv_key(g, v)
        extra = (fingerprints or {}).get((g, v), "")
        h = hashlib.sha512(f"{_data_digest()}|{key}|{extra}".encode()).hexdigest().upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={h}"}
    return {"paths": paths}


def openapi_v3_document(group: str, version: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """``GET /openapi/v3/api/v1`` or ``/openapi/v3/apis/<g>/<v>`` for built-in resources (cached; don't mutate)."""
    return _cached("v3", _key(resources, group, version), lambda: _v3_document(group, version, resources))


def _v3_document(group: str, version: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    paths: dict[str, PathItem] = dict([_root_path(group, version)])
    for r in resources:
        if r.get("group", "") != group or r.get("version") != version:
            continue
        kd, ld = _kind_defs(r)
        paths.update(_resource_paths(r, kd, ld))
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": _render_paths(paths, group_tag(group) + "_" + version, True),
            "components": {"schemas": _schemas(_op_defs(paths), True),
                           "securitySchemes": {"BearerToken": {"type": "apiKey", "name": "authorization",
                                                               "in": "header",
                                                               "description": "Bearer token authentication"}}},
            "security": [{"BearerToken": []}]}


def openapi_v2_document(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """``GET /openapi/v2`` (swagger 2.0 JSON) for built-in resources; every built-in definition is included (cached;
    don't mutate)."""
    return _cached("v2", _key(resources), lambda: _v2_document(resources))


def _v2_document(resources: list[dict[str, Any]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for g, v in sorted({(r["group"], r["version"]) for r in resources}):
        items: dict[str, PathItem] = dict([_root_path(g, v)])
        for r in resources:
            if (r["group"], r["version"]) == (g, v):
                kd, ld = _kind_defs(r)
                items.update(_resource_paths(r, kd, ld))
        paths.update(_render_paths(items, group_tag(g) + "_" + v, False))
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
            "definitions": _schemas(types.definitions(), False),
            "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                                                    "description": "Bearer token authentication"}},
            "security": [{"BearerToken": []}]}


def openapi_v2_protobuf(resources: list[dict[str, Any]]) -> bytes:
    """``GET /openapi/v2`` with ``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` (what kubectl
    asks for): the swagger 2.0 document as a gnostic ``openapi_v2.Document`` (cached: encoding takes ~0.3 s)."""
    return _cached("v2pb", _key(resources), lambda: encode_v2(openapi_v2_document(resources)))


def openapi_v2_response(accept: str | None, resources: list[dict[str, Any]]) -> tuple[bytes, str]:
    """Body and Content-Type for ``GET /openapi/v2``: the protobuf when the Accept header asks for it (kubectl
    always does, and cannot read JSON there), JSON otherwise."""
    if ACCEPT_TYPE in (accept or "") or CONTENT_TYPE in (accept or ""):
        return openapi_v2_protobuf(resources), CONTENT_TYPE
    body = _cached("v2json", _key(resources), lambda: json.dumps(openapi_v2_document(resources)).encode())
    return body, "application/json"


def crd_openapi_document(crd: dict[str, Any] | list[dict[str, Any]], version: str) -> dict[str, Any]:
    """The v3 document of a custom group-version: every given CRD (one, or all those of the group) that serves
    ``version`` (cached by content; don't mutate)."""
    return _cached("crd", _key(crd, version), lambda: _crd_document(crd, version))


def _crd_document(crd: dict[str, Any] | list[dict[str, Any]], version: str) -> dict[str, Any]:
    crds = crd if isinstance(crd, list) else [crd]
    group = ""
    paths: dict[str, PathItem] = {}
    schemas: dict[str, Any] = {}
    needed: set[str] = {META + "ObjectMeta", META + "ListMeta"}
    for c in crds:
        spec = c.get("spec") or {}
        names = spec.get("names") or {}
        group = spec.get("group", group)
        kind = names.get("kind", "")
        list_kind = names.get("listKind") or kind + "List"
        ver = next((v for v in spec.get("versions") or () if v.get("name") == version), None)
        if ver is None or not kind:
            continue
        kname, lname = crd_schema_name(group, version, kind), crd_schema_name(group, version, list_kind)
        schemas[kname] = _cr_schema(group, version, kind, ver)
        schemas[lname] = _cr_list_schema(group, version, list_kind, kname)
        subs = [s for s in ("status", "scale") if s in (ver.get("subresources") or {})]
        desc = {"group": group, "version": version, "kind": kind, "resource": names.get("plural", ""),
                "namespaced": spec.get("scope", "Namespaced") == "Namespaced",
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "subresources": subs}
        rp = _resource_paths(desc, kname, lname, crd=True)
        paths.update(rp)
        needed |= _op_defs(rp)
    paths.update(dict([_root_path(group, version)]))
    needed.add(META + "APIResourceList")
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
            "paths": _render_paths(paths, group_tag(group) + "_" + version, True),
            "components": {"schemas": {**_schemas(needed, True), **schemas},
                           "securitySchemes": {"BearerToken": {"type": "apiKey", "name": "authorization",
                                                               "in": "header",
                                                               "description": "Bearer token authentication"}}},
            "security": [{"BearerToken": []}]}


def _cr_schema(group: str, version: str, kind: str, ver: dict[str, Any]) -> dict[str, Any]:
    user = copy.deepcopy(((ver.get("schema") or {}).get("openAPIV3Schema")) or {"type": "object"})
    props = dict(user.get("properties") or {})
    props["apiVersion"] = {"type": "string", "description": FIELDS["apiVersion"]}
    props["kind"] = {"type": "string", "description": FIELDS["kind"]}
    props["metadata"] = {"allOf": [{"$ref": f"#/components/schemas/{META}ObjectMeta"}],
                         "description": FIELDS["metadata"]}
    user["properties"] = props
    user.setdefault("type", "object")
    user.setdefault("description", kind_description(kind))
    user["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return user


def _cr_list_schema(group: str, version: str, list_kind: str, kname: str) -> dict[str, Any]:
    return {"type": "object", "description": f"A list of {kname.rsplit('.', 1)[-1]} objects.",
            "required": ["items"],
            "properties": {"apiVersion": {"type": "string", "description": FIELDS["apiVersion"]},
                           "items": {"type": "array", "description": FIELDS["items"],
                                     "items": {"$ref": f"#/components/schemas/{kname}"}},
                           "kind": {"type": "string", "description": FIELDS["kind"]},
                           "metadata": {"allOf": [{"$ref": f"#/components/schemas/{META}ListMeta"}]}},
            "x-kubernetes-group-version-kind": [{"group": group, "kind": list_kind, "version": version}]}
