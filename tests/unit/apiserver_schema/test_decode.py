"""Strict decoding (unknown fields) and type errors for built-in kinds, worded as the real decoder's."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver import schema
from apiserver.schema.decode import base64_error, rfc3339_error

pytestmark = pytest.mark.unit


def _deploy(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, **spec}}


def test_definition_names() -> None:
    assert schema.definition_name("apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert schema.definition_name("", "v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert schema.definition_name("rbac.authorization.k8s.io", "v1", "ClusterRole") == \
        "io.k8s.api.rbac.v1.ClusterRole"
    assert schema.definition_name("apiextensions.k8s.io", "v1", "CustomResourceDefinition") == \
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
    assert schema.definition_name("", "v1", "Status") == "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
    assert schema.definition_name("apps", "v1", "Nope") is None


def test_valid_objects_have_no_complaints() -> None:
    d = _deploy(replicas=3, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                                  "maxUnavailable": 1}})
    assert schema.unknown_fields("apps", "v1", "Deployment", d) == []
    assert schema.type_errors("apps", "v1", "Deployment", d) == []
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "creationTimestamp": None},
              "data": {"a": "aGVsbG8=", "b": "aGk=\n"}, "stringData": {"c": "x"}, "type": "Opaque"}
    assert schema.unknown_fields("", "v1", "Secret", secret) == []
    assert schema.type_errors("", "v1", "Secret", secret) == []


@pytest.mark.parametrize("obj, paths", [
    (_deploy(replicasx=3), ["spec.replicasx"]),
    ({**_deploy(), "metadata": {"name": "x", "labelz": {}}}, ["metadata.labelz"]),
    ({**_deploy(), "extra": 1}, ["extra"]),
    (_deploy(template={"spec": {"containers": [{"name": "a"}, {"name": "b", "imagex": "y"}]}}),
     ["spec.template.spec.containers[1].imagex"]),
    (_deploy(template={"spec": {"initContainers": [{"name": "a", "restartPolicy": "Always", "foo": 1}],
                                "containers": [{"name": "b", "ports": [{"containerPort": 80, "hostIP2": "x"}]}]}}),
     ["spec.template.spec.initContainers[0].foo", "spec.template.spec.containers[0].ports[0].hostIP2"]),
    # case-sensitive like the real decoder
    (_deploy(Replicas=1), ["spec.Replicas"]),
    # raw JSON (RawExtension) is not looked into; map values of structs are
    ({"apiVersion": "apps/v1", "kind": "ControllerRevision", "revision": 1, "data": {"anything": {"x": 1}}}, []),
])
def test_unknown_fields(obj: dict[str, Any], paths: list[str]) -> None:
    assert schema.unknown_fields(obj["apiVersion"].partition("/")[0] if "/" in obj["apiVersion"] else "",
                                 "v1", obj["kind"], obj) == paths


def test_unknown_fields_under_map_values_and_limits() -> None:
    # ResourceClaim-free example of map[string]struct: none in core; use the CRD kind's versions list instead
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "spec": {"versions": [{"name": "v1", "bogus": True, "schema": {"openAPIV3Schema": {
               "type": "object", "x-custom": 1, "properties": {"spec": {"type": "object"}}}}}]}}
    got = schema.unknown_fields("apiextensions.k8s.io", "v1", "CustomResourceDefinition", crd)
    assert got == ["spec.versions[0].bogus", "spec.versions[0].schema.openAPIV3Schema.x-custom"]
    many = {"apiVersion": "v1", "kind": "ConfigMap", **{f"f{i}": i for i in range(150)}}
    assert len(schema.unknown_fields("", "v1", "ConfigMap", many)) == 100
    assert schema.unknown_fields("", "v1", "NoSuchKind", many) == []


@pytest.mark.parametrize("group, kind, obj, message", [
    ("apps", "Deployment", {"spec": {"replicas": "three"}},
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ("apps", "Deployment", {"spec": {"replicas": 1.5}},
     "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ("apps", "Deployment", {"spec": {"replicas": 3000000000}},
     "json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ("apps", "Deployment", {"spec": "x"},
     "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec"),
    ("apps", "Deployment", {"spec": {"paused": "yes"}},
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool"),
    ("apps", "Deployment", {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "env": [{"name": "X", "value": 7}]}]}}}},
     "json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type "
     "string"),
    ("apps", "Deployment", {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [
        {"name": "X", "value": True}]}]}}}},
     "json: cannot unmarshal bool into Go struct field EnvVar.spec.template.spec.containers.env.value of type "
     "string"),
    ("", "Pod", {"spec": {"containers": {"name": "a"}}},
     "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container"),
    ("", "Pod", {"spec": {"containers": [{"name": "a", "args": ["x", 1]}]}},
     "json: cannot unmarshal number into Go struct field Container.spec.containers.args of type string"),
    ("", "Pod", {"spec": {"containers": [{"name": "a", "command": "ls"}]}},
     "json: cannot unmarshal string into Go struct field Container.spec.containers.command of type []string"),
    ("", "Pod", {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}},
     "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of "
     "type int32"),
    # named Go types print as reflect does
    ("", "Pod", {"spec": {"restartPolicy": 1}},
     "json: cannot unmarshal number into Go struct field PodSpec.spec.restartPolicy of type v1.RestartPolicy"),
    ("", "Pod", {"spec": {"containers": [{"name": "a", "imagePullPolicy": False}]}},
     "json: cannot unmarshal bool into Go struct field Container.spec.containers.imagePullPolicy of type "
     "v1.PullPolicy"),
    ("", "Pod", {"metadata": {"labels": {"a": 1}}},
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
    ("", "Pod", {"metadata": {"uid": 5}},
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.uid of type types.UID"),
    ("", "Pod", {"metadata": {"labels": "a=b"}},
     "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
    ("", "Pod", {"spec": {"containers": [{"name": "a", "resources": {"limits": ["1"]}}]}},
     "json: cannot unmarshal array into Go struct field ResourceRequirements.spec.containers.resources.limits of "
     "type v1.ResourceList"),
    # the first mismatch in document order wins ...
    ("", "Pod", {"spec": {"hostname": 1, "restartPolicy": 2}},
     "json: cannot unmarshal number into Go struct field PodSpec.spec.hostname of type string"),
    # ... unless a custom unmarshaller (IntOrString, Time, Quantity) fails later: that aborts decoding
    ("", "Service", {"spec": {"clusterIP": 5, "ports": [{"port": 80, "targetPort": True}]}},
     "json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32"),
    ("", "Service", {"spec": {"ports": [{"port": 80, "targetPort": 1.5}]}},
     "json: cannot unmarshal number 1.5 into Go struct field ServicePort.spec.ports.targetPort of type int32"),
    ("", "Pod", {"metadata": {"creationTimestamp": 12}},
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"),
    ("", "Pod", {"metadata": {"creationTimestamp": "yesterday"}},
     'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'),
    ("", "Pod", {"spec": {"containers": [{"name": "a", "resources": {"requests": {"memory": "1Gb"}}}]}},
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("", "Secret", {"data": {"k": "not base64!"}}, "illegal base64 data at input byte 3"),
])
def test_type_errors(group: str, kind: str, obj: dict[str, Any], message: str) -> None:
    assert schema.type_errors(group, "v1", kind, obj) == [message]


def test_nulls_and_intorstring_accepted() -> None:
    obj = {"metadata": {"labels": None, "creationTimestamp": None},
           "spec": {"replicas": None, "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}}}
    assert schema.type_errors("apps", "v1", "Deployment", obj) == []


@pytest.mark.parametrize("s, err", [
    ("aGVsbG8=", None), ("aGk=", None), ("", None), ("aGVs\nbG8=", None),
    ("abc", "illegal base64 data at input byte 0"),
    ("ab=c", "illegal base64 data at input byte 2"),
    ("a===", "illegal base64 data at input byte 1"),
    ("aGk=x", "illegal base64 data at input byte 4"),
    ("aG!=", "illegal base64 data at input byte 2"),
])
def test_base64_like_go(s: str, err: str | None) -> None:
    assert base64_error(s) == err


@pytest.mark.parametrize("s, err", [
    ("2024-05-01T10:00:00Z", None), ("2024-05-01T10:00:00.123+02:00", None),
    ("2024-05-01", 'parsing time "2024-05-01" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T"'),
    ("2024-13-01T00:00:00Z", 'parsing time "2024-13-01T00:00:00Z": month out of range'),
    ("2024-05-01T10:00:00", 'parsing time "2024-05-01T10:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" '
                            'as "Z07:00"'),
    ("2024-05-01T10:00:00Zjunk", 'parsing time "2024-05-01T10:00:00Zjunk": extra text: "junk"'),
])
def test_rfc3339_like_go(s: str, err: str | None) -> None:
    assert rfc3339_error(s) == err


def test_microtime_wants_six_digits() -> None:
    assert rfc3339_error("2024-05-01T10:00:00.123456Z", micro=True) is None
    assert rfc3339_error("2024-05-01T10:00:00Z", micro=True) == (
        'parsing time "2024-05-01T10:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"')
    lease = {"spec": {"renewTime": "2024-05-01T10:00:00.5Z"}}
    assert schema.type_errors("coordination.k8s.io", "v1", "Lease", lease) == [
        'parsing time "2024-05-01T10:00:00.5Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".5Z" as '
        '".000000"']


def test_duplicate_fields() -> None:
    raw = b'{"metadata": {"name": "a", "name": "b"}, "spec": {"containers": [{"name": "x", "image": "i", ' \
          b'"image": "j"}], "replicas": 1, "replicas": 2}}'
    assert schema.duplicate_fields(raw) == ["metadata.name", "spec.containers[0].image", "spec.replicas"]
    assert schema.duplicate_fields('{"a": 1}') == []
    assert schema.duplicate_fields(b"not json") == []


def test_messages_are_wrapped_like_the_real_decoder() -> None:
    assert schema.strict_error_message("Deployment", "v1", ["spec.replicasx", "spec.foo"]) == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replicasx", unknown field "spec.foo"')
    assert schema.strict_error_message("Pod", "v1", [], ["metadata.name"]) == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: duplicate field "metadata.name"')
    detail = schema.type_errors("apps", "v1", "Deployment", {"spec": {"replicas": "3"}})[0]
    assert schema.cannot_handle("Deployment", "v1", detail) == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct '
        'field DeploymentSpec.spec.replicas of type int32')
