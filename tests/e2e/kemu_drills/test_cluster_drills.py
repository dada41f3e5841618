"""Cluster drills on a full netns cluster (fast timings): kill-node, partition-node, control-plane-down each PASS,
with the numbers the report must give, and leave no machine behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from kemu.launcher import machines
from tests.conftest import require_root
from tests.integration.kemu_drills.test_store_drills import run_drill
from tests.support.net import free_subnet, machines_left

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("drill", ["kill-node", "partition-node", "control-plane-down"])
def test_cluster_drill(tmp_path: Path, drill: str) -> None:
    require_root()
    before = machines.existing_netns()
    proc, report = run_drill(tmp_path, drill, "--subnet", free_subnet())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    m = report["metrics"]
    assert report["verdict"] == "PASS"
    assert m["store writes lost"] == 0 and m["API writes lost"] == 0
    if drill == "control-plane-down":
        assert m["service answered during the fault (%)"] >= 90
        assert m["API write unavailability (s)"] > 0
    else:
        assert m["time to NotReady (s)"] is not None and m["time until pods run elsewhere (s)"] is not None
        assert m["time until pods run elsewhere (s)"] >= m["time to NotReady (s)"]
    for suffix in (".md", ".json", ".png"):
        assert (tmp_path / "report" / f"drill-{drill}{suffix}").exists()
    assert not machines_left(before, "c")
