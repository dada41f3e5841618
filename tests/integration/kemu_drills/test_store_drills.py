"""Store drills as a user runs them, against the reference (Debian etcd): the harness must PASS on real etcd."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO

pytestmark = pytest.mark.integration


def run_drill(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "kemu", "--state-dir", str(tmp_path / "state"), "drill", name,
                           "--out", str(out), *args], capture_output=True, text=True, timeout=300, cwd=REPO)
    path = out / f"drill-{name}.json"
    return proc, json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("backend", ["etcd", "etcd_raft"])
@pytest.mark.parametrize("name", ["kill-etcd-leader", "kill-etcd-member", "pause-etcd-leader", "quorum-loss",
                                  "restart-everything"])
def test_drill_passes(tmp_path: Path, name: str, backend: str) -> None:
    proc, report = run_drill(tmp_path, name, "--netns", "off", *(["--real-etcd"] if backend == "etcd" else []))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["verdict"] == "PASS" and report["metrics"]["writes lost"] == 0
    assert report["checks"]["history linearizable"] and report["metrics"]["history operations checked"] > 500
    assert report["metrics"]["writes acknowledged"] > 100
    if name in ("kill-etcd-leader", "pause-etcd-leader"):    # a stopped leader is replaced like a dead one
        assert 0 < report["metrics"]["time to new leader (s)"] < 5
        assert report["metrics"]["write unavailability (s)"] < 5
    elif name == "quorum-loss":
        assert report["metrics"]["write unavailability (s)"] > 3     # no majority for the whole hold time
    assert (tmp_path / "report" / f"drill-{name}.png").stat().st_size > 1000


def test_a_store_that_acks_before_replicating_fails_the_leader_kill_drill(tmp_path: Path) -> None:
    proc, report = run_drill(tmp_path, "kill-etcd-leader", "--netns", "off", "--broken-store")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert report["verdict"] == "FAIL" and report["metrics"]["writes lost"] > 0
    assert report["checks"]["no acknowledged write lost"] is False
    assert report["checks"]["history linearizable"] is False
    assert report["linearizability"].startswith("NOT linearizable")
