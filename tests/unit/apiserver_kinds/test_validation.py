"""Validation: causes and NewInvalid messages compared verbatim with what the real apiserver returns."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from apiserver import kinds
from apiserver.kinds import Cause
from apiserver.kinds.field import invalid_message

pytestmark = pytest.mark.unit

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
         "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def _create(group: str, kind: str, obj: dict[str, Any], version: str = "v1") -> list[Cause]:
    obj = copy.deepcopy(obj)
    kinds.apply_defaults(group, version, kind, obj)
    return kinds.validate_create(group, version, kind, obj)


def _msg(group: str, kind: str, obj: dict[str, Any]) -> str:
    return kinds.invalid_message(kind, obj["metadata"].get("name", ""), _create(group, kind, obj))


def pod(name: str = "web", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": base}


def deployment(sel: Any = None, labels: Any = None, **spec: Any) -> dict[str, Any]:
    tmpl: dict[str, Any] = {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    if labels is not None:
        tmpl["metadata"] = {"labels": labels}
    body: dict[str, Any] = {"template": tmpl, **spec}
    if sel is not None:
        body["selector"] = sel
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": body}


def test_valid_objects_have_no_causes() -> None:
    assert _create("", "Pod", pod()) == []
    assert _create("apps", "Deployment", deployment({"matchLabels": {"app": "web"}}, {"app": "web"})) == []
    svc = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"selector": {"app": "web"},
                                                                         "ports": [{"port": 80}]}}
    assert _create("", "Service", svc) == []
    assert _create("", "Namespace", {"metadata": {"name": "dev"}}) == []


def test_bad_pod_name() -> None:
    assert _msg("", "Pod", pod("Foo_bar")) == f'Pod "Foo_bar" is invalid: metadata.name: Invalid value: "Foo_bar": ' \
                                              f'{SUBDOMAIN}'
    [cause] = _create("", "Pod", pod("Foo_bar"))
    assert (cause.type, cause.field) == ("FieldValueInvalid", "metadata.name")


def test_service_and_namespace_names() -> None:
    svc = {"metadata": {"name": "1web", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}
    assert _msg("", "Service", svc) == f'Service "1web" is invalid: metadata.name: Invalid value: "1web": {DNS1035}'
    assert _msg("", "Namespace", {"metadata": {"name": "a.b"}}) == \
        'Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots'


def test_deployment_without_selector() -> None:
    assert _msg("apps", "Deployment", deployment(labels={"app": "web"})) == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid '
        'value: map[string]string{"app":"web"}: `selector` does not match template `labels`]')


def test_deployment_selector_mismatch() -> None:
    assert _msg("apps", "Deployment", deployment({"matchLabels": {"app": "x"}}, {"app": "web"})) == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"web"}: `selector` does not match template `labels`')


def test_deployment_empty_selector_and_bad_strategy() -> None:
    causes = _create("apps", "Deployment", deployment({}, {"app": "web"}, replicas=-1,
                                                      strategy={"rollingUpdate": {"maxUnavailable": 0,
                                                                                  "maxSurge": 0}}))
    assert [str(c) for c in causes] == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, "
        "StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
    ]


def test_replicaset_template_restart_policy() -> None:
    rs = deployment({"matchLabels": {"app": "web"}}, {"app": "web"})
    rs["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert [str(c) for c in _create("apps", "ReplicaSet", rs)] == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']


def test_job_restart_policy_always() -> None:
    job: dict[str, Any] = {"metadata": {"name": "pi", "namespace": "default", "uid": "u1"},
                           "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}}}
    assert _msg("batch", "Job", job) == ('Job.batch "pi" is invalid: spec.template.spec.restartPolicy: Required '
                                         'value: valid values: "OnFailure", "Never"')
    job["spec"]["template"]["spec"]["restartPolicy"] = "Sometimes"
    assert [str(c) for c in _create("batch", "Job", job)] == [
        'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", '
        '"Never"',
        'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", "Never"']


def test_job_manual_selector_mismatch() -> None:
    job = {"metadata": {"name": "j", "namespace": "default", "uid": "u1"},
           "spec": {"manualSelector": True, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "c"}}, "spec": {
                        "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}
    assert [str(c) for c in _create("batch", "Job", job)] == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"a":"c"}: `selector` does not match '
        'template `labels`']


@pytest.mark.parametrize(("spec", "expected"), [
    ({"containers": []}, ["spec.containers: Required value"]),
    ({"containers": [{"name": "web"}]}, ["spec.containers[0].image: Required value"]),
    ({"containers": [{"name": "Web", "image": "x"}]},
     [f'spec.containers[0].name: Invalid value: "Web": {LABEL}']),
    ({"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]},
     ['spec.containers[1].name: Duplicate value: "a"']),
    ({"restartPolicy": "Sometimes"},
     ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"']),
    ({"dnsPolicy": "Cluster"},
     ['spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", "ClusterFirst", '
      '"Default", "None"']),
    ({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 70000}]}]},
     ["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"]),
    ({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80, "protocol": "tcp"}]}]},
     ['spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"']),
    ({"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Sometimes"}]},
     ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", '
      '"IfNotPresent", "Never"']),
    ({"containers": [{"name": "a", "image": "x", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]},
     ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1']),
    ({"containers": [{"name": "a", "image": "x", "resources": {"limits": {"memory": "1Gb"}}}]},
     ['spec.containers[0].resources.limits[memory]: Invalid value: "1Gb": quantities must match the regular '
      "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      # requests were defaulted from limits, so they carry the same bad value
      'spec.containers[0].resources.requests[memory]: Invalid value: "1Gb": quantities must match the regular '
      "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]),
    ({"containers": [{"name": "a", "image": "x", "resources": {"limits": {"gpu": "1"}}}]},
     ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers',
      'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for '
      'containers']),
    ({"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}]},
     ['spec.containers[0].volumeMounts[0].name: Not found: "data"']),
])
def test_pod_spec_errors(spec: dict[str, Any], expected: list[str]) -> None:
    assert [str(c) for c in _create("", "Pod", pod(**spec))] == expected


def test_labels_and_annotations() -> None:
    p = pod()
    p["metadata"]["labels"] = {"app": "bad value"}
    p["metadata"]["annotations"] = {"a b": "x"}
    causes = _create("", "Pod", p)
    assert [c.field for c in causes] == ["metadata.labels", "metadata.annotations"]
    assert causes[0].message.startswith('Invalid value: "bad value": a valid label must be an empty string')
    assert causes[1].message.startswith('Invalid value: "a b": name part must consist of alphanumeric')


@pytest.mark.parametrize(("spec", "expected"), [
    ({"ports": []}, ["spec.ports: Required value"]),
    ({"ports": [{"port": 80}, {"port": 81}]},
     ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]),
    ({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]}, ['spec.ports[1].name: Duplicate value: "a"']),
    ({"ports": [{"port": 0}]}, ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    ({"ports": [{"port": 80, "protocol": "HTTP"}]},
     ['spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"']),
    ({"type": "Balanced", "ports": [{"port": 80}]},
     ['spec.type: Unsupported value: "Balanced": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
      '"NodePort"']),
    ({"ports": [{"port": 80, "nodePort": 30080}]},
     ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]),
    ({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]},
     ['spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), '
      'Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}']),
    ({"clusterIP": "None"}, []),
])
def test_service_errors(spec: dict[str, Any], expected: list[str]) -> None:
    svc = {"metadata": {"name": "web", "namespace": "default"}, "spec": spec}
    assert [str(c) for c in _create("", "Service", svc)] == expected


def _update(group: str, kind: str, old: dict[str, Any], change: Any) -> list[Cause]:
    old = copy.deepcopy(old)
    kinds.apply_defaults(group, "v1", kind, old)
    new = copy.deepcopy(old)
    change(new)
    kinds.apply_defaults(group, "v1", kind, new)
    return kinds.validate_update(group, "v1", kind, new, old)


def test_pod_update_image_allowed_other_fields_forbidden() -> None:
    def image(p: dict[str, Any]) -> None:
        p["spec"]["containers"][0]["image"] = "nginx:1.25"

    assert _update("", "Pod", pod(), image) == []

    def port(p: dict[str, Any]) -> None:
        p["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]

    [cause] = _update("", "Pod", pod(), port)
    assert cause.type == "FieldValueForbidden" and cause.field == "spec"
    assert cause.message.startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
        "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
        "  core.PodSpec{\n")

    def toleration(p: dict[str, Any]) -> None:
        p["spec"]["tolerations"].append({"key": "k", "operator": "Exists", "effect": "NoSchedule"})

    assert _update("", "Pod", pod(), toleration) == []


def test_deployment_selector_immutable() -> None:
    old = deployment({"matchLabels": {"app": "web"}}, {"app": "web"})

    def change(d: dict[str, Any]) -> None:
        d["spec"]["selector"] = {"matchLabels": {"app": "web2"}}
        d["spec"]["template"]["metadata"]["labels"] = {"app": "web2"}

    assert [str(c) for c in _update("apps", "Deployment", old, change)] == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, '
        'MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable']


def test_service_cluster_ip_immutable_and_name_immutable() -> None:
    old = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"clusterIP": "10.96.0.10",
                                                                         "ports": [{"port": 80}]}}

    def change(s: dict[str, Any]) -> None:
        s["spec"]["clusterIP"] = "10.96.0.11"
        s["metadata"]["name"] = "other"

    assert [str(c) for c in _update("", "Service", old, change)] == [
        'metadata.name: Invalid value: "other": field is immutable',
        'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set',
        'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable']


def test_job_template_immutable() -> None:
    job = {"metadata": {"name": "j", "namespace": "default", "uid": "u1"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}

    def change(j: dict[str, Any]) -> None:
        j["spec"]["template"]["spec"]["containers"][0]["image"] = "y"

    assert [c.field for c in _update("batch", "Job", job, change)] == ["spec.template"]


def test_configmap_and_secret() -> None:
    cm = {"metadata": {"name": "c", "namespace": "default"}, "data": {"bad key": "v", "ok.key": "v"}}
    assert [str(c) for c in _create("", "ConfigMap", cm)] == [
        "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', "
        "'_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
        "'[-._a-zA-Z0-9]+')"]
    tls = {"metadata": {"name": "t", "namespace": "default"}, "type": "kubernetes.io/tls", "data": {}}
    assert [str(c) for c in _create("", "Secret", tls)] == ["data[tls.crt]: Required value",
                                                             "data[tls.key]: Required value"]
    frozen = {"metadata": {"name": "c", "namespace": "default"}, "immutable": True, "data": {"a": "1"}}

    def change(c: dict[str, Any]) -> None:
        c["data"]["a"] = "2"

    assert [str(c) for c in _update("", "ConfigMap", frozen, change)] == [
        "data: Forbidden: field is immutable when `immutable` is set"]


def test_cronjob_schedule() -> None:
    tmpl = {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "x"}]}}
    cj: dict[str, Any] = {"metadata": {"name": "c", "namespace": "default"},
                          "spec": {"schedule": "* * *", "jobTemplate": {"spec": {"template": tmpl}}}}
    assert [str(c) for c in _create("batch", "CronJob", cj)] == [
        'spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: * * *']
    cj["spec"]["schedule"] = "61 * * * *"
    assert [str(c) for c in _create("batch", "CronJob", cj)] == [
        'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']
    cj["spec"]["schedule"] = "*/5 * * * mon-fri"
    assert _create("batch", "CronJob", cj) == []
    cj["spec"]["schedule"] = "@hourly"
    assert _create("batch", "CronJob", cj) == []


def test_invalid_message_format() -> None:
    causes = [Cause("FieldValueRequired", "Required value", "spec.selector"),
              Cause("FieldValueRequired", "Required value", "spec.selector")]
    assert invalid_message("Deployment.apps", "web", causes) == \
        'Deployment.apps "web" is invalid: spec.selector: Required value'
    assert kinds.invalid_message("Deployment", "web", []) == 'Deployment.apps "web" is invalid'
    assert kinds.invalid_message("Pod", "p", causes[:1]) == 'Pod "p" is invalid: spec.selector: Required value'


def test_wrong_types_do_not_crash() -> None:
    weird: list[Any] = [None, 1, "x", [], {"containers": "nope"}, {"containers": [None, 3]}]
    for spec in weird:
        for group, kind in [("", "Pod"), ("apps", "Deployment"), ("batch", "Job"), ("", "Service"),
                            ("apps", "StatefulSet"), ("batch", "CronJob"), ("", "Secret")]:
            obj = {"metadata": {"name": "x", "namespace": "default", "uid": "u"}, "spec": spec}
            kinds.apply_defaults(group, "v1", kind, obj)
            kinds.validate_create(group, "v1", kind, obj)
            kinds.validate_update(group, "v1", kind, obj, copy.deepcopy(obj))


def test_statefulset_mounts_may_use_claim_templates() -> None:
    sts = {"metadata": {"name": "db", "namespace": "default"}, "spec": {
        "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
            {"name": "db", "image": "postgres", "volumeMounts": [{"name": "data", "mountPath": "/var/lib/pg"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
    assert _create("apps", "StatefulSet", sts) == []
    assert _msg("apps", "StatefulSet", dict(sts, metadata={"name": "db.v1", "namespace": "default"})) == \
        'StatefulSet.apps "db.v1" is invalid: metadata.name: Invalid value: "db.v1": must not contain dots'


def test_tolerations_and_taints() -> None:
    bad = pod(tolerations=[{"operator": "Equal", "value": "x"},
                           {"key": "k", "operator": "Exists", "value": "v"},
                           {"key": "k", "effect": "Sometimes"}])
    assert [str(c) for c in _create("", "Pod", bad)] == [
        'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which '
        'means "match all values and all keys"',
        'spec.tolerations[1].operator: Invalid value: core.Toleration{Key:"k", Operator:"Exists", Value:"v", '
        'Effect:"", TolerationSeconds:(*int64)(nil)}: value must be empty when `operator` is \'Exists\'',
        'spec.tolerations[2].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"']
    node = {"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"},
                                                            {"key": "gpu", "effect": "NoSchedule"},
                                                            {"key": "x", "effect": ""}]}}
    assert [str(c) for c in _create("", "Node", node)] == [
        'spec.taints[1]: Duplicate value: core.Taint{Key:"gpu", Value:"", Effect:"NoSchedule", TimeAdded:<nil>}: '
        'taints must be unique by key and effect pair',
        "spec.taints[2].effect: Required value"]


def test_service_cluster_ip_syntax() -> None:
    svc: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default"},
                           "spec": {"clusterIP": "10.96.0.300", "ports": [{"port": 80}]}}
    assert [str(c) for c in _create("", "Service", svc)] == [
        'spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or '
        '2001:db8::ffff)']
    svc["spec"]["clusterIP"] = "None"
    assert _create("", "Service", svc) == []


def test_decode_error_for_bad_quantities() -> None:
    bad = pod(containers=[{"name": "a", "image": "x", "resources": {"limits": {"memory": "1Gb"}}}])
    assert kinds.decode_error("", "v1", "Pod", bad) == (
        'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression '
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    dep = deployment({"matchLabels": {"app": "web"}}, {"app": "web"})
    assert kinds.decode_error("apps", "v1", "Deployment", dep) is None
    dep["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1mm"}}
    assert kinds.decode_error("apps", "v1", "Deployment", dep) == (
        'Deployment in version "v1" cannot be handled as a Deployment: unable to parse quantity\'s suffix')
    ok = pod(containers=[{"name": "a", "image": "x", "resources": {"limits": {"cpu": 1, "memory": None}}}])
    assert kinds.decode_error("", "v1", "Pod", ok) is None
    quota = {"metadata": {"name": "q"}, "spec": {"hard": {"pods": True}}}
    assert kinds.decode_error("", "v1", "ResourceQuota", quota) is not None


def test_object_meta_generate_name_owner_refs_finalizers() -> None:
    p = pod()
    p["metadata"] = {"generateName": "web-", "name": "web-x7k2p", "namespace": "default",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1",
                                          "controller": True},
                                         {"apiVersion": "apps/", "kind": "ReplicaSet", "name": "b", "uid": "2",
                                          "controller": True}],
                     "finalizers": ["example.com/cleanup", "bad finalizer"]}
    assert [str(c) for c in _create("", "Pod", p)] == [
        'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
        'metadata.ownerReferences: Invalid value: []v1.OwnerReference{...}: Only one reference can have Controller '
        'set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b',
        'metadata.finalizers: Invalid value: "bad finalizer": name part must consist of alphanumeric characters, '
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
        "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]
    p = pod()
    p["metadata"] = {"generateName": "Web-", "name": "Web-abcde", "namespace": "default"}
    assert [c.field for c in _create("", "Pod", p)] == ["metadata.generateName", "metadata.name"]
    p["metadata"] = {"name": "web"}
    assert [str(c) for c in _create("", "Pod", p)] == ["metadata.namespace: Required value"]
    ns = {"metadata": {"name": "dev", "namespace": "default"}}
    assert [str(c) for c in _create("", "Namespace", ns)] == ["metadata.namespace: Forbidden: not allowed on this type"]


def test_configmap_and_secret_size_limits() -> None:
    big = {"metadata": {"name": "c", "namespace": "default"}, "data": {"a": "x" * (1024 * 1024 + 1)}}
    assert kinds.invalid_message("ConfigMap", "c", _create("", "ConfigMap", big)) == \
        'ConfigMap "c" is invalid: []: Too long: may not be more than 1048576 bytes'
    sec = {"metadata": {"name": "s", "namespace": "default"},
           "data": {"a": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()}}
    assert [str(c) for c in _create("", "Secret", sec)] == ["data: Too long: may not be more than 1048576 bytes"]


def _stored_service(kind: str) -> dict[str, Any]:
    svc: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default"},
                           "spec": {"type": kind, "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}}
    kinds.apply_defaults("", "v1", "Service", svc)
    svc["spec"]["clusterIP"] = "10.96.0.10"
    svc["spec"]["clusterIPs"] = ["10.96.0.10"]
    if kind == "NodePort":
        svc["spec"]["ports"][0]["nodePort"] = 30080
    return svc


def test_service_replace_keeps_allocated_values() -> None:
    old = _stored_service("NodePort")
    new: dict[str, Any] = {"metadata": dict(old["metadata"]), "spec": {
        "type": "NodePort", "selector": {"app": "web2"}, "ports": [{"name": "http", "port": 80}]}}
    kinds.apply_defaults("", "v1", "Service", new)
    kinds.prepare_update("", "v1", "Service", new, old)
    assert new["spec"]["clusterIP"] == "10.96.0.10" and new["spec"]["clusterIPs"] == ["10.96.0.10"]
    assert new["spec"]["ports"][0]["nodePort"] == 30080
    assert kinds.validate_update("", "v1", "Service", new, old) == []


def test_service_type_change_drops_node_ports() -> None:
    old = _stored_service("NodePort")
    new = copy.deepcopy(old)
    new["spec"]["type"] = "ClusterIP"
    kinds.apply_defaults("", "v1", "Service", new)
    assert [c.field for c in kinds.validate_update("", "v1", "Service", new, old)] == [
        "spec.ports[0].nodePort", "spec.externalTrafficPolicy"]
    kinds.prepare_update("", "v1", "Service", new, old)
    assert "nodePort" not in new["spec"]["ports"][0] and "externalTrafficPolicy" not in new["spec"]
    assert kinds.validate_update("", "v1", "Service", new, old) == []
    ext = copy.deepcopy(_stored_service("ClusterIP"))
    ext["spec"].update(type="ExternalName", externalName="example.com")
    kinds.prepare_update("", "v1", "Service", ext, _stored_service("ClusterIP"))
    assert "clusterIP" not in ext["spec"] and "ipFamilies" not in ext["spec"]


@pytest.mark.parametrize(("container", "expected"), [
    ({"livenessProbe": {"httpGet": {"port": 0}}},
     ["spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    ({"readinessProbe": {"exec": {}}}, ["spec.containers[0].readinessProbe.exec.command: Required value"]),
    ({"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}},
     ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
    ({"startupProbe": {"periodSeconds": 5}},
     ["spec.containers[0].startupProbe: Required value: must specify a handler type"]),
    ({"env": [{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
     ['spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty']),
    ({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm"}}}]},
     ["spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Required value"]),
])
def test_probe_and_env_errors(container: dict[str, Any], expected: list[str]) -> None:
    assert [str(c) for c in _create("", "Pod", pod(containers=[{"name": "a", "image": "x", **container}]))] == expected


def test_host_port_conflict() -> None:
    p = pod(containers=[{"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]},
                        {"name": "b", "image": "x", "ports": [{"containerPort": 81, "hostPort": 8080}]}])
    assert [str(c) for c in _create("", "Pod", p)] == ['spec.containers[1].ports[0].hostPort: Duplicate value: '
                                                       '"/TCP/8080"']


@pytest.mark.parametrize(("group", "kind", "obj", "expected"), [
    ("autoscaling", "HorizontalPodAutoscaler",
     {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 5, "maxReplicas": 2}},
     ["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]),
    ("autoscaling", "HorizontalPodAutoscaler", {"spec": {"maxReplicas": 0}},
     ["spec.scaleTargetRef.kind: Required value", "spec.scaleTargetRef.name: Required value",
      "spec.maxReplicas: Invalid value: 0: must be greater than 0"]),
    ("policy", "PodDisruptionBudget", {"spec": {"minAvailable": "150%"}},
     ["spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater "
      "than 100%"]),
    ("networking.k8s.io", "Ingress", {"spec": {"rules": [{"host": "foo.com", "http": {"paths": [
        {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
     ["spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"]),
    ("rbac.authorization.k8s.io", "RoleBinding", {"roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                              "kind": "Secret", "name": "x"},
                                                  "subjects": [{"kind": "User", "name": "jane"}]},
     ['roleRef.kind: Unsupported value: "Secret": supported values: "Role", "ClusterRole"']),
    ("rbac.authorization.k8s.io", "Role", {"rules": [{"apiGroups": [""], "resources": ["pods"]}]},
     ["rules[0].verbs: Required value: verbs must contain at least one value"]),
    ("scheduling.k8s.io", "PriorityClass", {"value": 2000000000},
     ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]),
])
def test_other_kinds(group: str, kind: str, obj: dict[str, Any], expected: list[str]) -> None:
    namespaced = kinds.rules_for(group, kind).namespaced  # type: ignore[union-attr]
    obj = dict(obj, metadata={"name": "x", **({"namespace": "default"} if namespaced else {})})
    assert [str(c) for c in _create(group, kind, obj)] == expected


def test_crd_naming() -> None:
    crd: dict[str, Any] = {"metadata": {"name": "widgets.example.com"}, "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True}]}}
    assert _create("apiextensions.k8s.io", "CustomResourceDefinition", crd) == []
    crd["metadata"]["name"] = "widget.example.com"
    assert [str(c) for c in _create("apiextensions.k8s.io", "CustomResourceDefinition", crd)] == [
        'metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group']


def test_cronjob_time_zone() -> None:
    tmpl = {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "x"}]}}
    cj: dict[str, Any] = {"metadata": {"name": "c", "namespace": "default"},
                          "spec": {"schedule": "0 * * * *", "timeZone": "Europe/Berlin",
                                   "jobTemplate": {"spec": {"template": tmpl}}}}
    assert _create("batch", "CronJob", cj) == []
    cj["spec"]["timeZone"] = "Mars/Base"
    assert [str(c) for c in _create("batch", "CronJob", cj)] == [
        'spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base']


def test_missing_template_is_an_empty_one() -> None:
    dep = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    assert _msg("apps", "Deployment", dep) == (
        'Deployment.apps "web" is invalid: [spec.template.metadata.labels: Invalid value: map[string]string(nil): '
        '`selector` does not match template `labels`, spec.template.spec.containers: Required value]')


def test_ephemeral_containers() -> None:
    debug = {"name": "debugger", "image": "busybox", "targetContainerName": "web"}
    assert [str(c) for c in _create("", "Pod", pod(ephemeralContainers=[debug]))] == [
        "spec.ephemeralContainers: Forbidden: cannot be set on create"]

    def add(p: dict[str, Any]) -> None:
        p["spec"]["ephemeralContainers"] = [dict(debug)]

    assert _update("", "Pod", pod(), add) == []
    old = pod()
    kinds.apply_defaults("", "v1", "Pod", old)
    add(old)
    kinds.apply_defaults("", "v1", "Pod", old)

    def change(p: dict[str, Any]) -> None:
        p["spec"]["ephemeralContainers"][0]["image"] = "alpine"
        p["spec"]["ephemeralContainers"].append({"name": "web", "image": "x", "ports": [{"containerPort": 1}]})

    assert [str(c) for c in _update("", "Pod", old, change)] == [
        'spec.ephemeralContainers[1].name: Duplicate value: "web"',
        "spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container",
        'spec.ephemeralContainers[0]: Forbidden: existing ephemeral containers "debugger" may not be changed']


def test_scheduling_gates_may_only_be_removed() -> None:
    gated = pod(schedulingGates=[{"name": "example.com/wait"}, {"name": "example.com/other"}])

    def remove(p: dict[str, Any]) -> None:
        p["spec"]["schedulingGates"] = [{"name": "example.com/other"}]

    assert _update("", "Pod", gated, remove) == []

    def add(p: dict[str, Any]) -> None:
        p["spec"]["schedulingGates"].append({"name": "example.com/new"})

    assert [str(c) for c in _update("", "Pod", gated, add)] == [
        "spec.schedulingGates: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/new'"]


def test_host_path_type() -> None:
    p = pod(volumes=[{"name": "h", "hostPath": {"path": "/x", "type": "Dir"}}])
    assert [str(c) for c in _create("", "Pod", p)] == [
        'spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", '
        '"Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"']
