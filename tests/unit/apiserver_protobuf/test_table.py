"""The generated field table: pinned facts, the inline set cross-checked against the official python client's
models, coverage of every built-in kind the apiserver serves, and the generator's parsers."""

from __future__ import annotations

import kubernetes.client.models as client_models
import pytest

from apiserver.protobuf import _table, message_for
from apiserver.resources import Registry
from tools.gen_k8s_proto_table import Package, parse_go, parse_proto

pytestmark = pytest.mark.unit

CORE = "k8s.io.api.core.v1"
SPECIAL = {"Time", "MicroTime", "Duration", "Quantity", "IntOrString", "RawExtension", "FieldsV1"}


def fields(message: str) -> dict[str, tuple[int, str, str, str]]:
    return {f[1]: f for f in _table.MESSAGES[message]}


def test_pinned_field_numbers_and_types() -> None:
    meta = fields("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    assert meta["name"][0] == 1 and meta["creationTimestamp"][0] == 8 and meta["labels"][2] == "map:string:string"
    assert fields(f"{CORE}.Secret")["data"][:3] == (2, "data", "map:string:bytes")
    assert fields("k8s.io.api.apps.v1.DeploymentSpec")["replicas"] == (1, "replicas", "int32", "op")
    assert fields(f"{CORE}.PodSpec")["containers"] == (2, "containers", f"{CORE}.Container", "r")
    # JSON names come from the Go json tags where go-to-protobuf spelled the proto field differently.
    assert "uid" in fields("k8s.io.api.authentication.v1.BoundObjectReference")
    assert "apiGroup" in fields("k8s.io.api.networking.v1.IngressClassParametersReference")


def _client_model(message: str) -> type | None:
    *_, group, version, name = message.split(".")
    for candidate in (f"{group.capitalize()}{version.capitalize()}{name}", f"{version.capitalize()}{name}"):
        model = getattr(client_models, candidate, None)
        if model is not None and hasattr(model, "attribute_map"):
            return model  # type: ignore[no-any-return]
    return None


def test_inline_set_agrees_with_the_python_client_models() -> None:
    """A message field whose JSON name is not an attribute of the client model while the nested message's fields
    are is inlined; the table (from Go's json tags) must say the same for every field both know."""
    checked, inline, disagree = 0, set(), []
    for message, spec in _table.MESSAGES.items():
        model = _client_model(message)
        if model is None:
            continue
        attrs = set(model.attribute_map.values())  # type: ignore[attr-defined]
        for _number, name, typ, flags in spec:
            plain_message = typ in _table.MESSAGES and typ.rsplit(".", 1)[-1] not in SPECIAL
            if "r" in flags or not plain_message:
                continue
            nested = {f[1] for f in _table.MESSAGES[typ]}
            by_client = name not in attrs and bool(nested & attrs)
            checked += 1
            if by_client:
                inline.add(f"{message.rsplit('.', 1)[-1]}.{name}")
            if by_client != ("i" in flags):
                disagree.append((message, name))
    assert disagree == []
    assert checked > 400
    assert {"Volume.volumeSource", "Probe.handler", "PersistentVolumeSpec.persistentVolumeSource",
            "EphemeralContainer.ephemeralContainerCommon", "ConfigMapKeySelector.localObjectReference",
            "SecretKeySelector.localObjectReference", "ConfigMapEnvSource.localObjectReference",
            "SecretEnvSource.localObjectReference", "ConfigMapProjection.localObjectReference",
            "SecretProjection.localObjectReference", "ConfigMapVolumeSource.localObjectReference",
            "IngressRule.ingressRuleValue"} <= inline


def test_every_served_builtin_kind_has_a_message() -> None:
    """Every kind the apiserver serves in a group version the table covers decodes. Groups outside k8s.io/api
    (apiextensions.k8s.io: CustomResourceDefinitions, which kubectl sends as JSON) are not in the table."""
    missing, covered = [], 0
    for r in Registry().all():
        api_version = f"{r.group}/{r.version}" if r.group else r.version
        if api_version not in _table.GROUP_VERSIONS:
            continue
        covered += 1
        if message_for(api_version, r.kind) is None:
            missing.append(f"{api_version} {r.kind}")
    assert missing == []
    assert covered > 30


def test_every_message_type_reference_resolves() -> None:
    for message, spec in _table.MESSAGES.items():
        for _number, name, typ, _flags in spec:
            target = typ.rsplit(":", 1)[-1]
            if "." in target:
                assert target in _table.MESSAGES, (message, name, target)


PROTO = """
syntax = "proto2";
package k8s.io.api.demo.v1;
import "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto";
option go_package = "k8s.io/api/demo/v1";
// A comment with { braces } and message keywords.
message Thing {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  /* block */ optional ThingSpec spec = 2;
  map<string, string> labels = 3;
  repeated string names = 4;
  optional int32 count = 5 [default = 0];
  message Inner { optional bool ok = 1; }
}
message ThingSpec {
  optional Inner body = 1;
}
"""

GO = """
package v1

type Thing struct {
\tmetav1.TypeMeta `json:",inline"`
\t// comment
\tmetav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
\tSpec ThingSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
\tCount *int32 `json:"count,omitempty" protobuf:"varint,5,opt,name=count"`
\tHidden string `json:"-" protobuf:"bytes,9,opt,name=hidden"`
}

type ThingSpec struct {
\tInner `json:"" protobuf:"bytes,1,opt,name=body"`
}

type Names []string
"""


def test_generator_parses_proto_and_go_tags() -> None:
    package, messages = parse_proto(PROTO)
    assert package == "k8s.io.api.demo.v1"
    thing = {f.name: f for f in messages["k8s.io.api.demo.v1.Thing"]}
    assert thing["metadata"].type == "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert thing["spec"].type == "k8s.io.api.demo.v1.ThingSpec"
    assert thing["labels"].type == "map:string:string" and thing["names"].repeated and thing["count"].number == 5
    assert "k8s.io.api.demo.v1.Thing.Inner" in messages
    pkg = Package(proto_package=package, go_package="k8s.io/api/demo/v1", group_version="demo/v1")
    parse_go(GO, pkg)
    assert pkg.kinds == {"Thing"} and pkg.slice_types == {"Names"}
    assert pkg.go_fields[("Thing", 1)].omitempty and not pkg.go_fields[("Thing", 1)].pointer
    assert pkg.go_fields[("Thing", 5)].pointer
    assert pkg.go_fields[("Thing", 9)].json_name is None
    assert pkg.go_fields[("ThingSpec", 1)].inline


def test_go_field_names_for_errors() -> None:
    from apiserver.protobuf.jsonform import go_field_name

    meta = "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert go_field_name(meta, 5, "uid") == "UID"
    assert go_field_name(meta, 1, "name") == "Name"
    assert go_field_name(f"{CORE}.ConfigMap", 1, "metadata") == "ObjectMeta"
    assert go_field_name(f"{CORE}.Volume", 2, "volumeSource") == "VolumeSource"
