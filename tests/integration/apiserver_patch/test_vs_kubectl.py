"""apiserver.patch against the real Go code, using the installed kubectl as an oracle (no server needed).

``kubectl patch --local -f obj.json --type strategic|json|merge -p PATCH -o json`` applies a patch with the same
Go libraries the apiserver uses (apimachinery strategicpatch with the built-in types' patch tags, the vendored
evanphx/json-patch, RFC 7386 merge), so both the result and the error text must match ours. kubectl is pointed
at a closed loopback port; nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from apiserver.patch import PatchError, builtin_patch_meta, json_patch, merge_patch, strategic_merge_patch

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")]

Obj = dict[str, Any]


def cm(**meta: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", **meta}}


def pod(spec: Obj, **meta: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", **meta}, "spec": spec}


def deploy(spec: Obj) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": spec}


def ctrs(*names: str, **fields: Any) -> list[Obj]:
    return [{"name": n, **fields} for n in names]


S, J, M = "strategic", "json", "merge"

CASES: list[tuple[str, str, Obj, Any]] = [
    # strategic merge patch
    ("finalizers add", S, cm(finalizers=["a", "b"]), {"metadata": {"finalizers": ["c"]}}),
    ("finalizers overlap", S, cm(finalizers=["a", "b"]), {"metadata": {"finalizers": ["b", "c"]}}),
    ("delete from primitive list", S, cm(finalizers=["a", "b", "c"]),
     {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
    ("setElementOrder", S, pod({"containers": ctrs("a", "b", "c")}),
     {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
               "containers": [{"name": "a", "image": "9"}]}}),
    ("setElementOrder with a new item", S, pod({"containers": ctrs("a", "b")}),
     {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "n"}, {"name": "b"}],
               "containers": [{"name": "n", "image": "9"}]}}),
    ("setElementOrder mismatch", S, pod({"containers": ctrs("a")}),
     {"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "z"}]}}),
    ("interleaving of new and live items", S, pod({"containers": ctrs("a", "b", "c", "d")}),
     {"spec": {"containers": [{"name": "c", "image": "x"}, {"name": "n", "image": "y"},
                              {"name": "a", "image": "z"}]}}),
    ("new container first (docs)", S,
     deploy({"template": {"spec": {"containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                                   "tolerations": [{"key": "dedicated", "effect": "NoSchedule"}]}}}),
     {"spec": {"template": {"spec": {"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}}}}),
    ("tolerations replaced (docs)", S, deploy({"template": {"spec": {"containers": ctrs("a"),
                                                                     "tolerations": [{"key": "a"}]}}}),
     {"spec": {"template": {"spec": {"tolerations": [{"key": "disktype", "value": "ssd"}]}}}}),
    ("container ports by containerPort", S,
     pod({"containers": [{"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 81}]}]}),
     {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "protocol": "UDP"}]}]}}),
    ("volumes with retainKeys", S, pod({"containers": ctrs("a"), "volumes": [{"name": "v", "emptyDir": {}}]}),
     {"spec": {"volumes": [{"name": "v", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/tmp"}}]}}),
    ("retainKeys not covering the patch", S, deploy({"strategy": {"type": "RollingUpdate"}}),
     {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}),
    ("retainKeys not a list", S, deploy({"strategy": {"type": "RollingUpdate"}}),
     {"spec": {"strategy": {"$retainKeys": "type"}}}),
    ("deployment strategy retainKeys (docs)", S,
     deploy({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}),
     {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    ("service ports by port", S,
     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
      "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}},
     {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 8443}]}}),
    ("item without merge key", S, pod({"containers": ctrs("a")}), {"spec": {"containers": [{"image": "redis"}]}}),
    ("delete a map", S, pod({"containers": ctrs("a")}, labels={"a": "b"}),
     {"metadata": {"labels": {"$patch": "delete"}}}),
    ("replace a map", S, pod({"containers": ctrs("a")}, labels={"a": "b"}),
     {"metadata": {"labels": {"$patch": "replace", "c": "d"}}}),
    ("replace a list", S, pod({"containers": ctrs("a", "b")}),
     {"spec": {"containers": [{"$patch": "replace"}, {"name": "z"}]}}),
    ("delete a list item", S, pod({"containers": ctrs("a", "b")}),
     {"spec": {"containers": [{"$patch": "delete", "name": "a"}]}}),
    ("new list with directives", S, pod({}),
     {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "$patch": "delete"}]}}),
    ("nulls in a new map", S, pod({}), {"metadata": {"labels": {"a": "1", "b": None}}}),
    ("env by name in a template", S,
     deploy({"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "A", "value": "1"},
                                                                        {"name": "B", "value": "2"}]}]}}}),
     {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "C", "value": "3"},
                                                                          {"name": "A", "value": "9"}]}]}}}}),
    ("volumeMounts by mountPath", S,
     pod({"containers": [{"name": "a", "volumeMounts": [{"name": "v", "mountPath": "/a"}]}]}),
     {"spec": {"containers": [{"name": "a", "volumeMounts": [{"name": "w", "mountPath": "/b"}]}]}}),
    ("imagePullSecrets and hostAliases", S,
     pod({"containers": ctrs("a"), "imagePullSecrets": [{"name": "s"}], "hostAliases": [{"ip": "1.1.1.1"}]}),
     {"spec": {"imagePullSecrets": [{"name": "t"}], "hostAliases": [{"ip": "2.2.2.2", "hostnames": ["h"]}]}}),
    ("topologySpreadConstraints by topologyKey", S,
     pod({"containers": ctrs("a"), "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 1}]}),
     {"spec": {"topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2},
                                             {"topologyKey": "host", "maxSkew": 1}]}}),
    ("initContainers by name", S, pod({"containers": ctrs("a"), "initContainers": ctrs("i", image="1")}),
     {"spec": {"initContainers": [{"name": "i", "image": "2"}, {"name": "j"}]}}),
    ("pod status conditions and podIPs", S,
     pod({"containers": ctrs("a")}) | {"status": {"conditions": [{"type": "Ready", "status": "False"}],
                                                   "podIPs": [{"ip": "10.0.0.1"}]}},
     {"status": {"conditions": [{"type": "Ready", "status": "True"}], "podIPs": [{"ip": "10.0.0.2"}]}}),
    ("node taints atomic, addresses by type", S,
     {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "x"},
      "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]},
      "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n"}]}},
     {"spec": {"taints": [{"key": "b", "effect": "NoSchedule"}]},
      "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.9"}]}}),
    ("ownerReferences by uid", S, cm(ownerReferences=[{"uid": "1", "name": "a", "kind": "K", "apiVersion": "v1"}]),
     {"metadata": {"ownerReferences": [{"uid": "2", "name": "b", "kind": "K", "apiVersion": "v1"}]}}),
    ("a value of another type replaces", S, cm() | {"data": {"a": "b"}}, {"data": "x"}),
    ("unknown $patch", S, cm() | {"data": {"a": "b"}}, {"data": {"$patch": "zzz"}}),
    ("$patch: merge in a list", S, pod({"containers": ctrs("a")}), {"spec": {"containers": [{"$patch": "merge"}]}}),
    ("setElementOrder on a primitive list", S, cm(finalizers=["a", "b", "c"]),
     {"metadata": {"$setElementOrder/finalizers": ["c", "x", "a"], "finalizers": ["x"],
                   "$deleteFromPrimitiveList/finalizers": ["b"]}}),
    ("setElementOrder with deletions (kubectl apply style)", S,
     pod({"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}, {"name": "c", "image": "3"}]}),
     {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
               "containers": [{"name": "a", "image": "9"}, {"$patch": "delete", "name": "b"}]}}),
    ("volume source switch with retainKeys (kubectl apply style)", S,
     pod({"containers": ctrs("a"), "volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]}),
     {"spec": {"$setElementOrder/volumes": [{"name": "v"}, {"name": "w"}],
               "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}, "emptyDir": None,
                            "name": "v"}]}}),
    ("nested directive inside a merged item", S,
     pod({"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]}),
     {"spec": {"containers": [{"name": "a", "env": [{"$patch": "delete", "name": "X"}],
                               "$setElementOrder/env": [{"name": "Y"}]}]}}),
    ("status conditions via setElementOrder (kubelet style)", S,
     {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
      "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "MemoryPressure", "status": "False"}]}},
     {"status": {"$setElementOrder/conditions": [{"type": "MemoryPressure"}, {"type": "Ready"}],
                 "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}),
    ("labels null and new together", S, cm(labels={"a": "1", "b": "2"}),
     {"metadata": {"labels": {"a": None, "c": "3"}, "annotations": {"x": "y"}}}),
    ("$patch replace at the top", S, cm(labels={"a": "1"}) | {"data": {"k": "v"}},
     {"$patch": "replace", "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    # JSON patch
    ("test fails", J, cm(), [{"op": "test", "path": "/metadata/name", "value": "y"}]),
    ("remove under a missing parent", J, cm(), [{"op": "remove", "path": "/data/x"}]),
    ("add under a missing parent", J, cm(), [{"op": "add", "path": "/data/x", "value": "1"}]),
    ("test missing member against null", J, cm(), [{"op": "test", "path": "/data", "value": None}]),
    ("test missing member against a value", J, cm(), [{"op": "test", "path": "/data", "value": "x"}]),
    ("remove at -1", J, cm(finalizers=["a", "b"]), [{"op": "remove", "path": "/metadata/finalizers/-1"}]),
    ("replace a missing member", J, cm(), [{"op": "replace", "path": "/data", "value": {}}]),
    ("unknown op", J, cm(), [{"op": "zap", "path": "/data"}]),
    ("add at the root", J, cm(), [{"op": "add", "path": "", "value": cm()}]),
    ("test the root", J, cm(), [{"op": "test", "path": "", "value": {}}]),
    ("test the root, equal", J, cm(), [{"op": "test", "path": "", "value": cm()}]),
    ("replace the root", J, cm(), [{"op": "replace", "path": "", "value": cm(name="y")}]),
    ("remove the root", J, cm(), [{"op": "remove", "path": ""}]),
    ("index 01", J, cm(finalizers=["a", "b"]), [{"op": "remove", "path": "/metadata/finalizers/01"}]),
    ("index +1", J, cm(finalizers=["a", "b"]), [{"op": "remove", "path": "/metadata/finalizers/+1"}]),
    ("add at -1", J, cm(finalizers=["a", "b"]), [{"op": "add", "path": "/metadata/finalizers/-1", "value": "z"}]),
    ("add at -3", J, cm(finalizers=["a", "b"]), [{"op": "add", "path": "/metadata/finalizers/-3", "value": "z"}]),
    ("add at -4", J, cm(finalizers=["a", "b"]), [{"op": "add", "path": "/metadata/finalizers/-4", "value": "z"}]),
    ("add at len", J, cm(finalizers=["a", "b"]), [{"op": "add", "path": "/metadata/finalizers/2", "value": "z"}]),
    ("add past len", J, cm(finalizers=["a", "b"]), [{"op": "add", "path": "/metadata/finalizers/3", "value": "z"}]),
    ("replace an item", J, cm(finalizers=["a", "b"]),
     [{"op": "replace", "path": "/metadata/finalizers/1", "value": "z"}]),
    ("replace past len", J, cm(finalizers=["a", "b"]),
     [{"op": "replace", "path": "/metadata/finalizers/2", "value": "z"}]),
    ("replace at -1", J, cm(finalizers=["a", "b"]),
     [{"op": "replace", "path": "/metadata/finalizers/-1", "value": "z"}]),
    ("test at -1", J, cm(finalizers=["a", "b"]), [{"op": "test", "path": "/metadata/finalizers/-1", "value": "b"}]),
    ("test 1 against 1.0", J, cm(generation=1), [{"op": "test", "path": "/metadata/generation", "value": 1.0}]),
    ("test true against 1", J, cm() | {"immutable": True}, [{"op": "test", "path": "/immutable", "value": 1}]),
    ("test objects", J, cm(labels={"a": "b", "c": "d"}),
     [{"op": "test", "path": "/metadata/labels", "value": {"c": "d", "a": "b"}}]),
    ("move a missing member", J, cm(), [{"op": "move", "from": "/data", "path": "/zz"}]),
    ("move", J, cm(labels={"a": "b"}), [{"op": "move", "from": "/metadata/labels", "path": "/metadata/annotations"}]),
    ("move into its own child", J, cm(labels={"a": "b"}),
     [{"op": "move", "from": "/metadata/labels", "path": "/metadata/labels/x"}]),
    ("copy a missing member", J, cm(), [{"op": "copy", "from": "/data", "path": "/zz"}]),
    ("copy", J, cm(labels={"a": "b"}), [{"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"}]),
    ("no path", J, cm(), [{"op": "add", "value": 1}]),
    ("no op", J, cm(), [{"path": "/a", "value": 1}]),
    ("add without value", J, cm(), [{"op": "add", "path": "/data"}]),
    ("pointer without slash", J, cm(), [{"op": "add", "path": "data", "value": {}}]),
    ("~1 and ~0 escapes", J, cm(annotations={"a/b": "1", "m~n": "2"}),
     [{"op": "remove", "path": "/metadata/annotations/a~1b"},
      {"op": "replace", "path": "/metadata/annotations/m~0n", "value": "3"}]),
    ("through a scalar", J, cm(), [{"op": "add", "path": "/metadata/name/x", "value": 1}]),
    # merge patch
    ("merge: nested nulls", M, cm(), {"data": {"a": None, "b": "1"}, "metadata": {"labels": {"x": {"y": None}}}}),
    ("merge: lists replace", M, cm(finalizers=["a"]), {"metadata": {"finalizers": ["b"]}}),
    ("merge: null deletes", M, cm(labels={"a": "b"}), {"metadata": {"labels": None}}),
]


def _kubectl(doc: Obj, patch: Any, kind: str) -> tuple[Any, str | None]:
    """(patched object, None) or (None, kubectl's error text without the 'error: ' prefix)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
    try:
        res = subprocess.run(["kubectl", "patch", "--local", "-f", f.name, "--type", kind, "-p", json.dumps(patch),
                              "-o", "json", "--server=http://127.0.0.1:1"], capture_output=True, text=True,
                             timeout=30, env={"PATH": "/usr/bin:/bin", "KUBECONFIG": "/dev/null", "HOME": "/tmp"})
    finally:
        os.unlink(f.name)
    if res.returncode:
        return None, res.stderr.strip().removeprefix("error: ")
    return _without_directives(json.loads(res.stdout)), None


def _without_directives(value: Any) -> Any:
    """kubectl prints the patched map as is; the apiserver decodes it into the typed object, which drops leftover
    directive keys (e.g. a ``$setElementOrder`` inside a newly added list item)."""
    if isinstance(value, dict):
        return {k: _without_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_without_directives(v) for v in value]
    return value


def _ours(doc: Obj, patch: Any, kind: str) -> tuple[Any, str | None]:
    group = doc["apiVersion"].rpartition("/")[0]
    try:
        if kind == S:
            return strategic_merge_patch(doc, patch, builtin_patch_meta(group, doc["kind"])), None
        if kind == M:
            return merge_patch(doc, patch), None
        return json_patch(doc, patch), None
    except PatchError as e:
        return None, e.detail


@pytest.fixture(scope="module")
def expected() -> list[tuple[Any, str | None]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda c: _kubectl(c[2], c[3], c[1]), CASES))


