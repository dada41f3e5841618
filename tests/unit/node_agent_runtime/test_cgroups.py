"""Both cgroup backends against a fake cgroupfs tree (plain files): paths, limit files, stats and OOM parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from node_agent.runtime import cgroups
from node_agent.runtime.cgroups import Cgroups, Limits

pytestmark = pytest.mark.unit


def test_v2_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    assert cgroups.detect() == "v2"
    cg = Cgroups("scope1").container("uid1", "c1")
    # mkdir on a real cgroupfs creates the interface files; a fake tree needs them per level
    orig_mkdir = Path.mkdir

    def mkdir(self: Path, *a: object, **kw: object) -> None:
        orig_mkdir(self, *a, **kw)  # type: ignore[arg-type]
        (self / "cgroup.controllers").write_text("cpu memory pids\n")
    monkeypatch.setattr(Path, "mkdir", mkdir)
    cg.create()
    leaf = tmp_path / "kemu/scope1/poduid1/c1"
    assert leaf.is_dir()
    assert (tmp_path / "kemu/scope1/cgroup.subtree_control").read_text() == "+memory +cpu +pids"
    cg.set_limits(Limits(memory_bytes=20 << 20, cpu_quota_us=20000, cpu_period_us=100000, cpu_shares=1024,
                         pids_max=8))
    assert (leaf / "memory.max").read_text() == str(20 << 20)
    assert (leaf / "cpu.max").read_text() == "20000 100000"
    assert (leaf / "cpu.weight").read_text() == "39"
    assert (leaf / "pids.max").read_text() == "8"
    assert cg.procs_files() == [str(leaf / "cgroup.procs")]
    (leaf / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cg.oom_kills() == 1
    (leaf / "cpu.stat").write_text("usage_usec 1500\nnr_throttled 4\nthrottled_usec 200\n")
    (leaf / "memory.current").write_text("4096\n")
    (leaf / "memory.stat").write_text("inactive_file 1024\n")
    st = cg.stats()
    assert (st.cpu_ns, st.memory_usage, st.working_set, st.nr_throttled, st.throttled_ns) == (
        1_500_000, 4096, 3072, 4, 200_000)


def test_v1_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    for c in cgroups.V1_CONTROLLERS:
        (tmp_path / c).mkdir()
    assert cgroups.detect() == "v1"
    cg = Cgroups("s").container("u", "c")
    cg.create()
    mem = tmp_path / "memory/kemu/s/podu/c"
    assert mem.is_dir() and (tmp_path / "freezer/kemu/s/podu/c").is_dir()
    cg.set_limits(Limits(memory_bytes=1 << 20, cpu_quota_us=50000, cpu_period_us=100000, cpu_shares=512, pids_max=5))
    assert (mem / "memory.limit_in_bytes").read_text() == str(1 << 20)
    assert (tmp_path / "cpu/kemu/s/podu/c/cpu.cfs_quota_us").read_text() == "50000"
    assert (tmp_path / "cpu/kemu/s/podu/c/cpu.shares").read_text() == "512"
    assert (tmp_path / "pids/kemu/s/podu/c/pids.max").read_text() == "5"
    assert len(cg.procs_files()) == 5
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cg.oom_kills() == 2
    (tmp_path / "cpuacct/kemu/s/podu/c/cpuacct.usage").write_text("12345\n")
    (mem / "memory.usage_in_bytes").write_text("8192\n")
    (mem / "memory.stat").write_text("cache 0\ntotal_inactive_file 4096\n")
    (tmp_path / "cpu/kemu/s/podu/c/cpu.stat").write_text("nr_periods 10\nnr_throttled 3\nthrottled_time 99\n")
    st = cg.stats()
    assert (st.cpu_ns, st.memory_usage, st.working_set, st.nr_throttled, st.throttled_ns) == (12345, 8192, 4096, 3,
                                                                                              99)
