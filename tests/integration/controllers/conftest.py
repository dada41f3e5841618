"""A control plane for controller tests: real etcd (1 member) + the apiserver + the controller-manager and
scheduler processes, with fake kubelets (a thread) registering nodes and simulating pod readiness."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.controllers.kubelets import Api, FakeKubelets
from tests.support.apiserver import ApiServer, start_apiserver
from tests.support.procs import ProcessGroup, free_port
from tests.support.real_etcd import start_real_etcd


@dataclass
class Cluster:
    api: ApiServer
    rest: Api
    kubelets: FakeKubelets
    procs: ProcessGroup
    health_port: int = 0  # the scheduler's --healthz-port

    def kubectl(self, *args: str, **kw: object) -> str:
        return self.api.kubectl(*args, **kw).stdout  # type: ignore[arg-type]


def start_controller_manager(procs: ProcessGroup, api: ApiServer, name: str = "kcm", *extra: str) -> None:
    procs.start(name, [sys.executable, "-m", "controllers", "--kubeconfig", str(api.kubeconfig), *extra])


def start_scheduler(procs: ProcessGroup, api: ApiServer, name: str = "sched", *extra: str) -> None:
    procs.start(name, [sys.executable, "-m", "controllers.scheduler", "--kubeconfig", str(api.kubeconfig),
                       "--seed", "1", *extra])


@pytest.fixture(scope="session")  # shared by the kubectl modules: one control plane, less load on 2 cores
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base: Path = tmp_path_factory.mktemp("ctl")
    group = ProcessGroup(base / "logs")
    kubelets: FakeKubelets | None = None
    try:
        members = start_real_etcd(group, base / "etcd", size=1)
        api = start_apiserver(group, [m.client_url for m in members], base / "apiserver")
        start_controller_manager(group, api, "kcm", "--node-monitor-grace-period", "1h")
        health_port = free_port()
        start_scheduler(group, api, "sched", "--healthz-port", str(health_port))
        rest = Api(api.url, api.token, str(api.ca_file))
        kubelets = FakeKubelets(rest)
        for i in range(3):
            kubelets.add_node(f"node-{i + 1}")
        kubelets.start()
        yield Cluster(api, rest, kubelets, group, health_port)
    finally:
        if kubelets is not None:
            kubelets.close()
        group.close()
