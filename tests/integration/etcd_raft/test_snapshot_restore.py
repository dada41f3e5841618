"""Back up with `etcdctl snapshot save`, restore into a brand-new 3-member etcd_raft cluster, find everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.etcd_raft_cluster import member_argv
from tests.support.procs import REPO, ProcessGroup, free_port, port_open, wait_for
from tests.support.real_etcd import ETCDCTL, EtcdMember

pytestmark = pytest.mark.integration


def _ctl(members: list[EtcdMember], *args: str) -> str:
    eps = ",".join(f"127.0.0.1:{m.client_port}" for m in members)
    out = subprocess.run([ETCDCTL, f"--endpoints={eps}", *args], capture_output=True, text=True, timeout=30,
                         env={"ETCDCTL_API": "3"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_save_then_restore_into_a_new_cluster(raft_etcd: list[EtcdMember], procs: ProcessGroup,
                                              tmp_path: Path) -> None:
    for i in range(5):
        _ctl(raft_etcd, "put", f"k{i}", f"v{i}")
    _ctl(raft_etcd, "put", "k0", "v0-again")
    before = json.loads(_ctl(raft_etcd, "get", "k0", "-w", "json"))
    snap = tmp_path / "backup.db"
    _ctl(raft_etcd[:1], "snapshot", "save", str(snap))

    fresh = [EtcdMember(f"new{i}", free_port(), free_port()) for i in range(3)]
    initial = ",".join(f"{m.name}={m.peer_url}" for m in fresh)
    for m in fresh:
        seeded = subprocess.run([sys.executable, "-m", "etcd_raft", "snapshot", "restore", str(snap),
                                 "--data-dir", str(tmp_path / "restored" / m.name)],
                                capture_output=True, text=True, timeout=30, cwd=REPO)
        assert seeded.returncode == 0, seeded.stderr
        procs.start(m.name, member_argv(m, tmp_path / "restored", initial))
    for m in fresh:
        wait_for(lambda m=m: port_open(m.client_port), timeout_s=30, what=f"restored {m.name}")
    after = json.loads(_ctl(fresh, "get", "k0", "-w", "json"))
    assert after["kvs"] == before["kvs"] and after["header"]["revision"] == before["header"]["revision"]
    assert _ctl(fresh, "get", "--prefix", "k", "--keys-only").split() == [f"k{i}" for i in range(5)]
    assert sorted(m["name"] for m in json.loads(_ctl(fresh, "member", "list", "-w", "json"))["members"]) == [
        "new0", "new1", "new2"]
    bad = subprocess.run([sys.executable, "-m", "etcd_raft", "snapshot", "restore", str(tmp_path / "nope"),
                          "--data-dir", str(tmp_path / "x")], capture_output=True, text=True, timeout=30, cwd=REPO)
    assert bad.returncode == 1 and "Error:" in bad.stderr and "Traceback" not in bad.stderr
