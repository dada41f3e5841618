"""Patch metadata of the built-in kinds: which list fields merge by key, which maps are atomic.

Facts come from the Kubernetes API types' struct tags (``patchStrategy``/``patchMergeKey`` for strategic merge
patch, ``+listType``/``+listMapKey``/``+structType=atomic``/``+mapType=atomic`` for server-side apply).

Contract of a ``PatchMeta`` (see ``apiserver.patch.PatchMeta``): called with the path of field names from the
object root (no list indices) and returns ``(strategy, merge_key)``:
- for a list field: ``("merge", "name")`` merges items by key; ``("merge", None)`` merges scalars as a set;
  ``(None, None)`` (or any strategy without ``merge``) replaces the list as a whole (atomic). ``merge_key`` may
  name several fields separated by commas (``"containerPort,protocol"``): strategic merge patch uses the first
  (``patchMergeKey``), server-side apply all of them (``listMapKey``s).
- for a map field: ``"replace"`` makes strategic merge patch replace it; ``"atomic"`` (or ``"replace"``) makes
  server-side apply own it as one value; ``"retainKeys"`` is informational. Strategies may be comma-joined.
- tokens ``ssa:map`` / ``ssa:set`` / ``ssa:atomic`` say how server-side apply treats a list when it differs from
  strategic merge patch (Kubernetes' ``listType``: e.g. Job status conditions merge in SMP but are atomic for
  apply); ``ssa:atomic-items`` marks lists whose items are atomic structs. Without them apply follows ``merge``.
Anything unknown is ``(None, None)``: lists atomic, maps merged field by field.

``builtin_patch_meta`` reads the Kubernetes type table (``apiserver.schema``: the OpenAPI extensions
x-kubernetes-patch-strategy/-patch-merge-key/-list-type/-list-map-keys/-map-type) and falls back to the
hand-written table; ``openapi_patch_meta`` does the same for a CRD's openAPIV3Schema.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

PatchMeta = Callable[[tuple[str, ...]], tuple[str | None, str | None]]

NONE: tuple[str | None, str | None] = (None, None)

# Server-side apply facts that strategic merge patch ignores (list-type and item atomicity from the schema).
SSA_MAP = "ssa:map"  # keyed by every field of merge_key
SSA_SET = "ssa:set"
SSA_ATOMIC = "ssa:atomic"
SSA_ATOMIC_ITEMS = "ssa:atomic-items"  # the items are atomic structs (owned whole, e.g. LocalObjectReference)

_POD_SPEC_LISTS: dict[str, tuple[str | None, str | None]] = {
    "containers": ("merge", "name"),
    "initContainers": ("merge", "name"),
    "ephemeralContainers": ("merge", "name"),
    "volumes": ("merge,retainKeys", "name"),
    "imagePullSecrets": ("merge", "name"),
    "hostAliases": ("merge", "ip"),
    "topologySpreadConstraints": ("merge", "topologyKey,whenUnsatisfiable"),
    "schedulingGates": ("merge", "name"),
    "resourceClaims": ("merge,retainKeys", "name"),
    "tolerations": NONE,
}

_CONTAINER_LISTS: dict[str, tuple[str | None, str | None]] = {
    "ports": ("merge", "containerPort,protocol"),
    "env": ("merge", "name"),
    "volumeMounts": ("merge", "mountPath"),
    "volumeDevices": ("merge", "devicePath"),
    "envFrom": NONE,
}

_CONTAINER_FIELDS = frozenset({"containers", "initContainers", "ephemeralContainers"})

# Pod-status lists merged by key.
_POD_STATUS_LISTS: dict[str, tuple[str | None, str | None]] = {
    "conditions": ("merge", "type"),
    "podIPs": ("merge", "ip"),
    "hostIPs": ("merge", "ip"),
}

# Maps server-side apply owns as a whole: LabelSelector (+structType=atomic), nodeSelector and the Service
# selector (+mapType=atomic), NodeSelector, and the key/field reference structs under env valueFrom.
_ATOMIC_MAP_NAMES = frozenset({
    "selector", "labelSelector", "namespaceSelector", "podSelector", "nodeSelector", "scopeSelector",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "configMapKeyRef", "secretKeyRef", "fieldRef", "resourceFieldRef",
})


def _pod_spec_at(path: tuple[str, ...]) -> bool:
    """Whether ``path`` is a PodSpec: ``spec`` of a Pod or a ``template``'s ``spec`` (any depth)."""
    if not path or path[-1] != "spec":
        return False
    return len(path) == 1 or path[-2] == "template"


