"""PersistentVolume binding and a local hostPath provisioner (pure).

- The default StorageClass ``standard`` (provisioner ``kemu.io/hostpath``, Immediate binding, reclaim Delete) is
  created when no class is marked default.
- A Pending claim binds to the smallest Available volume of its class whose capacity, access modes, volume mode
  and selector fit (or to the volume it names); otherwise, when its class is provisioned by us, a volume
  ``pvc-<claim uid>`` is created with ``hostPath: /var/lib/kemu/volumes/<name>`` (DirectoryOrCreate) and a
  pre-bound claimRef. Binding writes the volume's claimRef/phase Bound first, then the claim's volumeName and
  status (phase, capacity, accessModes), with the bind-completed/bound-by-controller annotations.
- A Bound volume whose claim is gone is Released; with reclaim policy Delete it is deleted.
"""

from __future__ import annotations

from typing import Any

from controllers.logic.actions import Create, Delete, Plan, Update, UpdateStatus
from controllers.logic.podutil import meta
from controllers.scheduler.resources import qty
from kemu.api.selectors import SelectorError, label_selector_from_dict
from kemu.rest import PVCS, PVS, STORAGECLASSES

Obj = dict[str, Any]
PROVISIONER = "kemu.io/hostpath"
DEFAULT_ANN = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_ANN = "storageclass.beta.kubernetes.io/is-default-class"
HOSTPATH_ROOT = "/var/lib/kemu/volumes"


def is_default(sc: Obj) -> bool:
    ann = meta(sc).get("annotations") or {}
    return ann.get(DEFAULT_ANN) == "true" or ann.get(BETA_DEFAULT_ANN) == "true"


def default_class_plan(classes: list[Obj]) -> Plan:
    plan = Plan()
    if not any(is_default(c) for c in classes) and not any(meta(c).get("name") == "standard" for c in classes):
        plan.add(Create(STORAGECLASSES, {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                         "metadata": {"name": "standard", "annotations": {DEFAULT_ANN: "true"}},
                                         "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
                                         "volumeBindingMode": "Immediate"}))
    return plan


def claim_class(pvc: Obj, classes: list[Obj]) -> str:
    name = (pvc.get("spec") or {}).get("storageClassName")
    if name is not None:
        return str(name)
    default = next((c for c in classes if is_default(c)), None)
    return str(meta(default)["name"]) if default else ""


def _fits(pv: Obj, pvc: Obj, cls: str) -> bool:
    ps, cs = pv.get("spec") or {}, pvc.get("spec") or {}
    if (ps.get("storageClassName") or "") != cls:
        return False
    if (ps.get("volumeMode") or "Filesystem") != (cs.get("volumeMode") or "Filesystem"):
        return False
    if not set(cs.get("accessModes") or []) <= set(ps.get("accessModes") or []):
        return False
    want = qty("storage", ((cs.get("resources") or {}).get("requests") or {}).get("storage", 0) or 0)
    have = qty("storage", (ps.get("capacity") or {}).get("storage", 0) or 0)
    if have < want:
        return False
    if cs.get("selector") is not None:
        try:
            if not label_selector_from_dict(cs["selector"]).matches(meta(pv).get("labels") or {}):
                return False
        except SelectorError:
            return False
    return True


def _claim_ref(pvc: Obj) -> Obj:
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": meta(pvc)["namespace"],
            "name": meta(pvc)["name"], "uid": meta(pvc).get("uid"), "resourceVersion": meta(pvc).get("resourceVersion")}


def _refers_to(pv: Obj, pvc: Obj) -> bool:
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    return bool(ref.get("namespace") == meta(pvc)["namespace"] and ref.get("name") == meta(pvc)["name"]
                and (not ref.get("uid") or ref.get("uid") == meta(pvc).get("uid")))


