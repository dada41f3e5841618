"""Patch metadata: the built-in kinds' facts (from the type table, with the hand table as fallback) and CRD
schemas' list/map types, and what server-side apply records with them."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.patch import builtin_patch_meta, fields_of, server_side_apply, strategic_merge_patch
from apiserver.patch.merge_keys import openapi_patch_meta, table_patch_meta

pytestmark = pytest.mark.unit

# (group, kind, path, strategic merge patch (strategy, key), server-side apply list type or None for maps)
FACTS: list[tuple[str, str, tuple[str, ...], tuple[bool, str | None], str | None]] = [
    ("apps", "Deployment", ("spec", "template", "spec", "containers"), (True, "name"), "keyed"),
    ("apps", "Deployment", ("spec", "template", "spec", "containers", "ports"), (True, "containerPort"), "keyed"),
    ("", "Pod", ("spec", "containers", "env"), (True, "name"), "keyed"),
    ("", "Pod", ("spec", "containers", "envFrom"), (False, None), "atomic"),
    ("", "Pod", ("spec", "containers", "volumeMounts"), (True, "mountPath"), "keyed"),
    ("", "Pod", ("spec", "volumes"), (True, "name"), "keyed"),
    ("", "Pod", ("spec", "tolerations"), (False, None), "atomic"),
    ("", "Pod", ("spec", "hostAliases"), (True, "ip"), "keyed"),
    ("", "Pod", ("metadata", "finalizers"), (True, None), "set"),
    ("", "Pod", ("metadata", "ownerReferences"), (True, "uid"), "keyed"),
    ("", "Pod", ("status", "conditions"), (True, "type"), "keyed"),
    ("batch", "Job", ("status", "conditions"), (True, "type"), "atomic"),  # merge in SMP, atomic for apply
    ("", "Service", ("spec", "ports"), (True, "port"), "keyed"),
    ("", "Node", ("spec", "taints"), (False, None), "atomic"),
    ("", "Node", ("status", "addresses"), (True, "type"), "keyed"),
    ("", "Endpoints", ("subsets",), (False, None), "atomic"),
    ("rbac.authorization.k8s.io", "ClusterRole", ("rules",), (False, None), "atomic"),
    ("autoscaling", "HorizontalPodAutoscaler", ("status", "conditions"), (True, "type"), "keyed"),
]


@pytest.mark.parametrize(("group", "kind", "path", "smp", "ssa"), FACTS)
def test_builtin_facts(group: str, kind: str, path: tuple[str, ...], smp: tuple[bool, str | None],
                       ssa: str | None) -> None:
    from apiserver.patch.fieldsets import list_kind
    meta = builtin_patch_meta(group, kind)
    strategy, key = meta(path)
    merges = "merge" in (strategy or "").split(",")
    assert (merges, (key or "").split(",")[0] or None) == smp
    assert list_kind(meta, path)[0] == ssa


def test_service_ports_keyed_by_port_and_protocol_for_apply() -> None:
    from apiserver.patch.fieldsets import list_kind
    assert list_kind(builtin_patch_meta("", "Service"), ("spec", "ports")) == ("keyed", ["port", "protocol"])
    assert list_kind(builtin_patch_meta("", "Pod"), ("spec", "topologySpreadConstraints")) == (
        "keyed", ["topologyKey", "whenUnsatisfiable"])


def test_atomic_structs_are_owned_whole() -> None:
    pod = {"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                             "uid": "u1", "controller": True}]},
           "spec": {"imagePullSecrets": [{"name": "reg"}], "nodeSelector": {"disk": "ssd"},
                    "containers": [{"name": "c", "env": [{"name": "A", "valueFrom": {
                        "secretKeyRef": {"name": "s", "key": "k"}}}]}]}}
    f = fields_of(pod, builtin_patch_meta("", "Pod"))
    assert f["f:metadata"]["f:ownerReferences"] == {'k:{"uid":"u1"}': {}}
    assert f["f:spec"]["f:imagePullSecrets"] == {'k:{"name":"reg"}': {}}
    assert f["f:spec"]["f:nodeSelector"] == {}
    env = f["f:spec"]["f:containers"]['k:{"name":"c"}']["f:env"]['k:{"name":"A"}']
    assert env == {".": {}, "f:name": {}, "f:valueFrom": {"f:secretKeyRef": {}}}


def test_hand_table_agrees_on_the_common_smp_facts() -> None:
    for group, kind, path, smp, _ in FACTS:
        if (group, kind, path) in {("batch", "Job", ("status", "conditions"))}:
            continue
        strategy, key = table_patch_meta(group, kind)(path)
        assert ("merge" in (strategy or "").split(","), (key or "").split(",")[0] or None) == smp, path


CRD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {
            "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                      "items": {"type": "object", "properties": {"id": {"type": "string"},
                                                                 "v": {"type": "string"}}}},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "args": {"type": "array", "items": {"type": "string"}},
            "sel": {"type": "object", "x-kubernetes-map-type": "atomic",
                    "additionalProperties": {"type": "string"}},
        }},
    },
}


def test_crd_schema_list_and_map_types_drive_apply() -> None:
    meta = openapi_patch_meta(CRD_SCHEMA)
    cr = {"apiVersion": "x.io/v1", "kind": "W", "metadata": {"name": "w"},
          "spec": {"items": [{"id": "a", "v": "1"}], "tags": ["t"], "args": ["x"], "sel": {"k": "v"}}}
    live = server_side_apply(None, cr, "a", "x.io/v1", False, meta, "2026-01-01T00:00:00Z")
    f = live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    assert f == {"f:args": {}, "f:items": {'k:{"id":"a"}': {".": {}, "f:id": {}, "f:v": {}}},
                 "f:sel": {}, "f:tags": {'v:"t"': {}}}
    other = {"apiVersion": "x.io/v1", "kind": "W", "metadata": {"name": "w"},
             "spec": {"items": [{"id": "b", "v": "2"}], "tags": ["u"]}}
    out = server_side_apply(live, other, "b", "x.io/v1", False, meta, "2026-01-01T00:00:01Z")
    assert out["spec"]["items"] == [{"id": "a", "v": "1"}, {"id": "b", "v": "2"}]
    assert out["spec"]["tags"] == ["t", "u"]
    # strategic merge patch is not served for custom resources; the meta still answers it sensibly
    patched = strategic_merge_patch({"spec": {"args": ["x"]}}, {"spec": {"args": ["y"]}}, meta)
    assert patched == {"spec": {"args": ["y"]}}
