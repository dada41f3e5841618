"""Pure rules for object metadata through create/update/status-update, and the fields a field selector sees.

Mirrors the generic registry's BeforeCreate/BeforeUpdate plus the per-kind PrepareForCreate/PrepareForUpdate that
matter to users: server-owned metadata (uid, creationTimestamp, generation, deletion fields) cannot be set by
clients; ``generation`` moves only when the spec changes; for resources with a status subresource the main
resource ignores status and the status subresource ignores everything but status.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from apiserver.resources import Resource

Obj = dict[str, Any]

_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                "selfLink")
# Kinds whose create keeps a client-supplied status (the kubelet registers Nodes with their status).
_KEEP_STATUS_ON_CREATE = {("", "Node")}
_INITIAL_STATUS = {
    ("", "Pod"): {"phase": "Pending"},
    ("", "Namespace"): {"phase": "Active"},
    ("", "PersistentVolume"): {"phase": "Pending"},
    ("", "PersistentVolumeClaim"): {"phase": "Pending"},
}


def spec_part(r: Resource, obj: Obj) -> Any:
    """What counts as the spec for generation: ``spec`` when the kind has one, else everything but meta/status."""
    if "spec" in obj or r.has_status:
        return obj.get("spec")
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def prepare_create(r: Resource, obj: Obj, namespace: str, now: str, new_uid: Callable[[], str]) -> Obj:
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    for k in _SERVER_META:
        meta.pop(k, None)
    meta.pop("resourceVersion", None)
    if r.namespaced:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now
    if r.has_status or "spec" in obj:
        meta["generation"] = 1
    if r.has_status and (r.group, r.kind) not in _KEEP_STATUS_ON_CREATE:
        obj.pop("status", None)
        initial = _INITIAL_STATUS.get((r.group, r.kind))
        if initial is not None:
            obj["status"] = copy.deepcopy(initial)
    obj["apiVersion"] = r.group_version
    obj["kind"] = r.kind
    return obj


def prepare_update(r: Resource, new: Obj, old: Obj) -> Obj:
    new = copy.deepcopy(new)
    meta = new.setdefault("metadata", {})
    old_meta = old.get("metadata", {})
    for k in _SERVER_META:
        if k in old_meta:
            meta[k] = old_meta[k]
        else:
            meta.pop(k, None)
    meta["name"] = old_meta.get("name")
    if r.namespaced:
        meta["namespace"] = old_meta.get("namespace")
    if r.has_status:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    new["apiVersion"] = r.group_version
    new["kind"] = r.kind
    return new


def bump_generation(r: Resource, new: Obj, old: Obj) -> None:
    """generation + 1 when the spec changed (compare after defaulting, so a re-sent manifest is no change)."""
    old_meta = old.get("metadata", {})
    if "generation" in old_meta and spec_part(r, new) != spec_part(r, old):
        new["metadata"]["generation"] = int(old_meta["generation"]) + 1


def prepare_status_update(r: Resource, new: Obj, old: Obj) -> Obj:
    """A status write: the stored object with the new status; metadata labels/annotations may change too."""
    out = copy.deepcopy(old)
    if "status" in new:
        out["status"] = copy.deepcopy(new["status"])
    else:
        out.pop("status", None)
    new_meta = new.get("metadata", {})
    for k in ("labels", "annotations"):
        if k in new_meta:
            out["metadata"][k] = copy.deepcopy(new_meta[k])
    return out


def changed(a: Obj, b: Obj) -> bool:
    """Whether an update would change anything stored (resourceVersion aside)."""
    def strip(o: Obj) -> Obj:
        m = {k: v for k, v in (o.get("metadata") or {}).items() if k not in ("resourceVersion", "managedFields")}
        return {**o, "metadata": m}
    return strip(a) != strip(b)


def _get(obj: Obj, dotted: str) -> str | None:
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    if cur is None:
        return None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


# The field selectors kube-apiserver supports per kind (besides metadata.name/namespace).
FIELD_LABELS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                  "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
    ("", "Event"): ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                    "reason", "reportingComponent", "source", "type"),
    ("events.k8s.io", "Event"): ("regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                                 "reason", "reportingController", "type"),
    ("", "Node"): ("spec.unschedulable",),
    ("", "Secret"): ("type",),
    ("", "Namespace"): ("status.phase",),
    ("", "ReplicationController"): ("status.replicas",),
    ("apps", "ReplicaSet"): ("status.replicas",),
    ("batch", "Job"): ("status.successful",),
    ("", "PersistentVolume"): ("name",),
    ("certificates.k8s.io", "CertificateSigningRequest"): ("spec.signerName",),
}


def field_labels(r: Resource) -> tuple[str, ...]:
    base = ("metadata.name", "metadata.namespace") if r.namespaced else ("metadata.name",)
    return base + FIELD_LABELS.get((r.group, r.kind), ())


def field_set(r: Resource, obj: Obj) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    out = {"metadata.name": str(meta.get("name", "")), "metadata.namespace": str(meta.get("namespace", ""))}
    for f in FIELD_LABELS.get((r.group, r.kind), ()):
        if r.kind == "Event" and f == "source":
            out[f] = str((obj.get("source") or {}).get("component", ""))
        elif f == "name":
            out[f] = out["metadata.name"]
        else:
            out[f] = _get(obj, f) or ("false" if f == "spec.unschedulable" else "")
    return out
