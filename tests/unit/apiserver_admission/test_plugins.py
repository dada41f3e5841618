"""Admission plugins: NamespaceLifecycle, pod defaults (tolerations, QoS), ServiceAccount, LimitRanger."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from apiserver.admission import (
    AdmissionError,
    limit_ranger,
    namespace_lifecycle,
    pod_defaults,
    pod_qos_class,
    service_account,
)
from apiserver.errors import ApiError

pytestmark = pytest.mark.unit

Obj = dict[str, Any]
ACTIVE: Obj = {"metadata": {"name": "team"}, "status": {"phase": "Active"}}
TERMINATING: Obj = {"metadata": {"name": "team"}, "status": {"phase": "Terminating"}}


@pytest.mark.parametrize(("args", "code", "message"), [
    (("CREATE", ACTIVE, "pods", "team"), None, None),
    (("UPDATE", ACTIVE, "pods", "team"), None, None),
    (("CREATE", None, "pods", "nope"), 404, 'namespaces "nope" not found'),
    (("UPDATE", None, "configmaps", "nope"), 404, 'namespaces "nope" not found'),
    (("DELETE", None, "pods", "nope"), None, None),                  # deletes always pass
    (("CREATE", None, "localsubjectaccessreviews", "nope"), None, None),
    (("CREATE", TERMINATING, "pods", "team"), 403,
     "pods is forbidden: unable to create new content in namespace team because it is being terminated"),
    (("UPDATE", TERMINATING, "pods", "team"), None, None),
    (("CREATE", None, "namespaces", "new"), None, None),              # namespaces themselves
    (("DELETE", None, "namespaces", "default"), 403,
     'namespaces "default" is forbidden: this namespace may not be deleted'),
    (("DELETE", None, "namespaces", "kube-system"), 403,
     'namespaces "kube-system" is forbidden: this namespace may not be deleted'),
    (("DELETE", None, "namespaces", "kube-public"), 403,
     'namespaces "kube-public" is forbidden: this namespace may not be deleted'),
    (("DELETE", None, "namespaces", "kube-node-lease"), None, None),
    (("CREATE", None, "nodes", ""), None, None),                      # cluster-scoped
])
def test_namespace_lifecycle(args: tuple[Any, ...], code: int | None, message: str | None) -> None:
    if code is None:
        namespace_lifecycle(*args)
        return
    with pytest.raises(AdmissionError) as e:
        namespace_lifecycle(*args)
    assert (e.value.code, e.value.message) == (code, message)
    assert e.value.reason == ("NotFound" if code == 404 else "Forbidden")
    assert isinstance(e.value, ApiError)


def test_terminating_names_the_object_and_carries_the_cause() -> None:
    with pytest.raises(AdmissionError) as e:
        namespace_lifecycle("CREATE", TERMINATING, "deployments", "team", name="web", group="apps")
    assert e.value.message == ('deployments.apps "web" is forbidden: unable to create new content in namespace team '
                               'because it is being terminated')
    assert e.value.details == {"name": "web", "group": "apps", "kind": "deployments", "causes": [
        {"reason": "NamespaceTerminating", "message": "namespace team is being terminated",
         "field": "metadata.namespace"}]}
    with pytest.raises(AdmissionError) as nf:
        namespace_lifecycle("CREATE", None, "pods", "gone")
    assert nf.value.details == {"name": "gone", "kind": "namespaces"}


def pod(*containers: Obj, init: list[Obj] | None = None, **spec: Any) -> Obj:
    p: Obj = {"metadata": {"name": "p", "namespace": "team"}, "spec": {"containers": list(containers), **spec}}
    if init:
        p["spec"]["initContainers"] = init
    return p


def c(name: str = "c", requests: Obj | None = None, limits: Obj | None = None, **extra: Any) -> Obj:
    out: Obj = {"name": name, "image": "busybox", **extra}
    res: Obj = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    if res:
        out["resources"] = res
    return out


G = {"cpu": "500m", "memory": "128Mi"}


@pytest.mark.parametrize(("p", "qos"), [
    (pod(c()), "BestEffort"),
    (pod(c(requests={"cpu": "0"})), "BestEffort"),                    # zero amounts do not count
    (pod(c(requests={"ephemeral-storage": "1Gi"})), "BestEffort"),    # only cpu and memory matter
    (pod(c(requests=G, limits=G)), "Guaranteed"),
    (pod(c(requests={"cpu": "0.5", "memory": "134217728"}, limits=G)), "Guaranteed"),  # equal amounts
    (pod(c(limits=G)), "Burstable"),                                  # requests not yet defaulted from limits
    (pod(c(requests=G, limits={"cpu": "1", "memory": "128Mi"})), "Burstable"),
    (pod(c(requests=G, limits=G), c("d")), "Burstable"),
    (pod(c(requests={"memory": "64Mi"})), "Burstable"),
    (pod(c(requests=G, limits=G), init=[c("i", requests=G, limits=G)]), "Guaranteed"),
    (pod(c(requests=G, limits=G), init=[c("i", limits={"cpu": "1"})]), "Burstable"),
    (pod(c(requests={"cpu": "1", "memory": "1Gi"}, limits={"cpu": "1", "memory": "1Gi"}),
         c("d", requests={"cpu": "1", "memory": "1Gi"}, limits={"cpu": "1", "memory": "1Gi"})), "Guaranteed"),
])
def test_qos_class(p: Obj, qos: str) -> None:
    assert pod_qos_class(p) == qos


NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
               "tolerationSeconds": 300}


@pytest.mark.parametrize(("tolerations", "want"), [
    (None, [NOT_READY, UNREACHABLE]),
    ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}],
     [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5},
      UNREACHABLE]),
    ([{"operator": "Exists"}], [{"operator": "Exists"}]),             # tolerates everything
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}],  # empty effect counts
     [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}, NOT_READY]),
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"}],
     [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"}, NOT_READY,
      UNREACHABLE]),
    ([{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoSchedule"}],
     [{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoSchedule"}, NOT_READY, UNREACHABLE]),
])
def test_default_tolerations(tolerations: list[Obj] | None, want: list[Obj]) -> None:
    p = pod(c(requests=G, limits=G), **({"tolerations": tolerations} if tolerations is not None else {}))
    pod_defaults(p)
    assert p["spec"]["tolerations"] == want
    assert p["status"]["qosClass"] == "Guaranteed"
    again = copy.deepcopy(p)
    pod_defaults(again)
    assert again == p                                                  # idempotent


TOKEN_VOLUME = {"projected": {"defaultMode": 420, "sources": [
    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                  "fieldPath": "metadata.namespace"}}]}}]}}
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def test_service_account_mounts_token_everywhere() -> None:
    p = pod(c("a"), c("b", volumeMounts=[{"name": "data", "mountPath": "/data"}]), init=[c("i")])
    service_account(p, True, rng=random.Random(1))
    spec = p["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    (vol,) = spec["volumes"]
    name = vol["name"]
    assert name.startswith("kube-api-access-") and len(name) == len("kube-api-access-") + 5
    assert all(ch in "bcdfghjklmnpqrstvwxz2456789" for ch in name[-5:])
    assert {k: v for k, v in vol.items() if k != "name"} == TOKEN_VOLUME
    mount = {"name": name, "readOnly": True, "mountPath": MOUNT}
    assert spec["containers"][0]["volumeMounts"] == [mount]
    assert spec["containers"][1]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}, mount]
    assert spec["initContainers"][0]["volumeMounts"] == [mount]
    again = copy.deepcopy(p)
    service_account(again, True, rng=random.Random(2))
    assert again == p                                                  # the existing volume is reused


@pytest.mark.parametrize(("pod_setting", "sa_setting", "mounted"), [
    (None, None, True), (False, None, False), (None, False, False), (True, False, True), (False, True, False),
])
def test_service_account_automount(pod_setting: bool | None, sa_setting: bool | None, mounted: bool) -> None:
    p = pod(c(), serviceAccountName="builder")
    if pod_setting is not None:
        p["spec"]["automountServiceAccountToken"] = pod_setting
    sa: Obj = {"metadata": {"name": "builder"}}
    if sa_setting is not None:
        sa["automountServiceAccountToken"] = sa_setting
    service_account(p, True, sa=sa, rng=random.Random(1))
    assert p["spec"]["serviceAccountName"] == "builder"
    assert ("volumes" in p["spec"]) is mounted
    assert ("volumeMounts" in p["spec"]["containers"][0]) is mounted


def test_service_account_keeps_an_existing_mount_and_skips_mirror_pods() -> None:
    p = pod(c(volumeMounts=[{"name": "own", "mountPath": MOUNT}]))
    service_account(p, True)
    assert "volumes" not in p["spec"]
    mirror = pod(c())
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    service_account(mirror, False)
    assert mirror["spec"] == {"containers": [c()]}


@pytest.mark.parametrize(("spec", "message"), [
    ({"serviceAccountName": "default"}, "a mirror pod may not reference service accounts"),
    ({"volumes": [{"name": "s", "secret": {"secretName": "x"}}]}, "a mirror pod may not reference secrets"),
    ({"imagePullSecrets": [{"name": "reg"}]}, "a mirror pod may not reference secrets"),
    ({"volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]},
     "a mirror pod may not use ServiceAccountToken volume projections"),
])
def test_mirror_pod_restrictions(spec: Obj, message: str) -> None:
    mirror = pod(c(), **spec)
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    with pytest.raises(AdmissionError) as e:
        service_account(mirror, True)
    assert e.value.message == f'pods "p" is forbidden: {message}'


def test_service_account_image_pull_secrets() -> None:
    sa = {"metadata": {"name": "default"}, "imagePullSecrets": [{"name": "registry"}]}
    p = pod(c())
    service_account(p, True, sa=sa, rng=random.Random(1))
    assert p["spec"]["imagePullSecrets"] == [{"name": "registry"}]
    own = pod(c(), imagePullSecrets=[{"name": "mine"}])
    service_account(own, True, sa=sa, rng=random.Random(1))
    assert own["spec"]["imagePullSecrets"] == [{"name": "mine"}]


def test_service_account_missing() -> None:
    p = pod(c(), serviceAccountName="ghost")
    with pytest.raises(AdmissionError) as e:
        service_account(p, False)
    assert (e.value.code, e.value.reason) == (403, "Forbidden")
    assert e.value.message == ('pods "p" is forbidden: error looking up service account team/ghost: '
                               'serviceaccount "ghost" not found')


def lr(*items: Obj) -> Obj:
    return {"metadata": {"name": "lr", "namespace": "team"}, "spec": {"limits": list(items)}}


def test_limit_ranger_defaults_and_annotation() -> None:
    p = pod(c("a"), c("b", requests={"memory": "32Mi"}), init=[c("i", limits={"cpu": "1"})])
    limit_ranger(p, "Pod", [lr({"type": "Container", "default": {"memory": "128Mi", "cpu": "500m"},
                                "defaultRequest": {"memory": "64Mi"}})])
    ctrs = p["spec"]["containers"]
    assert ctrs[0]["resources"] == {"limits": {"memory": "128Mi", "cpu": "500m"},
                                    "requests": {"memory": "64Mi", "cpu": "500m"}}
    assert ctrs[1]["resources"] == {"limits": {"memory": "128Mi", "cpu": "500m"},
                                    "requests": {"memory": "32Mi", "cpu": "500m"}}
    assert p["spec"]["initContainers"][0]["resources"] == {"limits": {"cpu": "1", "memory": "128Mi"},
                                                           "requests": {"memory": "64Mi", "cpu": "500m"}}
    assert p["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; "
        "cpu request for container b; cpu, memory limit for container b; cpu, memory request for init container i; "
        "memory limit for init container i")
    assert p["status"]["qosClass"] == "Burstable"


def test_limit_ranger_max_becomes_the_default_limit() -> None:
    p = pod(c())
    limit_ranger(p, "Pod", [lr({"type": "Container", "max": {"memory": "1Gi"}, "min": {"memory": "100Mi"}})])
    assert p["spec"]["containers"][0]["resources"] == {"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}


@pytest.mark.parametrize(("item", "container", "message"), [
    ({"type": "Container", "max": {"memory": "1Gi"}}, c(limits={"memory": "2Gi"}, requests={"memory": "1Gi"}),
     'pods "p" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi'),
    ({"type": "Container", "max": {"cpu": "1"}}, c(requests={"cpu": "2"}, limits={"cpu": "1"}),
     'pods "p" is forbidden: maximum cpu usage per Container is 1, but request is 2'),
    ({"type": "Container", "min": {"cpu": "100m"}}, c(requests={"cpu": "50m"}, limits={"cpu": "1"}),
     'pods "p" is forbidden: minimum cpu usage per Container is 100m, but request is 50m'),
    ({"type": "Container", "min": {"cpu": "100m"}, "defaultRequest": {}, "default": {}},
     c(requests={"cpu": "200m"}, limits={"cpu": "50m"}),
     'pods "p" is forbidden: minimum cpu usage per Container is 100m, but limit is 50m'),
    ({"type": "Container", "max": {"cpu": "1", "memory": "1Gi"}},
     c(limits={"cpu": "2", "memory": "1536Mi"}, requests={"cpu": "1", "memory": "1Gi"}),
     'pods "p" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per '
     'Container is 1Gi, but limit is 1536Mi]'),
    ({"type": "Container", "maxLimitRequestRatio": {"memory": "2"}},
     c(requests={"memory": "100Mi"}, limits={"memory": "300Mi"}),
     'pods "p" is forbidden: memory max limit to request ratio per Container is 2, but provided ratio is 3.000000'),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "4"}}, c(limits={"cpu": "1"}),
     'pods "p" is forbidden: cpu max limit to request ratio per Container is 4, but no request is specified or '
     'request is 0'),
    ({"type": "Pod", "max": {"cpu": "1"}}, c(requests={"cpu": "800m"}, limits={"cpu": "800m"}), None),
    ({"type": "Pod", "max": {"memory": "1Gi"}}, c(requests={"memory": "1Gi"}, limits={"memory": "1Gi"}), None),
])
def test_limit_ranger_violations(item: Obj, container: Obj, message: str | None) -> None:
    p = pod(container)
    if message is None:
        limit_ranger(p, "Pod", [lr(item)])
        return
    with pytest.raises(AdmissionError) as e:
        limit_ranger(p, "Pod", [lr(item)])
    assert (e.value.code, e.value.reason, e.value.message) == (403, "Forbidden", message)


def test_limit_ranger_pod_totals() -> None:
    p = pod(c("a", requests={"cpu": "600m"}, limits={"cpu": "600m"}),
            c("b", requests={"cpu": "600m"}, limits={"cpu": "600m"}))
    with pytest.raises(AdmissionError) as e:
        limit_ranger(p, "Pod", [lr({"type": "Pod", "max": {"cpu": "1"}})])
    assert e.value.message == 'pods "p" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m'


@pytest.mark.parametrize(("storage", "message"), [
    ("5Gi", None),
    ("20Gi", 'persistentvolumeclaims "data" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, '
             'but request is 20Gi'),
    ("500Mi", 'persistentvolumeclaims "data" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, '
              'but request is 500Mi'),
])
def test_limit_ranger_pvc(storage: str, message: str | None) -> None:
    pvc = {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": storage}}}}
    item = lr({"type": "PersistentVolumeClaim", "max": {"storage": "10Gi"}, "min": {"storage": "1Gi"}})
    if message is None:
        limit_ranger(pvc, "PersistentVolumeClaim", [item])
        return
    with pytest.raises(AdmissionError) as e:
        limit_ranger(pvc, "PersistentVolumeClaim", [item])
    assert e.value.message == message


def test_limit_ranger_ignores_other_kinds_and_no_ranges() -> None:
    svc = {"metadata": {"name": "s"}}
    limit_ranger(svc, "Service", [lr({"type": "Container", "max": {"cpu": "1"}})])
    p = pod(c())
    limit_ranger(p, "Pod", [])
    assert p == pod(c())


def test_limit_ranger_several_ranges() -> None:
    first = lr({"type": "Container", "default": {"cpu": "1"}, "max": {"memory": "1Gi"}})
    second = lr({"type": "Container", "default": {"cpu": "2", "memory": "2Gi"}, "max": {"cpu": "500m"}})
    p = pod(c())
    with pytest.raises(AdmissionError) as e:
        limit_ranger(p, "Pod", [first, second])
    # the first range supplies cpu (and memory from its max), so the second has nothing left to default
    assert p["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"},
                                                       "requests": {"cpu": "1", "memory": "1Gi"}}
    assert p["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == \
        "LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c"
    assert e.value.message == 'pods "p" is forbidden: maximum cpu usage per Container is 500m, but limit is 1'


def test_limit_ranger_pod_item_ignores_overhead() -> None:
    p = pod(c(requests={"cpu": "1"}, limits={"cpu": "1"}), overhead={"cpu": "250m"})
    limit_ranger(p, "Pod", [lr({"type": "Pod", "max": {"cpu": "1"}})])


SEED_LIMITS = lr({"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"},
                  "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                  "max": {"cpu": "4", "memory": "8Gi"}, "min": {"cpu": "50m", "memory": "64Mi"}})


@pytest.mark.parametrize(("container", "resources", "message"), [
    (c(), {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}, None),
    (c(limits={"cpu": "2", "memory": "1Gi"}, requests={"cpu": "2", "memory": "1Gi"}),
     {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "2", "memory": "1Gi"}}, None),
    (c(limits={"cpu": "8"}, requests={"cpu": "1"}), None,
     'pods "p" is forbidden: maximum cpu usage per Container is 4, but limit is 8'),
    (c(requests={"memory": "32Mi"}), None,
     'pods "p" is forbidden: minimum memory usage per Container is 64Mi, but request is 32Mi'),
])
def test_seed_limit_range(container: Obj, resources: Obj | None, message: str | None) -> None:
    """The learning doc's LimitRange (default 500m/512Mi, request 100m/128Mi, max 4/8Gi, min 50m/64Mi)."""
    p = pod(container)
    if message is None:
        limit_ranger(p, "Pod", [SEED_LIMITS])
        assert p["spec"]["containers"][0]["resources"] == resources
        return
    with pytest.raises(AdmissionError) as e:
        limit_ranger(p, "Pod", [SEED_LIMITS])
    assert e.value.message == message
