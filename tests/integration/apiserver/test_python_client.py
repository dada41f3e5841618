"""The official kubernetes Python client (32.x) against the apiserver: CRUD, list+watch, 409, 410, create_from_yaml."""

from __future__ import annotations

import subprocess
import threading

import pytest
from kubernetes import client, config, utils, watch
from kubernetes.client.rest import ApiException

from tests.support.apiserver import ApiServer

pytestmark = pytest.mark.integration


@pytest.fixture
def api(kube: ApiServer) -> client.ApiClient:
    return config.new_client_from_config(str(kube.kubeconfig))


def cm(name: str, data: dict[str, str]) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"suite": "py"}), data=data)


def test_crud_and_stale_update_conflict(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map("default", cm("py-crud", {"a": "1"}))
    assert created.metadata.uid and created.metadata.resource_version
    got = core.read_namespaced_config_map("py-crud", "default")
    assert got.data == {"a": "1"}
    got.data["b"] = "2"
    updated = core.replace_namespaced_config_map("py-crud", "default", got)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    created.data = {"stale": "yes"}  # carries the first resourceVersion
    with pytest.raises(ApiException) as ei:
        core.replace_namespaced_config_map("py-crud", "default", created)
    assert ei.value.status == 409 and '"reason":"Conflict"' in ei.value.body.replace(" ", "")
    core.patch_namespaced_config_map("py-crud", "default", {"data": {"c": "3"}})
    assert core.read_namespaced_config_map("py-crud", "default").data == {"a": "1", "b": "2", "c": "3"}
    core.delete_namespaced_config_map("py-crud", "default")
    with pytest.raises(ApiException) as nf:
        core.read_namespaced_config_map("py-crud", "default")
    assert nf.value.status == 404


def test_list_then_watch_replays_in_order(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    listed = core.list_namespaced_config_map("default", label_selector="suite=py")
    rv = listed.metadata.resource_version
    core.create_namespaced_config_map("default", cm("py-w", {"v": "1"}))
    core.patch_namespaced_config_map("py-w", "default", {"data": {"v": "2"}})
    core.delete_namespaced_config_map("py-w", "default")
    seen = []
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, "default", label_selector="suite=py", resource_version=rv,
                       timeout_seconds=5):
        seen.append((ev["type"], ev["object"].metadata.name, (ev["object"].data or {}).get("v")))
        if len(seen) == 3:
            w.stop()
    assert seen == [("ADDED", "py-w", "1"), ("MODIFIED", "py-w", "2"), ("DELETED", "py-w", "2")]


def test_watch_from_compacted_revision_is_410(api: client.ApiClient, kube: ApiServer) -> None:
    core = client.CoreV1Api(api)
    first = core.create_namespaced_config_map("default", cm("py-old", {"v": "1"}))
    core.patch_namespaced_config_map("py-old", "default", {"data": {"v": "2"}})
    core.patch_namespaced_config_map("py-old", "default", {"data": {"v": "3"}})
    now = core.list_namespaced_config_map("default").metadata.resource_version  # events after `first` start at
    # first+1, which this compaction removes
    subprocess.run(["etcdctl", "--endpoints", ",".join(kube.etcd_urls), "compact", now], check=True,
                   capture_output=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})
    events = []
    w = watch.Watch()
    with pytest.raises(ApiException) as ei:
        for ev in w.stream(core.list_namespaced_config_map, "default",
                           resource_version=first.metadata.resource_version, timeout_seconds=5):
            events.append(ev)
    assert ei.value.status == 410, events
    with pytest.raises(ApiException) as listed:
        core.list_namespaced_config_map("default", resource_version=first.metadata.resource_version,
                                        resource_version_match="Exact")
    assert listed.value.status == 410
    core.delete_namespaced_config_map("py-old", "default")


def test_create_from_yaml_multi_document(api: client.ApiClient, tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "multi.yaml"  # type: ignore[operator]
    path.write_text("""
apiVersion: v1
kind: Namespace
metadata: {name: py-multi}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: py-multi}
data: {mode: fast}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: py-multi}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: c, image: busybox}]}
""")
    utils.create_from_yaml(api, str(path))
    assert client.CoreV1Api(api).read_namespaced_config_map("settings", "py-multi").data == {"mode": "fast"}
    dep = client.AppsV1Api(api).read_namespaced_deployment("app", "py-multi")
    assert dep.spec.replicas == 2 and dep.spec.strategy.type == "RollingUpdate"


def test_concurrent_updates_lose_none(api: client.ApiClient) -> None:
    """Ten threads increment one counter with read-modify-write and retry on 409: the final value is exact."""
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map("default", cm("py-counter", {"n": "0"}))

    def bump(times: int) -> None:
        for _ in range(times):
            while True:
                cur = core.read_namespaced_config_map("py-counter", "default")
                cur.data["n"] = str(int(cur.data["n"]) + 1)
                try:
                    core.replace_namespaced_config_map("py-counter", "default", cur)
                    break
                except ApiException as e:
                    assert e.status == 409
    threads = [threading.Thread(target=bump, args=(5,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert core.read_namespaced_config_map("py-counter", "default").data["n"] == "50"
    core.delete_namespaced_config_map("py-counter", "default")
