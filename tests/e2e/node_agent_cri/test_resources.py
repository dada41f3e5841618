"""Cgroup limits through CRI: memory limit -> OOMKilled/137, CPU quota throttling, pids limit, stats."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from node_agent.cri.pb import api_pb2 as pb
from node_agent.runtime.cgroups import Cgroups
from tests.e2e.node_agent_cri.conftest import Cri

pytestmark = pytest.mark.e2e


def _linux(**res: object) -> pb.LinuxContainerConfig:
    return pb.LinuxContainerConfig(resources=pb.LinuxContainerResources(**res))  # type: ignore[arg-type]


def test_memory_limit_oomkilled(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    # a shell variable that doubles until it no longer fits in 20 MiB
    hog = "x=xxxxxxxxxxxxxxxx; while true; do x=$x$x; done"
    cid = cri.run(sid, sb, "hog", ["sh", "-c", hog], linux=_linux(memory_limit_in_bytes=20 * 1024 * 1024))
    st = cri.wait_exited(cid, 30)
    assert (st.exit_code, st.reason) == (137, "OOMKilled")
    assert st.resources.linux.memory_limit_in_bytes == 20 * 1024 * 1024


def test_cpu_quota_throttles_and_stats(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    cid = cri.run(sid, sb, "spin", ["sh", "-c", "while true; do :; done"],
                  linux=_linux(cpu_quota=20000, cpu_period=100000, cpu_shares=204))
    time.sleep(1.5)
    s1 = cri.rt.ContainerStats(pb.ContainerStatsRequest(container_id=cid), timeout=5).stats
    time.sleep(1.0)
    s2 = cri.rt.ContainerStats(pb.ContainerStatsRequest(container_id=cid), timeout=5).stats
    used = s2.cpu.usage_core_nano_seconds.value - s1.cpu.usage_core_nano_seconds.value
    wall = s2.cpu.timestamp - s1.cpu.timestamp
    # 200m: about 0.2 CPU; well below one full core even on a loaded machine
    assert 0.05 < used / wall < 0.35, used / wall
    assert s2.memory.working_set_bytes.value > 0 and s2.attributes.id == cid
    listed = cri.rt.ListContainerStats(pb.ListContainerStatsRequest(), timeout=5).stats
    assert cid in [s.attributes.id for s in listed]
    # the throttling is visible in the cgroup's cpu.stat
    scope = hashlib.sha1(str(cri.root.resolve()).encode()).hexdigest()[:12]
    assert Cgroups(scope).container(sb.metadata.uid, cid).stats().nr_throttled > 0


def test_pids_limit(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    linux = pb.LinuxContainerConfig(resources=pb.LinuxContainerResources(unified={"pids.max": "8"}))
    cid = cri.run(sid, sb, "forker", ["sleep", "300"], linux=linux)
    r = cri.exec(cid, ["sh", "-c", "for i in $(seq 20); do sleep 30 >/dev/null 2>&1 & done; echo spawned"],
                 timeout=10)
    assert b"fork" in r.stderr.lower(), r
    # the limit counts the container's processes; the same fork storm without a limit would succeed
    scope = hashlib.sha1(str(cri.root.resolve()).encode()).hexdigest()[:12]
    assert 1 < len(Cgroups(scope).container(sb.metadata.uid, cid).pids()) <= 8


def test_update_resources_and_readonly_rootfs(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    sc = pb.LinuxContainerSecurityContext(readonly_rootfs=True)
    cid = cri.run(sid, sb, "ro", ["sleep", "300"], linux=pb.LinuxContainerConfig(
        resources=pb.LinuxContainerResources(memory_limit_in_bytes=64 << 20), security_context=sc))
    r = cri.exec(cid, ["sh", "-c", "touch /x"])
    assert r.exit_code != 0 and b"Read-only" in r.stderr
    assert cri.exec(cid, ["sh", "-c", "echo ok > /tmp/x || echo ok > /dev/shm/x && cat /dev/shm/x"]).exit_code == 0
    cri.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=pb.LinuxContainerResources(memory_limit_in_bytes=32 << 20, cpu_quota=30000,
                                                           cpu_period=100000)), timeout=5)
    scope = hashlib.sha1(str(cri.root.resolve()).encode()).hexdigest()[:12]
    cgs = Cgroups(scope)
    rel = cgs.container(sb.metadata.uid, cid).rel
    if cgs.version == "v1":
        assert (Path("/sys/fs/cgroup/memory") / rel / "memory.limit_in_bytes").read_text().strip() == str(32 << 20)
        assert (Path("/sys/fs/cgroup/cpu") / rel / "cpu.cfs_quota_us").read_text().strip() == "30000"
    else:
        assert (Path("/sys/fs/cgroup") / rel / "memory.max").read_text().strip() == str(32 << 20)
        assert (Path("/sys/fs/cgroup") / rel / "cpu.max").read_text().strip() == "30000 100000"
    assert cri.status(cid).resources.linux.memory_limit_in_bytes == 32 << 20
    # raising the limit again (v1 has memsw >= memory at each step)
    cri.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=pb.LinuxContainerResources(memory_limit_in_bytes=128 << 20)), timeout=5)
    assert cri.status(cid).resources.linux.memory_limit_in_bytes == 128 << 20