def decide_claim(pvc: Obj, pvs: list[Obj], classes: list[Obj]) -> Plan:
    plan = Plan()
    spec = pvc.get("spec") or {}
    if meta(pvc).get("deletionTimestamp"):
        return plan
    cls = claim_class(pvc, classes)
    bound_pv = next((p for p in pvs if _refers_to(p, pvc)), None)
    if spec.get("volumeName"):
        bound_pv = next((p for p in pvs if meta(p)["name"] == spec["volumeName"]), bound_pv)
    if bound_pv is None:
        candidates = sorted((p for p in pvs if not (p.get("spec") or {}).get("claimRef")
                             and (p.get("status") or {}).get("phase", "Available") == "Available"
                             and _fits(p, pvc, cls)),
                            key=lambda p: qty("storage", (p["spec"].get("capacity") or {}).get("storage", 0)))
        if candidates:
            bound_pv = candidates[0]
        else:
            sc = next((c for c in classes if meta(c)["name"] == cls), None)
            if sc is not None and sc.get("provisioner") == PROVISIONER:
                plan.add(Create(PVS, provisioned_volume(pvc, sc)))
            return plan
    pv = bound_pv
    if not _refers_to(pv, pvc) or (pv.get("status") or {}).get("phase") != "Bound":
        if (pv.get("spec") or {}).get("claimRef") and not _refers_to(pv, pvc):
            return plan  # taken by another claim
        ann = {**(meta(pv).get("annotations") or {}), "pv.kubernetes.io/bound-by-controller": "yes"}
        new_pv = {**pv, "metadata": {**meta(pv), "annotations": ann},
                  "spec": {**(pv.get("spec") or {}), "claimRef": _claim_ref(pvc)}}
        plan.add(Update(PVS, new_pv))
        plan.add(UpdateStatus(PVS, {**new_pv, "status": {**(pv.get("status") or {}), "phase": "Bound"}}))
        return plan  # the claim side follows once the volume shows Bound
    if spec.get("volumeName") != meta(pv)["name"] or (pvc.get("status") or {}).get("phase") != "Bound":
        ann = {**(meta(pvc).get("annotations") or {}), "pv.kubernetes.io/bind-completed": "yes",
               "pv.kubernetes.io/bound-by-controller": "yes"}
        new_pvc = {**pvc, "metadata": {**meta(pvc), "annotations": ann},
                   "spec": {**spec, "volumeName": meta(pv)["name"]}}
        if spec.get("volumeName") != meta(pv)["name"] or ann != (meta(pvc).get("annotations") or {}):
            plan.add(Update(PVCS, new_pvc))
        ps = pv.get("spec") or {}
        plan.add(UpdateStatus(PVCS, {**new_pvc, "status": {"phase": "Bound", "accessModes": ps.get("accessModes") or [],
                                                           "capacity": ps.get("capacity") or {}}}))
    return plan


def provisioned_volume(pvc: Obj, sc: Obj) -> Obj:
    spec = pvc.get("spec") or {}
    name = f"pvc-{meta(pvc)['uid']}"
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {"capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage",
                                                                                                      "1Gi")},
                     "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                     "storageClassName": meta(sc)["name"], "volumeMode": spec.get("volumeMode") or "Filesystem",
                     "hostPath": {"path": f"{HOSTPATH_ROOT}/{name}", "type": "DirectoryOrCreate"},
                     "claimRef": _claim_ref(pvc)}}


def decide_volume(pv: Obj, claims: dict[tuple[str, str], Obj]) -> Plan:
    """Release (and maybe delete) a volume whose claim is gone."""
    plan = Plan()
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref or meta(pv).get("deletionTimestamp"):
        if not ref and (pv.get("status") or {}).get("phase") not in ("Available", "Pending", "Failed"):
            plan.add(UpdateStatus(PVS, {**pv, "status": {"phase": "Available"}}))  # also a new volume
        return plan
    claim = claims.get((ref.get("namespace", ""), ref.get("name", "")))
    if claim is not None and (not ref.get("uid") or meta(claim).get("uid") == ref.get("uid")):
        return plan
    if (pv.get("status") or {}).get("phase") == "Pending":
        return plan  # pre-bound to a claim that does not exist yet
    if not ref.get("uid"):
        return plan
    if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy", "Retain") == "Delete":
        plan.add(Delete(PVS, "", meta(pv)["name"], meta(pv).get("uid", "")))
    elif (pv.get("status") or {}).get("phase") != "Released":
        plan.add(UpdateStatus(PVS, {**pv, "status": {"phase": "Released"}}))
    return plan