def builtin_patch_meta(group: str, kind: str, version: str | None = None) -> PatchMeta:
    """The PatchMeta of a built-in kind: from the Kubernetes 1.32 type table (``apiserver.schema``) when it knows
    the kind (at ``version``, or else its preferred version: v2, then v1), else from the hand-written table."""
    definitions, root = _builtin_definition(group, kind, version)
    if definitions is not None and root is not None:
        return schema_patch_meta(definitions, root)
    return table_patch_meta(group, kind)


def _builtin_definition(group: str, kind: str, version: str | None) -> tuple[dict[str, Any] | None, str | None]:
    try:
        from apiserver.schema import types  # the type table another part of the apiserver owns
    except ImportError:  # pragma: no cover - the table is part of the apiserver
        return None, None
    if version:
        name = types.definition_name(group, version, kind)
        if name is not None:
            return types.definitions(), name
    return types.definitions(), _kind_index().get((group, kind))


_PREFERRED_VERSIONS = {"v2": 0, "v1": 1}


@functools.cache
def _kind_index() -> dict[tuple[str, str], str]:
    """(group, kind) -> definition name of the preferred version (autoscaling/v2 over v1, v1 over betas)."""
    from apiserver.schema import types
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for name, d in types.definitions().items():
        gvks: list[Any] = list(d.get("x-kubernetes-group-version-kind") or [])
        if len(gvks) != 1:
            continue  # meta types (DeleteOptions, WatchEvent) list many kinds
        gvk = gvks[0]
        key = (gvk.get("group", ""), gvk.get("kind", ""))
        rank = _PREFERRED_VERSIONS.get(gvk.get("version", ""), 2)
        if key not in found or rank < found[key][0]:
            found[key] = (rank, name)
    return {k: v[1] for k, v in found.items()}


def schema_patch_meta(definitions: dict[str, Any], root: str) -> PatchMeta:
    """PatchMeta read from OpenAPI definitions (``$ref: #/definitions/<name>``), starting at definition ``root``.

    SMP facts come from ``x-kubernetes-patch-strategy``/``-patch-merge-key``; server-side apply facts from
    ``x-kubernetes-list-type``/``-list-map-keys``/``-map-type``, passed on as ``ssa:*`` strategy tokens."""
    cache: dict[tuple[str, ...], tuple[str | None, str | None]] = {}

    def meta(path: tuple[str, ...]) -> tuple[str | None, str | None]:
        if path not in cache:
            cache[path] = _schema_meta(definitions, definitions.get(root), path)
        return cache[path]

    return meta


