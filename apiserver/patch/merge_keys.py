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
Anything not in the table is ``(None, None)``: lists atomic, maps merged field by field.
"""

from __future__ import annotations

from collections.abc import Callable

PatchMeta = Callable[[tuple[str, ...]], tuple[str | None, str | None]]

NONE: tuple[str | None, str | None] = (None, None)

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


def builtin_patch_meta(group: str, kind: str) -> PatchMeta:
    """The PatchMeta of a built-in kind (unknown kinds get only the ObjectMeta and status-conditions facts)."""

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
