"""ResourceQuota admission: usage per object, charging, exceeded and missing-request messages, usage recompute."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission import AdmissionError, object_usage, quota_usage, resource_quota_check

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def quota(name: str, hard: Obj, used: Obj | None = None, scopes: list[str] | None = None) -> Obj:
    q: Obj = {"metadata": {"name": name, "namespace": "team", "resourceVersion": "7"}, "spec": {"hard": hard}}
    if scopes:
        q["spec"]["scopes"] = scopes
    if used is not None:
        q["status"] = {"hard": hard, "used": used}
    return q


def pod(name: str = "p", *containers: Obj, phase: str = "", **spec: Any) -> Obj:
    p: Obj = {"metadata": {"name": name, "namespace": "team"},
              "spec": {"containers": list(containers) or [{"name": "c", "image": "x"}], **spec}}
    if phase:
        p["status"] = {"phase": phase}
    return p


def ctr(name: str, requests: Obj | None = None, limits: Obj | None = None) -> Obj:
    return {"name": name, "image": "x", "resources": {**({"requests": requests} if requests else {}),
                                                      **({"limits": limits} if limits else {})}}


def used_of(q: Obj) -> Obj:
    return q


@pytest.mark.parametrize(("resource", "obj", "usage"), [
    ("pods", pod("p", ctr("a", {"cpu": "250m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"}),
                 ctr("b", {"cpu": "250m"})),
     {"count/pods": "1", "pods": "1", "cpu": "500m", "requests.cpu": "500m", "memory": "64Mi",
      "requests.memory": "64Mi", "limits.cpu": "500m", "limits.memory": "128Mi"}),
    ("pods", pod("done", phase="Succeeded"), {}),
    ("configmaps", {"metadata": {"name": "c"}}, {"count/configmaps": "1", "configmaps": "1"}),
    ("deployments", {"metadata": {"name": "d"}}, {"count/deployments.apps": "1"}),
    ("deployments.apps", {"metadata": {"name": "d"}}, {"count/deployments.apps": "1"}),
    ("services", {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}},
     {"count/services": "1", "services": "1", "services.nodeports": "2"}),
    ("services", {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 1}]}},
     {"count/services": "1", "services": "1", "services.loadbalancers": "1", "services.nodeports": "1"}),
    ("persistentvolumeclaims", {"metadata": {"name": "v"}, "spec": {"storageClassName": "fast", "resources": {
        "requests": {"storage": "10Gi"}}}},
     {"count/persistentvolumeclaims": "1", "persistentvolumeclaims": "1", "requests.storage": "10Gi",
      "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
      "fast.storageclass.storage.k8s.io/requests.storage": "10Gi"}),
])
def test_object_usage(resource: str, obj: Obj, usage: Obj) -> None:
    assert {k: str(v) for k, v in object_usage(resource, obj).items()} == usage


def test_charge_within_quota() -> None:
    q = quota("q", {"pods": "2", "configmaps": "5"}, {"pods": "1", "configmaps": "0"})
    (updated,) = resource_quota_check(pod(), "pods", [q], used_of)
    assert updated["status"] == {"hard": {"pods": "2", "configmaps": "5"}, "used": {"pods": "2", "configmaps": "0"}}
    assert q["status"]["used"] == {"pods": "1", "configmaps": "0"}     # the input is not modified
    assert updated["metadata"]["resourceVersion"] == "7"


def test_quota_without_status_counts_from_zero() -> None:
    (updated,) = resource_quota_check(pod(), "pods", [quota("q", {"pods": "2", "secrets": "1"})], used_of)
    assert updated["status"] == {"hard": {"pods": "2", "secrets": "1"}, "used": {"pods": "1", "secrets": "0"}}


def test_usage_of_may_return_a_used_map() -> None:
    (updated,) = resource_quota_check(pod(), "pods", [quota("q", {"pods": "3"})], lambda q: {"pods": "2"})
    assert updated["status"]["used"] == {"pods": "3"}


def test_uninteresting_quotas_are_not_charged() -> None:
    assert resource_quota_check({"metadata": {"name": "s"}}, "secrets", [quota("q", {"pods": "1"})], used_of) == []


@pytest.mark.parametrize(("resource", "obj", "q", "message"), [
    ("pods", pod("p3"), quota("q", {"pods": "2"}, {"pods": "2"}),
     'pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'),
    ("configmaps", {"metadata": {"name": "cm"}}, quota("objs", {"configmaps": "1", "count/configmaps": "5"},
                                                       {"configmaps": "1", "count/configmaps": "1"}),
     'configmaps "cm" is forbidden: exceeded quota: objs, requested: configmaps=1, used: configmaps=1, '
     'limited: configmaps=1'),
    ("pods", pod("big", ctr("a", {"cpu": "600m", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"})),
     quota("compute", {"requests.cpu": "1", "requests.memory": "2Gi", "limits.cpu": "2"},
           {"requests.cpu": "500m", "requests.memory": "1536Mi", "limits.cpu": "0"}),
     'pods "big" is forbidden: exceeded quota: compute, requested: requests.cpu=600m,requests.memory=1Gi, '
     'used: requests.cpu=500m,requests.memory=1536Mi, limited: requests.cpu=1,requests.memory=2Gi'),
    ("pods", pod("nolimits", ctr("a", {"cpu": "100m"}), ctr("b")),
     quota("compute", {"limits.cpu": "2", "requests.memory": "1Gi"}),
     'pods "nolimits" is forbidden: failed quota: compute: must specify limits.cpu for: a,b; requests.memory for: '
     'a,b'),
    ("deployments", {"metadata": {"name": "d"}}, quota("apps", {"count/deployments.apps": "0"}),
     'deployments.apps "d" is forbidden: exceeded quota: apps, requested: count/deployments.apps=1, '
     'used: count/deployments.apps=0, limited: count/deployments.apps=0'),
    ("services", {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 1}]}},
     quota("svc", {"services.nodeports": "0"}),
     'services "s" is forbidden: exceeded quota: svc, requested: services.nodeports=1, '
     'used: services.nodeports=0, limited: services.nodeports=0'),
])
def test_refusals(resource: str, obj: Obj, q: Obj, message: str) -> None:
    with pytest.raises(AdmissionError) as e:
        resource_quota_check(obj, resource, [q], used_of)
    assert (e.value.code, e.value.reason, e.value.message) == (403, "Forbidden", message)


def test_every_quota_must_allow() -> None:
    ok = quota("roomy", {"pods": "10"}, {"pods": "0"})
    full = quota("tight", {"pods": "1"}, {"pods": "1"})
    with pytest.raises(AdmissionError, match="exceeded quota: tight"):
        resource_quota_check(pod(), "pods", [ok, full], used_of)


@pytest.mark.parametrize(("scopes", "p", "charged"), [
    (["BestEffort"], pod(), True),
    (["NotBestEffort"], pod(), False),
    (["Terminating"], pod(activeDeadlineSeconds=30), True),
    (["NotTerminating"], pod(activeDeadlineSeconds=30), False),
    (["NotTerminating", "BestEffort"], pod(), True),
])
def test_scopes(scopes: list[str], p: Obj, charged: bool) -> None:
    got = resource_quota_check(p, "pods", [quota("q", {"pods": "5"}, {"pods": "0"}, scopes)], used_of)
    assert bool(got) is charged


def test_quota_usage_recompute() -> None:
    pods = [pod("a", ctr("a", {"cpu": "100m", "memory": "1Gi"})), pod("b", ctr("b", {"cpu": "1"})),
            pod("c", phase="Failed")]
    assert quota_usage("pods", pods) == {"count/pods": "2", "cpu": "1100m", "memory": "1Gi", "pods": "2",
                                         "requests.cpu": "1100m", "requests.memory": "1Gi"}
    assert quota_usage("pods", pods, hard={"pods": "9", "limits.cpu": "4"}) == {"limits.cpu": "0", "pods": "2"}
    assert quota_usage("configmaps", []) == {}


def test_quota_counts_pod_overhead_and_init_containers() -> None:
    p = pod("p", ctr("a", {"cpu": "100m"}), overhead={"cpu": "50m"},
            initContainers=[ctr("init", {"cpu": "500m"}), ctr("side", {"cpu": "100m"})])
    p["spec"]["initContainers"][1]["restartPolicy"] = "Always"
    # app 100m + sidecar 100m = 200m, below the 500m one-shot init container; plus 50m overhead
    assert str(object_usage("pods", p)["requests.cpu"]) == "550m"


def _sel(scope: str, op: str, *values: str) -> Obj:
    return {"scopeName": scope, "operator": op, **({"values": list(values)} if values else {})}


@pytest.mark.parametrize(("selectors", "p", "charged"), [
    ([_sel("PriorityClass", "In", "high")], pod(priorityClassName="high"), True),
    ([_sel("PriorityClass", "In", "high")], pod(priorityClassName="low"), False),
    ([_sel("PriorityClass", "In", "high")], pod(), False),
    ([_sel("PriorityClass", "NotIn", "high")], pod(), True),
    ([_sel("PriorityClass", "Exists")], pod(), False),
    ([_sel("PriorityClass", "Exists")], pod(priorityClassName="x"), True),
    ([_sel("BestEffort", "Exists"), _sel("PriorityClass", "In", "x")], pod(priorityClassName="x"), True),
    ([_sel("NotBestEffort", "Exists")], pod(), False),
    ([_sel("CrossNamespacePodAffinity", "Exists")],
     pod(affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
         {"topologyKey": "k", "namespaceSelector": {}}]}}), True),
    ([_sel("CrossNamespacePodAffinity", "Exists")], pod(), False),
    ([_sel("CrossNamespacePodAffinity", "DoesNotExist")], pod(), True),
])
def test_scope_selector(selectors: list[Obj], p: Obj, charged: bool) -> None:
    q = quota("q", {"pods": "5"}, {"pods": "0"})
    q["spec"]["scopeSelector"] = {"matchExpressions": selectors}
    assert bool(resource_quota_check(p, "pods", [q], used_of)) is charged


def test_scoped_quota_ignores_other_resources() -> None:
    q = quota("q", {"count/configmaps": "0"}, scopes=["BestEffort"])
    assert resource_quota_check({"metadata": {"name": "c"}}, "configmaps", [q], used_of) == []


def _pvc(size: str) -> Obj:
    return {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": size}}}}


def test_updates_charge_only_growth() -> None:
    q = quota("q", {"requests.storage": "10Gi", "persistentvolumeclaims": "5"},
              {"requests.storage": "8Gi", "persistentvolumeclaims": "1"})
    assert resource_quota_check(_pvc("8Gi"), "persistentvolumeclaims", [q], used_of, old=_pvc("8Gi")) == []
    assert resource_quota_check(_pvc("4Gi"), "persistentvolumeclaims", [q], used_of, old=_pvc("8Gi")) == []
    (updated,) = resource_quota_check(_pvc("9Gi"), "persistentvolumeclaims", [q], used_of, old=_pvc("8Gi"))
    assert updated["status"]["used"] == {"requests.storage": "9Gi", "persistentvolumeclaims": "1"}
    with pytest.raises(AdmissionError) as e:
        resource_quota_check(_pvc("12Gi"), "persistentvolumeclaims", [q], used_of, old=_pvc("8Gi"))
    assert e.value.message == ('persistentvolumeclaims "data" is forbidden: exceeded quota: q, requested: '
                               'requests.storage=4Gi, used: requests.storage=8Gi, limited: requests.storage=10Gi')
    svc_old = {"metadata": {"name": "s"}, "spec": {"type": "ClusterIP", "ports": [{"port": 1}]}}
    svc_new = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 1}]}}
    nq = quota("n", {"services.nodeports": "0"}, {"services.nodeports": "0"})
    with pytest.raises(AdmissionError, match=r"services\.nodeports=1"):
        resource_quota_check(svc_new, "services", [nq], used_of, old=svc_old)
