"""DefaultStorageClass, StorageObjectInUseProtection and DefaultIngressClass."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission import default_ingress_class, default_storage_class, storage_protection

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def sc(name: str, default: bool = False, created: str = "2026-01-01T00:00:00Z", beta: bool = False) -> Obj:
    key = "storageclass.beta.kubernetes.io/is-default-class" if beta else "storageclass.kubernetes.io/is-default-class"
    return {"metadata": {"name": name, "creationTimestamp": created,
                         "annotations": {key: "true"} if default else {}}}


@pytest.mark.parametrize(("spec", "classes", "want"), [
    ({}, [sc("slow"), sc("standard", default=True)], "standard"),
    ({}, [sc("slow")], None),
    ({}, [sc("old", True, "2025-01-01T00:00:00Z"), sc("new", True, "2026-01-01T00:00:00Z")], "new"),
    ({}, [sc("b", True), sc("a", True)], "a"),
    ({}, [sc("legacy", default=True, beta=True)], "legacy"),
    ({"storageClassName": ""}, [sc("standard", default=True)], ""),          # explicit "no class"
    ({"storageClassName": "fast"}, [sc("standard", default=True)], "fast"),
    ({"storageClassName": None}, [sc("standard", default=True)], "standard"),
])
def test_default_storage_class(spec: Obj, classes: list[Obj], want: str | None) -> None:
    pvc = {"metadata": {"name": "data"}, "spec": dict(spec)}
    default_storage_class(pvc, classes)
    assert pvc["spec"].get("storageClassName") == want


def test_protection_finalizers() -> None:
    pvc: Obj = {"metadata": {"name": "data", "finalizers": ["x"]}}
    storage_protection(pvc, "PersistentVolumeClaim")
    storage_protection(pvc, "PersistentVolumeClaim")
    assert pvc["metadata"]["finalizers"] == ["x", "kubernetes.io/pvc-protection"]
    pv: Obj = {"metadata": {"name": "pv"}}
    storage_protection(pv, "PersistentVolume")
    assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    cm: Obj = {"metadata": {"name": "c"}}
    storage_protection(cm, "ConfigMap")
    assert "finalizers" not in cm["metadata"]


def test_default_ingress_class() -> None:
    classes = [{"metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}}}]
    ing: Obj = {"metadata": {"name": "web"}, "spec": {}}
    default_ingress_class(ing, classes)
    assert ing["spec"]["ingressClassName"] == "nginx"
    legacy: Obj = {"metadata": {"name": "web", "annotations": {"kubernetes.io/ingress.class": "traefik"}}, "spec": {}}
    default_ingress_class(legacy, classes)
    assert "ingressClassName" not in legacy["spec"]
