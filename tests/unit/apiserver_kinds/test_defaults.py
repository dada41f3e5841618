"""Defaults: what `kubectl get -o yaml` shows on a real cluster, per kind; defaulting is idempotent."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver import kinds

pytestmark = pytest.mark.unit


def _pod_spec(**extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "web", "image": "nginx", **extra}]}


def _defaulted(group: str, version: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    kinds.apply_defaults(group, version, kind, obj)
    again = copy.deepcopy(obj)
    kinds.apply_defaults(group, version, kind, again)
    assert again == obj, "defaulting must be idempotent"
    return obj


TEMPLATE_SPEC = {"dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                 "securityContext": {}, "terminationGracePeriodSeconds": 30}
CONTAINER = {"imagePullPolicy": "Always", "resources": {}, "terminationMessagePath": "/dev/termination-log",
             "terminationMessagePolicy": "File"}


def test_pod_defaults() -> None:
    pod = _defaulted("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": _pod_spec(
        ports=[{"containerPort": 80}],
        resources={"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "100m"}},
        readinessProbe={"httpGet": {"port": 80}})})
    spec = pod["spec"]
    for k, v in TEMPLATE_SPEC.items():
        assert spec[k] == v
    assert spec["enableServiceLinks"] is True
    assert spec["priority"] == 0 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert spec["serviceAccountName"] == "default"
    assert {t["key"] for t in spec["tolerations"]} == {"node.kubernetes.io/not-ready",
                                                        "node.kubernetes.io/unreachable"}
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "Always"
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}
    assert c["readinessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                   "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v1", "IfNotPresent"),
    ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
])
def test_image_pull_policy(image: str, policy: str) -> None:
    pod = _defaulted("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c",
                                                                                          "image": image}]}})
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_pod_keeps_given_values_and_user_tolerations() -> None:
    pod = _defaulted("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": {
        "restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
        "tolerations": [{"operator": "Exists"}],
        "containers": [{"name": "c", "image": "x", "imagePullPolicy": "Never"}]}})
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 0
    assert pod["spec"]["tolerations"] == [{"operator": "Exists"}]
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_volume_defaults() -> None:
    pod = _defaulted("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "x"}],
        "volumes": [{"name": "a"}, {"name": "b", "configMap": {"name": "cm"}}, {"name": "s", "secret": {
            "secretName": "s"}}, {"name": "h", "hostPath": {"path": "/data"}},
            {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]}})
    assert pod["spec"]["volumes"] == [{"name": "a", "emptyDir": {}},
                                      {"name": "b", "configMap": {"name": "cm", "defaultMode": 420}},
                                      {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}},
                                      {"name": "h", "hostPath": {"path": "/data", "type": ""}},
                                      {"name": "t", "projected": {"defaultMode": 420, "sources": [
                                          {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}}]


def test_deployment_defaults() -> None:
    dep = _defaulted("apps", "v1", "Deployment", {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": _pod_spec()}}})
    spec = dep["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                                            "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    tspec = spec["template"]["spec"]
    assert {k: tspec[k] for k in TEMPLATE_SPEC} == TEMPLATE_SPEC
    assert "enableServiceLinks" not in tspec and "tolerations" not in tspec  # Pod-only defaults
    assert spec["template"]["metadata"] == {"labels": {"app": "d"}, "creationTimestamp": None}
    assert {k: tspec["containers"][0][k] for k in CONTAINER} == CONTAINER


def test_recreate_strategy_gets_no_rolling_update() -> None:
    dep = _defaulted("apps", "v1", "Deployment", {"metadata": {"name": "d"}, "spec": {"strategy": {
        "type": "Recreate"}}})
    assert dep["spec"]["strategy"] == {"type": "Recreate"}


def test_statefulset_daemonset_replicaset_defaults() -> None:
    sts = _defaulted("apps", "v1", "StatefulSet", {"metadata": {"name": "s"}, "spec": {
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}})
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert sts["spec"]["revisionHistoryLimit"] == 10 and sts["spec"]["replicas"] == 1
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert sts["spec"]["volumeClaimTemplates"][0]["status"] == {"phase": "Pending"}
    ds = _defaulted("apps", "v1", "DaemonSet", {"metadata": {"name": "d"}, "spec": {}})
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1,
                                                                                        "maxSurge": 0}}
    assert ds["spec"]["revisionHistoryLimit"] == 10
    rs = _defaulted("apps", "v1", "ReplicaSet", {"metadata": {"name": "r"}, "spec": {}})
    assert rs["spec"]["replicas"] == 1


def test_job_defaults_generate_selector_from_uid() -> None:
    job = _defaulted("batch", "v1", "Job", {"metadata": {"name": "pi", "uid": "u-1"}, "spec": {
        "template": {"metadata": {"labels": {"app": "pi"}}, "spec": {
            "restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]}}}})
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False and spec["manualSelector"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    labels = {"app": "pi", "job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1",
              "batch.kubernetes.io/controller-uid": "u-1"}
    assert spec["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["labels"] == labels  # Go shares the template's label map with the Job
    assert kinds.validate_create("batch", "v1", "Job", dict(job, metadata={**job["metadata"],
                                                                           "namespace": "default"})) == []


def test_job_parallelism_only() -> None:
    job = _defaulted("batch", "v1", "Job", {"metadata": {"name": "j", "uid": "u"}, "spec": {"parallelism": 3}})
    assert job["spec"]["parallelism"] == 3 and "completions" not in job["spec"]
    manual = _defaulted("batch", "v1", "Job", {"metadata": {"name": "j", "uid": "u"}, "spec": {
        "manualSelector": True, "selector": {"matchLabels": {"a": "b"}}}})
    assert manual["spec"]["selector"] == {"matchLabels": {"a": "b"}}


def test_cronjob_defaults() -> None:
    cj = _defaulted("batch", "v1", "CronJob", {"metadata": {"name": "c"}, "spec": {"schedule": "*/1 * * * *",
                                                                                   "jobTemplate": {"spec": {}}}})
    spec = cj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert spec["jobTemplate"]["metadata"] == {"creationTimestamp": None}
    assert spec["jobTemplate"]["spec"]["template"]["metadata"] == {"creationTimestamp": None}


def test_service_defaults() -> None:
    svc = _defaulted("", "v1", "Service", {"metadata": {"name": "s"}, "spec": {"selector": {"app": "x"},
                                                                              "ports": [{"port": 80}]}})
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster" and "externalTrafficPolicy" not in spec
    assert svc["status"] == {"loadBalancer": {}}
    np = _defaulted("", "v1", "Service", {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [
        {"port": 80, "targetPort": "http"}]}})
    assert np["spec"]["externalTrafficPolicy"] == "Cluster"
    assert np["spec"]["ports"][0]["targetPort"] == "http"
    ext = _defaulted("", "v1", "Service", {"metadata": {"name": "s"}, "spec": {"type": "ExternalName",
                                                                              "externalName": "example.com"}})
    assert "ipFamilies" not in ext["spec"] and "internalTrafficPolicy" not in ext["spec"]
    headless = _defaulted("", "v1", "Service", {"metadata": {"name": "h"}, "spec": {"clusterIP": "None"}})
    assert headless["spec"]["ipFamilyPolicy"] == "RequireDualStack"


def test_namespace_secret_pvc_defaults() -> None:
    ns = _defaulted("", "v1", "Namespace", {"metadata": {"name": "dev"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    sec = _defaulted("", "v1", "Secret", {"metadata": {"name": "s"}, "stringData": {"user": "admin"}})
    assert sec["type"] == "Opaque" and sec["data"] == {"user": "YWRtaW4="} and "stringData" not in sec
    pvc = _defaulted("", "v1", "PersistentVolumeClaim", {"metadata": {"name": "c"}, "spec": {}})
    assert pvc["spec"]["volumeMode"] == "Filesystem"


def test_other_defaults() -> None:
    hpa = _defaulted("autoscaling", "v2", "HorizontalPodAutoscaler", {"metadata": {"name": "h"}, "spec": {
        "maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}})
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60
    assert hpa["spec"]["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}
    v1 = _defaulted("autoscaling", "v1", "HorizontalPodAutoscaler", {"metadata": {"name": "h"}, "spec": {}})
    assert v1["spec"] == {"minReplicas": 1}
    np = _defaulted("networking.k8s.io", "v1", "NetworkPolicy", {"metadata": {"name": "n"}, "spec": {
        "podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}})
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert np["spec"]["egress"][0]["ports"][0]["protocol"] == "TCP"
    rb = _defaulted("rbac.authorization.k8s.io", "v1", "RoleBinding", {"metadata": {"name": "r"}, "subjects": [
        {"kind": "User", "name": "jane"}, {"kind": "ServiceAccount", "name": "default", "namespace": "x"}]})
    assert [s.get("apiGroup") for s in rb["subjects"]] == ["rbac.authorization.k8s.io", ""]
    crd = _defaulted("apiextensions.k8s.io", "v1", "CustomResourceDefinition", {"metadata": {"name": "a.b.c"},
                                                                                "spec": {"names": {"kind": "Foo"}}})
    assert crd["spec"]["names"] == {"kind": "Foo", "singular": "foo", "listKind": "FooList"}
    assert crd["spec"]["conversion"] == {"strategy": "None"}


def test_unknown_kinds_untouched() -> None:
    obj = {"metadata": {"name": "x"}, "spec": {"anything": 1}}
    _defaulted("example.com", "v1", "Widget", obj)
    assert obj == {"metadata": {"name": "x"}, "spec": {"anything": 1}}
    assert kinds.validate_create("example.com", "v1", "Widget", obj) == []
