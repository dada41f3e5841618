"""Shared fixtures: a per-test ProcessGroup that kills what the test started (by PID), and a real etcd cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.etcd_raft_cluster import start_etcd_raft
from tests.support.procs import ProcessGroup
from tests.support.real_etcd import EtcdMember, start_real_etcd


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path / "logs")
    try:
        yield group
    finally:
        group.close()


@pytest.fixture
def real_etcd(procs: ProcessGroup, tmp_path: Path) -> list[EtcdMember]:
    """A 3-member real etcd cluster on free ports."""
    return start_real_etcd(procs, tmp_path / "real-etcd")


@pytest.fixture
def raft_etcd(procs: ProcessGroup, tmp_path: Path) -> list[EtcdMember]:
    """A 3-member etcd_raft cluster (ours) on free ports."""
    return start_etcd_raft(procs, tmp_path / "etcd-raft")


@pytest.fixture(params=["etcd", "etcd_raft"])
def any_etcd(request: pytest.FixtureRequest, procs: ProcessGroup, tmp_path: Path) -> list[EtcdMember]:
    """The same test against the reference and against ours."""
    if request.param == "etcd":
        return start_real_etcd(procs, tmp_path / "real-etcd")
    return start_etcd_raft(procs, tmp_path / "etcd-raft")


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, cgroups)")
