"""Server-side apply and managedFields: create, re-apply, field removal, shared ownership, conflicts and force,
and the bookkeeping of ordinary updates (the `kubectl scale` then apply conflict)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.patch import (
    ApplyConflict,
    PatchError,
    builtin_patch_meta,
    fields_of,
    path_string,
    server_side_apply,
    update_managed_fields,
)
from apiserver.patch.fieldsets import from_fields_v1, to_fields_v1

pytestmark = pytest.mark.unit

META = builtin_patch_meta("apps", "Deployment")
T0, T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"


def _config(replicas: int = 2, image: str = "nginx", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels if labels is not None else {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image,
                                                       "ports": [{"containerPort": 80}]}]}}},
    }


def _entries(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def _stored(obj: dict[str, Any]) -> dict[str, Any]:
    """What the registry would add on create (fields managedFields never tracks)."""
    out = copy.deepcopy(obj)
    out["metadata"].update({"uid": "u1", "resourceVersion": "5", "creationTimestamp": T0, "generation": 1,
                            "namespace": "default"})
    return out


def test_create_records_the_applied_fields() -> None:
    obj = server_side_apply(None, _config(), "kubectl", "apps/v1", False, META, T0)
    (entry,) = obj["metadata"]["managedFields"]
    assert entry == {
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T0, "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {'k:{"name":"web"}': {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
                    }}},
                },
            },
        },
    }
    assert obj["spec"]["replicas"] == 2


def test_reapply_is_a_no_op() -> None:
    live = _stored(server_side_apply(None, _config(), "kubectl", "apps/v1", False, META, T0))
    again = server_side_apply(live, _config(), "kubectl", "apps/v1", False, META, T1)
    assert again == live  # time not bumped


def test_changed_manifest_updates_value_and_time() -> None:
    live = _stored(server_side_apply(None, _config(), "kubectl", "apps/v1", False, META, T0))
    out = server_side_apply(live, _config(image="nginx:2"), "kubectl", "apps/v1", False, META, T1)
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert _entries(out)[("kubectl", "Apply")]["time"] == T1
    assert out["metadata"]["uid"] == "u1"


def test_field_no_longer_applied_is_removed() -> None:
    live = _stored(server_side_apply(None, _config(labels={"app": "web", "tier": "fe"}), "kubectl", "apps/v1",
                                     False, META, T0))
    out = server_side_apply(live, _config(labels={"app": "web"}), "kubectl", "apps/v1", False, META, T1)
    assert out["metadata"]["labels"] == {"app": "web"}
    fields = from_fields_v1(_entries(out)[("kubectl", "Apply")]["fieldsV1"])
    assert ("f:metadata", "f:labels", "f:tier") not in fields


def test_removed_container_goes_whole() -> None:
    cfg = _config()
    cfg["spec"]["template"]["spec"]["containers"].append({"name": "log", "image": "busybox"})
    live = _stored(server_side_apply(None, cfg, "kubectl", "apps/v1", False, META, T0))
    live["spec"]["template"]["spec"]["containers"][1]["terminationMessagePath"] = "/dev/termination-log"  # default
    out = server_side_apply(live, _config(), "kubectl", "apps/v1", False, META, T1)
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_field_kept_when_another_manager_owns_it() -> None:
    live = _stored(server_side_apply(None, _config(labels={"app": "web", "tier": "fe"}), "a", "apps/v1", False,
                                     META, T0))
    live = server_side_apply(live, {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "metadata": {"name": "web", "labels": {"tier": "fe"}}},
                             "b", "apps/v1", False, META, T1)
    out = server_side_apply(live, _config(labels={"app": "web"}), "a", "apps/v1", False, META, T2)
    assert out["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    b = from_fields_v1(_entries(out)[("b", "Apply")]["fieldsV1"])
    assert b == {("f:metadata", "f:labels", "f:tier")}


def test_same_value_is_shared_without_conflict() -> None:
    live = _stored(server_side_apply(None, _config(), "a", "apps/v1", False, META, T0))
    out = server_side_apply(live, _config(), "b", "apps/v1", False, META, T1)
    assert ("f:spec", "f:replicas") in from_fields_v1(_entries(out)[("a", "Apply")]["fieldsV1"])
    assert ("f:spec", "f:replicas") in from_fields_v1(_entries(out)[("b", "Apply")]["fieldsV1"])


def test_conflict_between_appliers_and_force() -> None:
    live = _stored(server_side_apply(None, _config(), "a", "apps/v1", False, META, T0))
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(live, _config(replicas=5), "b", "apps/v1", False, META, T1)
    assert e.value.conflicts == [("a", ".spec.replicas")]
    assert e.value.message == 'Apply failed with 1 conflict: conflict with "a": .spec.replicas'
    assert e.value.causes == [{"reason": "FieldManagerConflict", "message": 'conflict with "a"',
                               "field": ".spec.replicas"}]
    out = server_side_apply(live, _config(replicas=5), "b", "apps/v1", True, META, T1)
    assert out["spec"]["replicas"] == 5
    assert ("f:spec", "f:replicas") not in from_fields_v1(_entries(out)[("a", "Apply")]["fieldsV1"])
    assert ("f:spec", "f:replicas") in from_fields_v1(_entries(out)[("b", "Apply")]["fieldsV1"])


def test_scale_then_apply_conflicts_with_the_update_manager() -> None:
    live = _stored(server_side_apply(None, _config(), "kubectl", "apps/v1", False, META, T0))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    update_managed_fields(live, scaled, "kubectl-scale", "Update", "apps/v1", META, T1)
    scale = _entries(scaled)[("kubectl-scale", "Update")]
    assert scale["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert scale["time"] == T1
    assert ("f:spec", "f:replicas") not in from_fields_v1(_entries(scaled)[("kubectl", "Apply")]["fieldsV1"])
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(scaled, _config(replicas=3), "kubectl", "apps/v1", False, META, T2)
    assert str(e.value) == ('Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: '
                            ".spec.replicas")
    # Applying the live value (or leaving replicas out) does not conflict.
    server_side_apply(scaled, _config(replicas=5), "kubectl", "apps/v1", False, META, T2)


def test_several_conflicts_message() -> None:
    live = _stored(server_side_apply(None, _config(), "a", "apps/v1", False, META, T0))
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(live, _config(replicas=5, image="redis"), "b", "apps/v1", False, META, T1)
    assert e.value.message == ('Apply failed with 2 conflicts: conflicts with "a":\n'
                               '- .spec.replicas\n'
                               '- .spec.template.spec.containers[name="web"].image')


def test_apply_rejects_managed_fields_and_wrong_version() -> None:
    cfg = _config()
    cfg["metadata"]["managedFields"] = []
    with pytest.raises(PatchError) as e:
        server_side_apply(None, cfg, "kubectl", "apps/v1", False, META, T0)
    assert (e.value.code, str(e.value)) == (400, "metadata.managedFields must be nil")
    cfg = _config()
    cfg["apiVersion"] = "apps/v1beta1"
    with pytest.raises(PatchError) as e:
        server_side_apply(None, cfg, "kubectl", "apps/v1", False, META, T0)
    assert str(e.value) == ("Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, "
                            "expected: apps/v1")


def test_update_on_create_records_added_fields() -> None:
    obj = _stored(_config())
    update_managed_fields(None, obj, "kubectl-create", "Update", "apps/v1", META, T0)
    (entry,) = obj["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl-create" and entry["operation"] == "Update" and entry["time"] == T0
    f = entry["fieldsV1"]
    assert f["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}  # no ".": metadata always exists
    assert "." not in f["f:spec"] and "." not in f["f:spec"]["f:template"]
    assert f["f:spec"]["f:selector"] == {}
    containers = f["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert "." not in containers  # PodSpec.containers has no omitempty: the zero object has it (null)
    assert containers['k:{"name":"web"}']["."] == {}
    assert containers['k:{"name":"web"}']["f:ports"]["."] == {}  # ports are omitempty


def test_update_without_changes_keeps_entries() -> None:
    obj = _stored(_config())
    update_managed_fields(None, obj, "m", "Update", "apps/v1", META, T0)
    again = copy.deepcopy(obj)
    update_managed_fields(obj, again, "m", "Update", "apps/v1", META, T1)
    assert again["metadata"]["managedFields"] == obj["metadata"]["managedFields"]


def test_update_removal_leaves_every_set() -> None:
    obj = _stored(_config(labels={"app": "web", "tier": "fe"}))
    update_managed_fields(None, obj, "m", "Update", "apps/v1", META, T0)
    new = copy.deepcopy(obj)
    del new["metadata"]["labels"]["tier"]
    update_managed_fields(obj, new, "other", "Update", "apps/v1", META, T1)
    assert ("other", "Update") not in _entries(new)
    assert "f:tier" not in _entries(new)[("m", "Update")]["fieldsV1"]["f:metadata"]["f:labels"]
    assert _entries(new)[("m", "Update")]["time"] == T0


def test_status_is_not_tracked_on_the_main_resource_but_is_on_status() -> None:
    obj = _stored(_config())
    new = copy.deepcopy(obj)
    new["status"] = {"replicas": 2}
    update_managed_fields(obj, new, "m", "Update", "apps/v1", META, T1)
    assert "managedFields" not in new["metadata"]
    update_managed_fields(obj, new, "m", "Update", "apps/v1", META, T1, subresource="status")
    (entry,) = new["metadata"]["managedFields"]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {".": {}, "f:replicas": {}}}


def test_reset_managed_fields() -> None:
    obj = _stored(_config())
    update_managed_fields(None, obj, "m", "Update", "apps/v1", META, T0)
    new = copy.deepcopy(obj)
    new["metadata"]["managedFields"] = [{}]
    update_managed_fields(obj, new, "m", "Update", "apps/v1", META, T1)
    assert "managedFields" not in new["metadata"]


def test_entries_sorted_apply_first_then_time() -> None:
    live = _stored(server_side_apply(None, _config(), "z-apply", "apps/v1", False, META, T2))
    new = copy.deepcopy(live)
    new["metadata"]["annotations"] = {"x": "1"}
    update_managed_fields(live, new, "a-update", "Update", "apps/v1", META, T3)
    assert [(e["manager"], e["operation"]) for e in new["metadata"]["managedFields"]] == [
        ("z-apply", "Apply"), ("a-update", "Update")]


def test_fields_v1_round_trip_and_path_strings() -> None:
    obj = {"metadata": {"finalizers": ["x"], "labels": {"a": "1"}},
           "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "UDP"}]}]}}
    pod = builtin_patch_meta("", "Pod")
    f = fields_of(obj, pod)
    assert f["f:metadata"]["f:finalizers"] == {'v:"x"': {}}
    assert from_fields_v1(to_fields_v1(from_fields_v1(f))) == from_fields_v1(f)
    assert path_string(("f:spec", 'k:{"name":"c"}', "f:image")) == '.spec[name="c"].image'
    assert path_string(("f:metadata", "f:finalizers", 'v:"x"')) == '.metadata.finalizers[="x"]'
    assert path_string(("f:spec", 'k:{"containerPort":80,"protocol":"UDP"}')) == (
        '.spec[containerPort=80,protocol="UDP"]')


def test_apply_merges_keyed_lists_and_keeps_other_fields() -> None:
    live = _stored(server_side_apply(None, _config(), "a", "apps/v1", False, META, T0))
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always"  # defaulted, unowned
    sidecar = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"template": {"spec": {"containers": [{"name": "log", "image": "busybox"}]}}}}
    out = server_side_apply(live, sidecar, "b", "apps/v1", False, META, T1)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "log"]
    assert containers[0]["imagePullPolicy"] == "Always"


def test_create_path_after_apply_keeps_the_apply_entry() -> None:
    """The registry runs its create bookkeeping on an object server-side apply just built: nothing moves."""
    obj = _stored(server_side_apply(None, _config(), "kubectl", "apps/v1", False, META, T0))
    before = copy.deepcopy(obj["metadata"]["managedFields"])
    update_managed_fields(None, obj, "kubectl", "Update", "apps/v1", META, T1)
    assert obj["metadata"]["managedFields"] == before


def _client_side_applied(cfg: dict[str, Any]) -> dict[str, Any]:
    """An object as `kubectl apply` (client-side) leaves it: annotation plus an Update entry."""
    from apiserver.patch.apply import last_applied_text
    obj = copy.deepcopy(cfg)
    obj["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": last_applied_text(cfg)}
    obj = _stored(obj)
    update_managed_fields(None, obj, "kubectl-client-side-apply", "Update", "apps/v1", META, T0)
    return obj


def test_kubectl_server_side_apply_takes_over_from_client_side_apply() -> None:
    live = _client_side_applied(_config())
    out = server_side_apply(live, _config(image="nginx:2"), "kubectl", "apps/v1", False, META, T1)
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    annotation = out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert annotation.endswith("\n")
    assert '"image":"nginx:2"' in annotation
    # Another manager name gets the conflict.
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(live, _config(image="nginx:2"), "other", "apps/v1", False, META, T1)
    assert e.value.conflicts == [("kubectl-client-side-apply", '.spec.template.spec.containers[name="web"].image')]


def test_last_applied_does_not_excuse_fields_changed_since() -> None:
    live = _client_side_applied(_config())
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    update_managed_fields(live, scaled, "kubectl-scale", "Update", "apps/v1", META, T1)
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(scaled, _config(replicas=3), "kubectl", "apps/v1", False, META, T2)
    assert e.value.conflicts == [("kubectl-scale", ".spec.replicas")]


def test_last_applied_text_is_go_json() -> None:
    from apiserver.patch.apply import last_applied_text
    cfg = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "a", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": "old", "x": "<&>"}}, "data": {"é": "1"}}
    assert last_applied_text(cfg) == ('{"apiVersion":"v1","data":{"é":"1"},"kind":"ConfigMap","metadata":'
                                      '{"annotations":{"x":"\\u003c\\u0026\\u003e"},"name":"a"}}\n')


def test_conflict_paths_in_field_set_order() -> None:
    from apiserver.patch.fieldsets import iteration_order
    paths = {("f:spec", "f:a", "f:b"), ("f:spec", "f:z"), ("f:metadata", "f:labels", "f:x")}
    assert iteration_order(paths) == [("f:metadata", "f:labels", "f:x"), ("f:spec", "f:z"), ("f:spec", "f:a", "f:b")]


def test_explicit_null_unsets_and_is_owned() -> None:
    live = _stored(server_side_apply(None, _config(), "a", "apps/v1", False, META, T0))
    cfg = _config()
    cfg["spec"]["replicas"] = None
    out = server_side_apply(live, cfg, "a", "apps/v1", False, META, T1)
    assert "replicas" not in out["spec"]
    assert ("f:spec", "f:replicas") in from_fields_v1(_entries(out)[("a", "Apply")]["fieldsV1"])


def test_conflict_with_a_status_subresource_manager_is_described_so() -> None:
    from apiserver.patch.errors import ApplyConflict as Conflict
    e = Conflict([("kubelet", "Update", "v1", "status", ".status.phase")])
    assert e.message == 'Apply failed with 1 conflict: conflict with "kubelet" with subresource "status" using v1: ' \
                        '.status.phase'


def test_replace_without_managed_fields_keeps_the_live_ones() -> None:
    """A PUT body that omits managedFields (clients that do not know them) must not wipe them."""
    obj = _stored(_config())
    update_managed_fields(None, obj, "m", "Update", "apps/v1", META, T0)
    for change in (False, True):
        body = copy.deepcopy(obj)
        del body["metadata"]["managedFields"]
        if change:
            body["metadata"]["labels"]["x"] = "1"
        update_managed_fields(obj, body, "n", "Update", "apps/v1", META, T1)
        assert ("m", "Update") in _entries(body)
        assert (("n", "Update") in _entries(body)) == change


def test_update_managers_capped_at_ten() -> None:
    obj = _stored(_config())
    update_managed_fields(None, obj, "m0", "Update", "apps/v1", META, "2026-01-01T00:00:00Z")
    for i in range(1, 12):
        new = copy.deepcopy(obj)
        new["metadata"]["labels"][f"l{i}"] = "x"
        update_managed_fields(obj, new, f"m{i}", "Update", "apps/v1", META, f"2026-01-01T00:00:{i:02d}Z")
        obj = new
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(managers) == 10
    assert "ancient-changes" in managers and "m0" not in managers and "m1" not in managers and "m2" not in managers
    ancient = _entries(obj)[("ancient-changes", "Update")]
    fields = from_fields_v1(ancient["fieldsV1"])
    assert {("f:metadata", "f:labels", "f:l1"), ("f:metadata", "f:labels", "f:l2")} <= fields
    assert ancient["time"] == "2026-01-01T00:00:02Z"


def test_untracked_object_is_first_owned_by_before_first_apply() -> None:
    live = _stored(_config())  # no managedFields at all
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(live, _config(replicas=7), "kubectl", "apps/v1", False, META, T1)
    assert e.value.message == ('Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: '
                               ".spec.replicas")
    out = server_side_apply(live, _config(), "kubectl", "apps/v1", False, META, T1)
    assert {e["manager"] for e in out["metadata"]["managedFields"]} == {"kubectl", "before-first-apply"}


def test_update_bookkeeping_never_fails_the_write() -> None:
    obj = _stored(_config())
    update_managed_fields(None, obj, "m", "Update", "apps/v1", META, T0)
    bad = copy.deepcopy(obj)
    bad["spec"]["template"]["spec"]["containers"].append({"image": "no-name"})
    update_managed_fields(obj, bad, "m", "Update", "apps/v1", META, T1)
    assert "managedFields" not in bad["metadata"]


def test_duplicate_list_keys_in_an_applied_configuration() -> None:
    cfg = _config()
    cfg["spec"]["template"]["spec"]["containers"].append({"name": "web", "image": "other"})
    with pytest.raises(PatchError) as e:
        server_side_apply(None, cfg, "kubectl", "apps/v1", False, META, T0)
    assert str(e.value) == ('failed to create typed patch object: .spec.template.spec.containers: duplicate entries '
                            'for key [name="web"]')