def openapi_patch_meta(schema: dict[str, Any]) -> PatchMeta:
    """PatchMeta of a custom resource from its CRD's openAPIV3Schema (inline, no references)."""
    return schema_patch_meta({"": schema}, "")


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if ref is None:
        for part in schema.get("allOf") or ():
            if isinstance(part, dict) and "$ref" in part:
                ref = part["$ref"]
                break
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _resolve(definitions: dict[str, Any], schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    name = _ref_name(schema)
    if name is not None:
        target = definitions.get(name)
        return target if isinstance(target, dict) else {}
    return schema


def _schema_meta(definitions: dict[str, Any], node: Any, path: tuple[str, ...]) -> tuple[str | None, str | None]:
    if not isinstance(node, dict) or not path:
        return NONE
    prop: dict[str, Any] = {}
    for name in path:
        while node.get("type") == "array" and isinstance(node.get("items"), dict):
            node = _resolve(definitions, node["items"])
        props = node.get("properties") or {}
        if name in props and isinstance(props[name], dict):
            prop = props[name]
        elif isinstance(node.get("additionalProperties"), dict):
            prop = node["additionalProperties"]
        else:
            return NONE
        node = _resolve(definitions, prop)
    return _meta_of(definitions, prop, node)


def _meta_of(definitions: dict[str, Any], prop: dict[str, Any], node: dict[str, Any]) -> tuple[str | None, str | None]:
    tokens = [t for t in (prop.get("x-kubernetes-patch-strategy") or "").split(",") if t]
    smp_key = prop.get("x-kubernetes-patch-merge-key")
    if node.get("type") == "array" or prop.get("type") == "array":
        list_type = prop.get("x-kubernetes-list-type")
        map_keys = [k for k in prop.get("x-kubernetes-list-map-keys") or () if isinstance(k, str)]
        keys = [smp_key] if smp_key else []
        if list_type == "map":
            tokens.append(SSA_MAP)
            keys += [k for k in map_keys if k != smp_key]
        elif list_type == "set":
            tokens.append(SSA_SET)
        else:
            tokens.append(SSA_ATOMIC)
        item = _resolve(definitions, (node if node.get("type") == "array" else prop).get("items"))
        if item.get("x-kubernetes-map-type") == "atomic":
            tokens.append(SSA_ATOMIC_ITEMS)
        return ",".join(tokens) or None, ",".join(keys) or None
    map_type = prop.get("x-kubernetes-map-type") or node.get("x-kubernetes-map-type")
    if map_type == "atomic":
        tokens.append("atomic")
    return ",".join(tokens) or None, None


def table_patch_meta(group: str, kind: str) -> PatchMeta:
    """The hand-written PatchMeta (SMP tags and the common SSA facts of the built-in kinds)."""

    def meta(path: tuple[str, ...]) -> tuple[str | None, str | None]:
        if not path:
            return NONE
        name = path[-1]
        parent = path[:-1]
        if parent == ("metadata",):
            if name == "ownerReferences":
                return ("merge", "uid")
            if name == "finalizers":
                return ("merge", None)
            return NONE
        if parent == ("status",) and name == "conditions":
            return ("merge", "type")
        # PodSpec lists (Pod spec, and every pod template in workloads).
        pod_spec = (kind == "Pod" and parent == ("spec",)) or (len(parent) >= 2 and _pod_spec_at(parent))
        if pod_spec and name in _POD_SPEC_LISTS:
            return _POD_SPEC_LISTS[name]
        if len(parent) >= 2 and parent[-1] in _CONTAINER_FIELDS and name in _CONTAINER_LISTS:
            return _CONTAINER_LISTS[name]
        if kind == "Pod" and parent == ("status",) and name in _POD_STATUS_LISTS:
            return _POD_STATUS_LISTS[name]
        if kind == "Service" and path == ("spec", "ports"):
            return ("merge", "port,protocol")
        if kind == "ServiceAccount" and path == ("secrets",):
            return ("merge", "name")
        if kind == "Node":
            if path == ("spec", "podCIDRs"):
                return ("merge", None)
            if path == ("status", "addresses"):
                return ("merge", "type")
        if kind == "Deployment" and path == ("spec", "strategy"):
            return ("retainKeys", None)
        if kind == "PodDisruptionBudget" and path == ("spec", "selector"):
            return ("replace", None)
        if name in _ATOMIC_MAP_NAMES:
            return ("atomic", None)
        return NONE

    return meta


def no_patch_meta(path: tuple[str, ...]) -> tuple[str | None, str | None]:
    """Custom resources without list-type markers: every list atomic, every map granular."""
    return NONE


def strategies(value: str | None) -> frozenset[str]:
    """The set of comma-joined strategies (``"merge,retainKeys"`` -> {merge, retainKeys})."""
    return frozenset(s.strip() for s in (value or "").split(",") if s.strip())


def key_fields(merge_key: str | None) -> list[str]:
    """All key fields of a merge key (``"containerPort,protocol"`` -> both)."""
    return [k.strip() for k in (merge_key or "").split(",") if k.strip()]
