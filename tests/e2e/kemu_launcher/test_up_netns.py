"""`kemu up` as root: every etcd member on its own machine (netns), reachable from the host; `down` removes all."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kemu.launcher import machines
from tests.conftest import require_root
from tests.support.net import free_subnet
from tests.support.procs import REPO

pytestmark = pytest.mark.e2e


def _kemu(state: Path, cluster: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kemu", "--cluster", cluster, "--state-dir", str(state), *args],
                          capture_output=True, text=True, timeout=180, cwd=REPO)


def test_store_on_machines_then_down_leaves_nothing(tmp_path: Path) -> None:
    require_root()
    subnet = free_subnet()
    cluster = "t" + uuid.uuid4().hex[:6]
    state = tmp_path / "state"
    up = _kemu(state, cluster, "up", "--netns", "on", "--subnet", subnet, "--real-etcd", "--store-only")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        recorded = json.loads((state / "machines.json").read_text())
        names = {m["netns"] for m in recorded["machines"]}
        assert len(names) == 3 and names <= machines.existing_netns()
        endpoints = ",".join(f"{m['address']}:2379" for m in recorded["machines"])
        status = subprocess.run(["etcdctl", f"--endpoints={endpoints}", "endpoint", "status", "-w", "json"],
                                capture_output=True, text=True, timeout=30, env={"ETCDCTL_API": "3"})
        assert status.returncode == 0, status.stderr
        reports = json.loads(status.stdout)
        assert len(reports) == 3 and len({r["Status"]["leader"] for r in reports}) == 1
        assert sum(r["Status"]["leader"] == r["Status"]["header"]["member_id"] for r in reports) == 1
    finally:
        down = _kemu(state, cluster, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not names & machines.existing_netns()
    assert subprocess.run(["ip", "link", "show", machines.Underlay(cluster).bridge], capture_output=True).returncode
