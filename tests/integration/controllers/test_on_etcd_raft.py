"""The core flow on our own store: etcd_raft (3 members) behind the apiserver, with the controller-manager and
scheduler -- a Deployment is created, scheduled, scaled and rolled to a new image."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.controllers.conftest import Cluster, start_controller_manager, start_scheduler
from tests.integration.controllers.kubelets import Api, FakeKubelets
from tests.integration.controllers.test_controllers_kubectl import deployment_yaml, live, pods
from tests.support.apiserver import start_apiserver
from tests.support.etcd_raft_cluster import start_etcd_raft
from tests.support.procs import ProcessGroup

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def raft_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base: Path = tmp_path_factory.mktemp("raftctl")
    group = ProcessGroup(base / "logs")
    kubelets: FakeKubelets | None = None
    try:
        members = start_etcd_raft(group, base / "store")
        api = start_apiserver(group, [m.client_url for m in members], base / "apiserver")
        start_controller_manager(group, api, "kcm", "--node-monitor-grace-period", "1h")
        start_scheduler(group, api)
        rest = Api(api.url, api.token, str(api.ca_file))
        kubelets = FakeKubelets(rest)
        for i in range(2):
            kubelets.add_node(f"node-{i + 1}")
        kubelets.start()
        yield Cluster(api, rest, kubelets, group)
    finally:
        if kubelets is not None:
            kubelets.close()
        group.close()


def test_deployment_on_etcd_raft(raft_cluster: Cluster) -> None:
    c = raft_cluster
    c.kubectl("create", "namespace", "raft")
    c.kubectl("apply", "-f", "-", input=deployment_yaml("raft", "web", 2, "nginx:1"))
    c.kubectl("rollout", "status", "deployment/web", "-n", "raft", "--timeout=60s", timeout=90)
    c.kubectl("scale", "deployment/web", "-n", "raft", "--replicas=4")
    c.kubectl("set", "image", "deployment/web", "-n", "raft", "c=nginx:2")
    c.kubectl("rollout", "status", "deployment/web", "-n", "raft", "--timeout=90s", timeout=120)
    ps = live(pods(c, "raft", "app=web"))
    assert len(ps) == 4 and {p["spec"]["containers"][0]["image"] for p in ps} == {"nginx:2"}
    d = json.loads(c.kubectl("get", "deployment/web", "-n", "raft", "-o", "json"))
    assert d["status"]["updatedReplicas"] == 4 and d["metadata"]["annotations"][
        "deployment.kubernetes.io/revision"] == "2"
