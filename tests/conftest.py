"""Shared fixtures: a per-test ProcessGroup that kills what the test started (by PID), and a real etcd cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, cgroups)")
