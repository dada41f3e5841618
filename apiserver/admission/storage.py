"""Small mutating plugins for storage and ingress objects (create only).

- DefaultStorageClass: a PVC without ``spec.storageClassName`` (absent or null -- an empty string is an explicit
  "no class") gets the default StorageClass (annotation ``storageclass.kubernetes.io/is-default-class: "true"``,
  or the beta one); with several defaults the newest wins, then the first by name.
- StorageObjectInUseProtection: new PVCs get the ``kubernetes.io/pvc-protection`` finalizer, new PVs
  ``kubernetes.io/pv-protection``.
- DefaultIngressClass: an Ingress without ``spec.ingressClassName`` and without the legacy
  ``kubernetes.io/ingress.class`` annotation gets the default IngressClass
  (``ingressclass.kubernetes.io/is-default-class: "true"``), chosen the same way.
"""

from __future__ import annotations

from typing import Any

from apiserver.admission.shape import dig, obj, text

Obj = dict[str, Any]
STORAGE_DEFAULT = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
INGRESS_DEFAULT = ("ingressclass.kubernetes.io/is-default-class",)
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"


def default_class(classes: list[Obj], annotations: tuple[str, ...]) -> Obj | None:
    defaults = [c for c in classes if isinstance(c, dict)
                and any(obj(dig(c, "metadata", "annotations")).get(a) == "true" for a in annotations)]
    if not defaults:
        return None
    # Newest first (RFC 3339 timestamps sort as text), then by name.
    defaults.sort(key=lambda c: text(dig(c, "metadata", "name")))
    defaults.sort(key=lambda c: text(dig(c, "metadata", "creationTimestamp")), reverse=True)
    return defaults[0]


def default_storage_class(pvc: Obj, storage_classes: list[Obj]) -> None:
    spec = pvc.get("spec")
    if not isinstance(spec, dict) or spec.get("storageClassName") is not None:
        return
    sc = default_class(storage_classes, STORAGE_DEFAULT)
    if sc is not None:
        spec["storageClassName"] = text(dig(sc, "metadata", "name"))


def _add_finalizer(o: Obj, finalizer: str) -> None:
    meta = o.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("finalizers") or [], list):
        return
    finalizers = list(meta.get("finalizers") or [])
    if finalizer not in finalizers:
        meta["finalizers"] = [*finalizers, finalizer]


def storage_protection(o: Obj, kind: str) -> None:
    if kind == "PersistentVolumeClaim":
        _add_finalizer(o, PVC_PROTECTION)
    elif kind == "PersistentVolume":
        _add_finalizer(o, PV_PROTECTION)


def default_ingress_class(ingress: Obj, ingress_classes: list[Obj]) -> None:
    spec = ingress.get("spec")
    if not isinstance(spec, dict) or spec.get("ingressClassName") is not None:
        return
    if "kubernetes.io/ingress.class" in obj(dig(ingress, "metadata", "annotations")):
        return
    ic = default_class(ingress_classes, INGRESS_DEFAULT)
    if ic is not None:
        spec["ingressClassName"] = text(dig(ic, "metadata", "name"))
