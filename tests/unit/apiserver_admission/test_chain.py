"""The create admission chain: plugin order and what each kind goes through."""

from __future__ import annotations

import random
from typing import Any

import pytest

from apiserver.admission import AdmissionContext, AdmissionError, admit_create

pytestmark = pytest.mark.unit

Obj = dict[str, Any]
NS: Obj = {"metadata": {"name": "team", "labels": {"pod-security.kubernetes.io/warn": "restricted"}},
           "status": {"phase": "Active"}}
SA: Obj = {"metadata": {"name": "default", "namespace": "team"}}


def pod(**spec: Any) -> Obj:
    return {"metadata": {"name": "p", "namespace": "team"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_pod_goes_through_every_pod_plugin() -> None:
    ctx = AdmissionContext(
        namespace_obj=NS, service_account=SA, rng=random.Random(1),
        limit_ranges=[{"metadata": {"name": "lr"}, "spec": {"limits": [
            {"type": "Container", "default": {"memory": "128Mi"}, "defaultRequest": {"memory": "64Mi"}}]}}],
        priority_classes=[{"metadata": {"name": "normal"}, "value": 100, "globalDefault": True,
                           "preemptionPolicy": "PreemptLowerPriority"}],
        quotas=[{"metadata": {"name": "q"}, "spec": {"hard": {"pods": "2"}}, "status": {"used": {"pods": "1"}}}])
    p = pod()
    result = admit_create(p, "", "pods", "Pod", "team", ctx)
    spec = p["spec"]
    assert spec["containers"][0]["resources"] == {"limits": {"memory": "128Mi"}, "requests": {"memory": "64Mi"}}
    assert spec["serviceAccountName"] == "default" and spec["volumes"][0]["name"].startswith("kube-api-access-")
    assert (spec["priorityClassName"], spec["priority"]) == ("normal", 100)
    assert len(spec["tolerations"]) == 2 and p["status"]["qosClass"] == "Burstable"
    assert [q["status"]["used"] for q in result.quotas] == [{"pods": "2"}]
    assert len(result.warnings) == 1 and result.warnings[0].startswith('would violate PodSecurity "restricted:latest"')


@pytest.mark.parametrize(("ctx", "message"), [
    (AdmissionContext(namespace_obj=None, service_account=SA), 'namespaces "team" not found'),
    (AdmissionContext(namespace_obj=NS, service_account=None), 'error looking up service account team/default'),
    (AdmissionContext(namespace_obj=NS, service_account=SA, quotas=[
        {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "1"}}, "status": {"used": {"pods": "1"}}}]),
     "exceeded quota: q"),
    (AdmissionContext(namespace_obj={"metadata": {"name": "team", "labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}}, service_account=SA), "violates PodSecurity"),
])
def test_refusals_in_order(ctx: AdmissionContext, message: str) -> None:
    with pytest.raises(AdmissionError) as e:
        admit_create(pod(), "", "pods", "Pod", "team", ctx)
    assert message in e.value.message


def test_other_kinds() -> None:
    ctx = AdmissionContext(namespace_obj=NS, storage_classes=[
        {"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}])
    pvc: Obj = {"metadata": {"name": "data", "namespace": "team"}, "spec": {"resources": {"requests": {
        "storage": "1Gi"}}}}
    admit_create(pvc, "", "persistentvolumeclaims", "PersistentVolumeClaim", "team", ctx)
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pvc["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    deploy: Obj = {"metadata": {"name": "web", "namespace": "team"},
                   "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    warned = admit_create(deploy, "apps", "deployments", "Deployment", "team", ctx)
    assert warned.warnings and warned.quotas == []
    ns: Obj = {"metadata": {"name": "new"}}
    assert admit_create(ns, "", "namespaces", "Namespace", "", AdmissionContext()).warnings == []
    with pytest.raises(AdmissionError, match="already marked as default"):
        admit_create({"metadata": {"name": "b"}, "value": 1, "globalDefault": True}, "scheduling.k8s.io",
                     "priorityclasses", "PriorityClass", "", AdmissionContext(priority_classes=[
                         {"metadata": {"name": "a"}, "value": 2, "globalDefault": True}]))
