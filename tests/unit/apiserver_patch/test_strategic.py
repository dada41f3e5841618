"""Strategic merge patch: the cases of the Kubernetes docs ("Update API Objects in Place Using kubectl patch")
and the directives of the strategic-merge-patch design, checked against apimachinery's semantics."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.patch import PatchError, builtin_patch_meta, strategic_merge_patch

pytestmark = pytest.mark.unit

DEPLOY = builtin_patch_meta("apps", "Deployment")
POD = builtin_patch_meta("", "Pod")


def _demo() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "patch-demo"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}},
                              "spec": {"containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                                       "tolerations": [{"effect": "NoSchedule", "key": "dedicated",
                                                        "value": "test-team"}]}}},
    }


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def test_docs_containers_merged_by_name_new_one_first() -> None:
    doc = _demo()
    before = copy.deepcopy(doc)
    out = strategic_merge_patch(doc, {"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr-2", "image": "redis"}]}}}}, DEPLOY)
    assert _pod_spec(out)["containers"] == [{"name": "patch-demo-ctr-2", "image": "redis"},
                                            {"name": "patch-demo-ctr", "image": "nginx"}]
    assert doc == before


def test_docs_tolerations_replaced() -> None:
    out = strategic_merge_patch(_demo(), {"spec": {"template": {"spec": {"tolerations": [
        {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}}}}, DEPLOY)
    assert _pod_spec(out)["tolerations"] == [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]


def test_docs_retain_keys() -> None:
    doc = _demo()
    doc["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}}
    out = strategic_merge_patch(doc, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, DEPLOY)
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_must_cover_the_patch() -> None:
    with pytest.raises(PatchError) as e:
        strategic_merge_patch(_demo(), {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
                              DEPLOY)
    assert (e.value.code, str(e.value)) == (400, "invalid patch format of retainKeys")


def test_existing_container_merged_field_by_field() -> None:
    out = strategic_merge_patch(_demo(), {"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}]}]}}}}, DEPLOY)
    assert _pod_spec(out)["containers"] == [{"name": "patch-demo-ctr", "image": "nginx:1.27",
                                             "env": [{"name": "A", "value": "1"}]}]


def test_nested_lists_merge_by_their_own_keys() -> None:
    doc = _demo()
    _pod_spec(doc)["containers"][0]["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    _pod_spec(doc)["containers"][0]["ports"] = [{"containerPort": 80}]
    out = strategic_merge_patch(doc, {"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr", "env": [{"name": "B", "value": "3"}], "ports": [{"containerPort": 443}]}]}}}},
        DEPLOY)
    c = _pod_spec(out)["containers"][0]
    assert c["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    assert c["ports"] == [{"containerPort": 443}, {"containerPort": 80}]


def test_delete_directive_on_list_item() -> None:
    doc = _demo()
    _pod_spec(doc)["containers"].append({"name": "sidecar", "image": "busybox"})
    out = strategic_merge_patch(doc, {"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr", "$patch": "delete"}]}}}}, DEPLOY)
    assert _pod_spec(out)["containers"] == [{"name": "sidecar", "image": "busybox"}]


def test_replace_directive_on_list() -> None:
    out = strategic_merge_patch(_demo(), {"spec": {"template": {"spec": {"containers": [
        {"$patch": "replace"}, {"name": "only", "image": "busybox"}]}}}}, DEPLOY)
    assert _pod_spec(out)["containers"] == [{"name": "only", "image": "busybox"}]


def test_replace_directive_on_map() -> None:
    doc = _demo()
    doc["metadata"]["labels"] = {"a": "1", "b": "2"}
    out = strategic_merge_patch(doc, {"metadata": {"labels": {"$patch": "replace", "c": "3"}}}, DEPLOY)
    assert out["metadata"]["labels"] == {"c": "3"}


def test_delete_directive_on_map() -> None:
    doc = _demo()
    doc["metadata"]["labels"] = {"a": "1"}
    out = strategic_merge_patch(doc, {"metadata": {"labels": {"$patch": "delete"}}}, DEPLOY)
    assert out["metadata"]["labels"] == {}


def test_null_deletes_and_maps_merge() -> None:
    doc = _demo()
    doc["metadata"]["labels"] = {"a": "1", "b": "2"}
    out = strategic_merge_patch(doc, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"replicas": None}},
                                DEPLOY)
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert "replicas" not in out["spec"]


def test_unmatched_nulls_are_dropped() -> None:
    out = strategic_merge_patch({"metadata": {}}, {"metadata": {"annotations": {"x": None, "y": "1"}}}, POD)
    assert out["metadata"]["annotations"] == {"y": "1"}


def test_finalizers_merge_as_a_set() -> None:
    doc = {"metadata": {"finalizers": ["a", "b"]}}
    out = strategic_merge_patch(doc, {"metadata": {"finalizers": ["b", "c"]}}, POD)
    assert sorted(out["metadata"]["finalizers"]) == ["a", "b", "c"]
    assert out["metadata"]["finalizers"] == ["a", "b", "c"]  # b keeps its live place, c is placed after it


def test_new_scalar_comes_before_later_live_items() -> None:
    out = strategic_merge_patch({"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["c"]}}, POD)
    assert out["metadata"]["finalizers"] == ["c", "a", "b"]


def test_delete_from_primitive_list() -> None:
    doc = {"metadata": {"finalizers": ["a", "b", "c"]}}
    out = strategic_merge_patch(doc, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}, POD)
    assert out["metadata"]["finalizers"] == ["a", "c"]


def test_set_element_order() -> None:
    doc = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"},
                                   {"name": "c", "image": "3"}]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
                      "containers": [{"name": "a", "image": "9"}]}}
    out = strategic_merge_patch(doc, patch, POD)
    assert out["spec"]["containers"] == [{"name": "c", "image": "3"}, {"name": "a", "image": "9"},
                                         {"name": "b", "image": "2"}]


def test_set_element_order_alone_reorders() -> None:
    doc = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    out = strategic_merge_patch(doc, {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}, POD)
    assert out["spec"]["containers"] == [{"name": "b"}, {"name": "a"}]


def test_set_element_order_must_match_the_patch_list() -> None:
    doc = {"spec": {"containers": [{"name": "a"}]}}
    with pytest.raises(PatchError):
        strategic_merge_patch(doc, {"spec": {"$setElementOrder/containers": [{"name": "a"}],
                                             "containers": [{"name": "z"}]}}, POD)


def test_kubectl_apply_style_patch() -> None:
    """What client-side `kubectl apply` sends after a manifest change: order list plus changed items."""
    doc = {"metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}]},
                                   {"name": "log", "image": "busybox"}]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "web"}],
                      "containers": [{"name": "web", "image": "nginx:2"}, {"$patch": "delete", "name": "log"}]}}
    out = strategic_merge_patch(doc, patch, POD)
    assert out["spec"]["containers"] == [{"name": "web", "image": "nginx:2", "ports": [{"containerPort": 80}]}]


def test_list_without_strategy_is_replaced() -> None:
    doc = {"spec": {"containers": [{"name": "a", "args": ["x", "y"]}]}}
    out = strategic_merge_patch(doc, {"spec": {"containers": [{"name": "a", "args": ["z"]}]}}, POD)
    assert out["spec"]["containers"] == [{"name": "a", "args": ["z"]}]


def test_type_change_replaces() -> None:
    out = strategic_merge_patch({"a": {"b": 1}}, {"a": "s"}, POD)
    assert out == {"a": "s"}


def test_item_without_merge_key() -> None:
    with pytest.raises(PatchError) as e:
        strategic_merge_patch(_demo(), {"spec": {"template": {"spec": {"containers": [{"image": "redis"}]}}}},
                              DEPLOY)
    assert str(e.value) == "map: map[image:redis] does not contain declared merge key: name"


def test_unknown_patch_directive() -> None:
    with pytest.raises(PatchError) as e:
        strategic_merge_patch({"a": {}}, {"a": {"$patch": "frobnicate"}}, POD)
    assert str(e.value) == "unknown patch type: frobnicate in map: map[$patch:frobnicate]"


def test_malformed_directives_are_400() -> None:
    for patch in ({"$retainKeys": "type"}, {"$setElementOrder/containers": "x"},
                  {"$deleteFromPrimitiveList/finalizers": "x"}):
        with pytest.raises(PatchError) as e:
            strategic_merge_patch({}, copy.deepcopy(patch), POD)
        assert e.value.code == 400


def test_service_ports_merge_by_port() -> None:
    svc = builtin_patch_meta("", "Service")
    doc = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    out = strategic_merge_patch(doc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, svc)
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_node_conditions_by_type() -> None:
    node = builtin_patch_meta("", "Node")
    doc = {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure",
                                                                            "status": "False"}]}}
    out = strategic_merge_patch(doc, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, node)
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                           {"type": "DiskPressure", "status": "False"}]


def test_patch_is_not_modified() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "x", "$patch": "delete"}]}}},
             "metadata": {"$patch": "replace", "name": "n"}}
    before = copy.deepcopy(patch)
    strategic_merge_patch(_demo(), patch, DEPLOY)
    assert patch == before
