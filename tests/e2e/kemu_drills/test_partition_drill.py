"""The partition drill needs machines (netns): the leader cut off from its peers must be replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from kemu.launcher import machines
from tests.conftest import require_root
from tests.integration.kemu_drills.test_store_drills import run_drill
from tests.support.net import free_subnet, machines_left

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("backend", ["etcd", "etcd_raft"])
def test_partition_etcd_leader(tmp_path: Path, backend: str) -> None:
    require_root()
    subnet = free_subnet()
    before = machines.existing_netns()
    proc, report = run_drill(tmp_path, "partition-etcd-leader", "--netns", "on", "--subnet", subnet,
                             *(["--real-etcd"] if backend == "etcd" else []))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["verdict"] == "PASS" and report["metrics"]["writes lost"] == 0
    assert report["metrics"]["time to new leader (s)"] is not None
    assert not machines_left(before, "d")
