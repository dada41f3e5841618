"""The quorum experiment with members on their own machines: a real partition of the leader (root)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kemu.launcher import machines
from tests.conftest import require_root
from tests.support.net import free_subnet, machines_left
from tests.support.procs import REPO

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("backend", ["etcd", "etcd_raft"])
def test_partitioned_leader_is_a_minority_that_only_serves_stale_reads(tmp_path: Path, backend: str) -> None:
    require_root()
    subnet = free_subnet()
    before = machines.existing_netns()
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "kemu", "--state-dir", str(tmp_path / "state"), "experiment",
                           "quorum", "--sizes", "3", "--netns", "on", "--subnet", subnet, "--out", str(out),
                           *(["--real-etcd"] if backend == "etcd" else [])],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "quorum.json").read_text())
    sides = {p["side"]: p for p in report["partitions"]}
    assert (sides["minority"]["writes"], sides["minority"]["linearizable_reads"]) == (False, False)
    assert sides["minority"]["serializable_reads"] and sides["minority"]["serializable_stale"]
    assert sides["minority"]["caught_up_after_heal"]
    assert sides["majority"]["writes"] and sides["majority"]["election_s"] is not None
    assert not machines_left(before, "q")
