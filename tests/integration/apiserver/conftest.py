"""A control plane per test module and backend: a 3-member store (real etcd or etcd_raft) + one apiserver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.apiserver import ApiServer, start_apiserver
from tests.support.etcd_raft_cluster import start_etcd_raft
from tests.support.procs import ProcessGroup
from tests.support.real_etcd import start_real_etcd


@pytest.fixture(scope="module", params=["etcd", "etcd_raft"])
def kube(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    base: Path = tmp_path_factory.mktemp(f"kube-{request.param}")
    group = ProcessGroup(base / "logs")
    try:
        start = start_real_etcd if request.param == "etcd" else start_etcd_raft
        members = start(group, base / "store")
        yield start_apiserver(group, [m.client_url for m in members], base / "apiserver")
    finally:
        group.close()