def test_patches_match_kubectl(expected: list[tuple[Any, str | None]]) -> None:
    mismatches = []
    for (name, kind, doc, patch), (want, want_err) in zip(CASES, expected, strict=True):
        got, got_err = _ours(doc, patch, kind)
        if (got is None) != (want is None) or (got is not None and got != want):
            mismatches.append(f"{name}: kubectl {want if want is not None else want_err!r}, "
                              f"ours {got if got is not None else got_err!r}")
    assert not mismatches, "\n".join(mismatches)


# Error texts we reproduce word for word (the rest differ only in the library's wrapping prefixes, which the
# apiserver does not show: JSON-patch failures reach clients as the generic 422 message).
SAME_ERROR = {"item without merge key", "unknown $patch", "$patch: merge in a list", "retainKeys not a list",
              "retainKeys not covering the patch", "setElementOrder mismatch", "test fails",
              "remove under a missing parent", "add under a missing parent", "unknown op", "add at the root",
              "remove the root", "pointer without slash", "through a scalar", "test true against 1",
              "move into its own child", "test missing member against a value"}


def test_error_texts_match_kubectl(expected: list[tuple[Any, str | None]]) -> None:
    checked = 0
    for (name, kind, doc, patch), (_, want_err) in zip(CASES, expected, strict=True):
        if name not in SAME_ERROR:
            continue
        checked += 1
        _, got_err = _ours(doc, patch, kind)
        assert want_err is not None and got_err is not None, name
        assert got_err.strip() == want_err.strip(), name
    assert checked == len(SAME_ERROR)
