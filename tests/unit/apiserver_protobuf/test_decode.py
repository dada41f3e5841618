"""decode(): each JSON-mapping rule on hand-built bodies (Go's encoding/json output is the oracle)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from apiserver.protobuf import MAGIC, ProtobufError, decode
from tests.unit.apiserver_protobuf.pbenc import double, entry, envelope, m, meta, packed, s, v

pytestmark = pytest.mark.unit

T_2026 = 1795161600  # 2026-11-20T08:00:00Z


def cm(*fields: bytes) -> dict[str, Any]:
    return decode(envelope("v1", "ConfigMap", m(s(1, meta("c")), *fields)))


def test_minimal_object_has_type_meta_and_null_creation_timestamp() -> None:
    assert cm() == {"kind": "ConfigMap", "apiVersion": "v1",
                    "metadata": {"name": "c", "creationTimestamp": None}}


def test_maps_strings_and_bytes_base64() -> None:
    got = cm(entry(2, "a", "b"), entry(2, "empty", ""), entry(3, "bin", b"\x00\xff"), v(4, 0))
    assert got["data"] == {"a": "b", "empty": ""}
    assert got["binaryData"] == {"bin": base64.b64encode(b"\x00\xff").decode()}
    # immutable is a *bool: present false is kept.
    assert got["immutable"] is False


def test_map_entry_without_value_is_the_zero_value_and_last_key_wins() -> None:
    got = cm(s(2, s(1, "k")), entry(2, "d", "1"), entry(2, "d", "2"))
    assert got["data"] == {"k": "", "d": "2"}


def test_secret_data_bytes_and_empty_bytes() -> None:
    got = decode(envelope("v1", "Secret", m(s(1, meta("s")), entry(2, "k", b"\x01\x02"), entry(2, "e", b""),
                                            s(3, "Opaque"))))
    assert got["data"] == {"k": "AQI=", "e": ""}
    assert got["type"] == "Opaque"


def test_labels_annotations_and_unknown_fields_are_skipped() -> None:
    body = m(s(1, meta("c", labels=entry(11, "app", "x"), ann=entry(12, "note", "y"))), s(99, "ignored"), v(98, 7))
    got = decode(envelope("v1", "ConfigMap", body))
    assert got["metadata"] == {"name": "c", "creationTimestamp": None, "labels": {"app": "x"},
                               "annotations": {"note": "y"}}


def deployment(spec: bytes) -> dict[str, Any]:
    return decode(envelope("apps/v1", "Deployment", m(s(1, meta("d")), s(2, spec), s(3, b""))))


def test_pointer_present_zero_is_kept_and_absent_is_omitted() -> None:
    assert deployment(v(1, 0))["spec"]["replicas"] == 0
    assert "replicas" not in deployment(b"")["spec"]


def test_value_structs_are_always_printed_and_nil_pointers_without_omitempty_are_null() -> None:
    got = deployment(b"")
    assert got["spec"] == {
        "selector": None,  # *LabelSelector with json:"selector"
        "template": {"metadata": {"creationTimestamp": None}, "spec": {"containers": None}},
        "strategy": {},
    }
    assert got["status"] == {}


def test_value_scalars_with_omitempty_drop_zero_values() -> None:
    got = deployment(m(v(5, 0), v(7, 0), v(6, 10)))
    assert "minReadySeconds" not in got["spec"] and "paused" not in got["spec"]
    assert got["spec"]["revisionHistoryLimit"] == 10


def test_negative_int32_and_int64() -> None:
    got = decode(envelope("scheduling.k8s.io/v1", "PriorityClass", m(s(1, meta("p")), v(2, -5))))
    assert got["value"] == -5
    # value has no omitempty: a zero value is printed.
    assert decode(envelope("scheduling.k8s.io/v1", "PriorityClass", s(1, meta("p"))))["value"] == 0
    pod = decode(envelope("v1", "Pod", m(s(1, meta("p")), s(2, m(v(4, -1))))))
    assert pod["spec"]["terminationGracePeriodSeconds"] == -1


def pod_spec(*fields: bytes) -> dict[str, Any]:
    got = decode(envelope("v1", "Pod", m(s(1, meta("p")), s(2, m(*fields)))))
    return got["spec"]  # type: ignore[no-any-return]


def test_repeated_numbers_packed_and_unpacked() -> None:
    sc = s(14, m(packed(4, [1, 2]), v(4, 3)))
    assert pod_spec(sc)["securityContext"] == {"supplementalGroups": [1, 2, 3]}


def test_inline_volume_source() -> None:
    vol = s(1, m(s(1, "data"), s(2, s(2, b""))))  # Volume{name, volumeSource{emptyDir{}}}
    assert pod_spec(vol)["volumes"] == [{"name": "data", "emptyDir": {}}]


def test_inline_probe_handler_and_int_or_string() -> None:
    http = m(s(1, "/healthz"), s(2, m(v(1, 1), v(2, 0), s(3, "http"))))
    probe = m(s(1, s(2, http)), v(2, 3))
    named = s(2, m(s(1, "c"), s(2, "img"), s(10, probe)))
    got = pod_spec(named)["containers"][0]
    assert got["livenessProbe"] == {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 3}
    numeric = m(s(1, "/"), s(2, m(v(1, 0), v(2, 8080), s(3, ""))))
    c = pod_spec(s(2, m(s(1, "c"), s(11, s(1, s(2, numeric))))))["containers"][0]
    assert c["readinessProbe"] == {"httpGet": {"path": "/", "port": 8080}}


def test_inline_local_object_reference_in_key_selectors() -> None:
    ref = m(s(1, s(1, "cfg")), s(2, "k"))  # ConfigMapKeySelector{LocalObjectReference{name}, key}
    env = s(7, m(s(1, "E"), s(3, s(3, ref))))
    c = pod_spec(s(2, m(s(1, "c"), env)))["containers"][0]
    assert c["env"] == [{"name": "E", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]


def test_container_value_structs_and_non_omitempty_name() -> None:
    c = pod_spec(s(2, b""))["containers"][0]
    assert c == {"name": "", "resources": {}}


def test_quantities_in_maps_and_zero_quantity() -> None:
    hard = m(entry(1, "cpu", s(1, "500m")), s(1, m(s(1, "pods"), s(2, b""))))
    got = decode(envelope("v1", "ResourceQuota", m(s(1, meta("q")), s(2, hard))))
    assert got["spec"] == {"hard": {"cpu": "500m", "pods": "0"}}


def test_malformed_quantity_is_the_go_parse_error() -> None:
    hard = entry(1, "cpu", s(1, "lots"))
    with pytest.raises(ProtobufError, match=r"^quantities must match the regular expression"):
        decode(envelope("v1", "ResourceQuota", m(s(1, meta("q")), s(2, hard))))


def test_time_fields() -> None:
    got = cm(b"")
    assert got["metadata"]["creationTimestamp"] is None
    body = meta("c") + s(8, m(v(1, T_2026), v(2, 999))) + s(9, v(1, T_2026 + 61))
    got = decode(envelope("v1", "ConfigMap", s(1, body)))
    # metav1.Time keeps whole seconds (nanos dropped); a later field occurrence merges into the first.
    assert got["metadata"]["creationTimestamp"] == "2026-11-20T08:00:00Z"
    assert got["metadata"]["deletionTimestamp"] == "2026-11-20T08:01:01Z"
    epoch = decode(envelope("v1", "ConfigMap", s(1, meta("c") + s(8, v(2, 5)))))
    assert epoch["metadata"]["creationTimestamp"] == "1970-01-01T00:00:00Z"


def test_micro_time_and_value_struct_timestamps() -> None:
    body = m(s(1, meta("e")), s(2, m(v(1, T_2026), v(2, 123456789))), s(7, "Started"))
    got = decode(envelope("events.k8s.io/v1", "Event", body))
    assert got["eventTime"] == "2026-11-20T08:00:00.123456Z"
    assert got["reason"] == "Started"
    assert got["deprecatedFirstTimestamp"] is None and got["deprecatedLastTimestamp"] is None
    assert got["regarding"] == {} and got["deprecatedSource"] == {}


def test_raw_extension_json_and_embedded_protobuf() -> None:
    raw_json = b'{"spec":{"x":1}}'
    got = decode(envelope("apps/v1", "ControllerRevision", m(s(1, meta("r")), s(2, s(1, raw_json)), v(3, 2))))
    assert got["data"] == {"spec": {"x": 1}} and got["revision"] == 2
    inner = envelope("v1", "ConfigMap", m(s(1, meta("c")), entry(2, "a", "b")))
    got = decode(envelope("apps/v1", "ControllerRevision", m(s(1, meta("r")), s(2, s(1, inner)))))
    assert got["data"]["data"] == {"a": "b"} and got["data"]["kind"] == "ConfigMap"
    absent = decode(envelope("apps/v1", "ControllerRevision", s(1, meta("r"))))
    assert absent["data"] is None and absent["revision"] == 0


def test_managed_fields_fields_v1() -> None:
    mf = s(17, m(s(1, "kubectl"), s(2, "Update"), s(3, "v1"), s(6, "FieldsV1"), s(7, s(1, b'{"f:data":{}}'))))
    got = decode(envelope("v1", "ConfigMap", s(1, meta("c") + mf)))
    assert got["metadata"]["managedFields"] == [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                                                 "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}]


def test_slice_message_extra_values() -> None:
    extra = s(5, m(s(1, "scopes"), s(2, m(s(1, "a"), s(1, "b")))))
    body = m(s(1, meta("r")), s(2, m(s(2, s(1, "/logs") + s(2, "get")), s(3, "bob"), extra)))
    got = decode(envelope("authorization.k8s.io/v1", "SubjectAccessReview", body))
    assert got["spec"] == {"nonResourceAttributes": {"path": "/logs", "verb": "get"}, "user": "bob",
                           "extra": {"scopes": ["a", "b"]}}
    assert got["status"] == {"allowed": False}


def test_eviction_with_delete_options_and_meta_kinds_in_every_version() -> None:
    opts = m(v(1, 0), s(4, "Foreground"), s(5, "All"))
    got = decode(envelope("policy/v1", "Eviction", m(s(1, meta("p")), s(2, opts))))
    assert got["deleteOptions"] == {"gracePeriodSeconds": 0, "propagationPolicy": "Foreground", "dryRun": ["All"]}
    got = decode(envelope("v1", "DeleteOptions", s(4, "Background")))
    assert got == {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}


def test_floating_point_fields_decode() -> None:
    # No served v1 kind carries a double; exercise the wire path through the decoder directly.
    from apiserver.protobuf.jsonform import _scalar

    raw = double(1, 2.5)[1:]
    assert _scalar("double", 1, int.from_bytes(raw, "little"), "x") == 2.5


def test_strings_keep_utf8_and_replace_invalid_bytes() -> None:
    got = cm(entry(2, "k", "héllo".encode()), entry(2, "bad", b"\xff"))
    assert got["data"] == {"k": "héllo", "bad": "\ufffd"}


# ------------------------------------------------------------------------------------------------------ errors

@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty data"),
    (b"{}", "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"),
    (MAGIC, "empty body"),
    (MAGIC + s(1, s(1, "v1")), "Object 'Kind' is missing in 'runtime.TypeMeta{APIVersion:\"v1\", Kind:\"\"}'"),
    (MAGIC + s(1, s(2, "Pod")), "Object 'apiVersion' is missing in 'runtime.TypeMeta{APIVersion:\"\", Kind:\"Pod\"}'"),
    (envelope("v1", "Nope", b""),
     'no kind "Nope" is registered for version "v1" in scheme "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"'),
    (envelope("apps/v9", "Deployment", b""),
     'no kind "Deployment" is registered for version "apps/v9" in scheme '
     '"k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"'),
    (MAGIC + b"\x0a\x05ab", "unexpected EOF"),
    (envelope("v1", "ConfigMap", b"\x0a"), "unexpected EOF"),
    (envelope("v1", "ConfigMap", v(1, 3)), "proto: wrong wireType = 0 for field ObjectMeta"),
    (envelope("v1", "ConfigMap", s(1, v(1, 1))), "proto: wrong wireType = 0 for field Name"),
    (envelope("v1", "ConfigMap", b"\x0c"), "proto: ConfigMap: wiretype end group for non-group"),
    (envelope("v1", "ConfigMap", b"\x0e"), "proto: illegal wireType 6"),
    (envelope("v1", "ConfigMap", b"\x00"), "proto: ConfigMap: illegal tag 0 (wire type 0)"),
    (envelope("v1", "ConfigMap", b"\x02"), "proto: ConfigMap: illegal tag 0 (wire type 2)"),
    (envelope("v1", "ConfigMap", b"\x80\x80\x80\x80\x40"),
     "proto: ConfigMap: illegal tag -2147483648 (wire type 17179869184)"),
    (envelope("v1", "ConfigMap", b"\x08" + b"\xff" * 11), "proto: integer overflow"),
    (envelope("apps/v1", "ControllerRevision", s(2, s(1, b"not json"))),
     "unable to decode embedded object: not JSON or Kubernetes protobuf"),
])
def test_bad_bodies_fail_with_the_go_decoder_message(body: bytes, message: str) -> None:
    with pytest.raises(ProtobufError) as err:
        decode(body)
    assert str(err.value) == message
    assert isinstance(err.value, ValueError)


def test_deeply_nested_embedded_objects_are_refused_not_a_crash() -> None:
    body = envelope("v1", "ConfigMap", s(1, meta("c")))
    for _ in range(120):
        body = envelope("apps/v1", "ControllerRevision", s(2, s(1, body)))
    with pytest.raises(ProtobufError, match="nesting"):
        decode(body)
