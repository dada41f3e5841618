"""Container cgroups behind one interface, with a cgroup v1 backend and a cgroup v2 backend.

Hierarchy: ``kemu/<scope>/pod<uid>/<container id>`` under each v1 controller used (memory, cpu, cpuacct, pids,
freezer) or under the v2 unified root, where ``scope`` identifies one runtime (a hash of its root dir) so that
several emulated nodes on one machine never share a cgroup. Processes live only in container (leaf) cgroups.

Limits come from CRI LinuxContainerResources: memory limit (bytes), CFS quota/period, shares (v2: weight mapped as
runc does), pids limit. OOM: v1 ``memory.oom_control`` ``oom_kill`` counter, v2 ``memory.events`` ``oom_kill``.
Stats: cumulative CPU ns, memory usage and working set (usage minus inactive file pages), CFS throttling counters.
remove() kills what is left (freezer first on v1, ``cgroup.kill`` on v2 when present) and removes leaf-first.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer")


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 0
    cpu_quota_us: int = 0
    cpu_period_us: int = 0
    cpu_shares: int = 0
    pids_max: int = 0


@dataclass(frozen=True)
class Stats:
    cpu_ns: int
    memory_usage: int
    working_set: int
    nr_throttled: int
    throttled_ns: int


def shares_to_weight(shares: int) -> int:
    """cgroup v2 cpu.weight for v1 cpu.shares (runc's mapping of [2, 262144] onto [1, 10000])."""
    if shares <= 0:
        return 100
    return 1 + ((max(2, min(shares, 262144)) - 2) * 9999) // 262142


def _kv(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def _read(p: Path) -> str:
    try:
        return p.read_text()
    except OSError:
        return ""


def _write(p: Path, value: str) -> None:
    with open(p, "w") as f:
        f.write(value)


def _pids_in(p: Path) -> list[int]:
    return [int(x) for x in _read(p / "cgroup.procs").split()]


def _rmdir(p: Path, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while p.exists():
        try:
            os.rmdir(p)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            for pid in _pids_in(p):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)


_V1_PRESENT: dict[Path, list[str]] = {}


def _v1_controllers() -> list[str]:
    """The v1 controllers mounted under ROOT (looked up once: hierarchies are mounted at boot, not per pod)."""
    if ROOT not in _V1_PRESENT:
        _V1_PRESENT[ROOT] = [c for c in V1_CONTROLLERS if (ROOT / c).is_dir()]
    return list(_V1_PRESENT[ROOT])


class Cgroup:
    """One cgroup (pod or container) across the backend's hierarchies."""

    def __init__(self, rel: str) -> None:
        self.rel = rel

    def create(self) -> None:
        raise NotImplementedError

    def set_limits(self, limits: Limits) -> None:
        raise NotImplementedError

    def add(self, pid: int) -> None:
        raise NotImplementedError

    def procs_files(self) -> list[str]:
        raise NotImplementedError

    def pids(self) -> list[int]:
        raise NotImplementedError

    def oom_kills(self) -> int:
        raise NotImplementedError

    def stats(self) -> Stats:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError


class V1Cgroup(Cgroup):
    def _dir(self, ctrl: str) -> Path:
        return ROOT / ctrl / self.rel

    def _ctrls(self) -> list[str]:
        return _v1_controllers()

    def create(self) -> None:
        for c in self._ctrls():
            self._dir(c).mkdir(parents=True, exist_ok=True)

    def set_limits(self, limits: Limits) -> None:
        m, cpu, pids = self._dir("memory"), self._dir("cpu"), self._dir("pids")
        if limits.memory_bytes > 0:
            files = [m / "memory.limit_in_bytes"]
            if (m / "memory.memsw.limit_in_bytes").exists():
                # no swap for containers; the kernel wants memsw >= memory at every step, so a raise writes memsw
                # first and a cut writes memory first
                files.append(m / "memory.memsw.limit_in_bytes")
                current = int(_read(m / "memory.limit_in_bytes").strip() or 0)
                if limits.memory_bytes > current:
                    files.reverse()
            for f in files:
                _write(f, str(limits.memory_bytes))
        if limits.cpu_period_us > 0:
            _write(cpu / "cpu.cfs_period_us", str(limits.cpu_period_us))
        if limits.cpu_quota_us > 0:
            _write(cpu / "cpu.cfs_quota_us", str(limits.cpu_quota_us))
        if limits.cpu_shares > 0:
            _write(cpu / "cpu.shares", str(max(2, limits.cpu_shares)))
        if limits.pids_max > 0:
            _write(pids / "pids.max", str(limits.pids_max))

    def procs_files(self) -> list[str]:
        return [str(self._dir(c) / "cgroup.procs") for c in self._ctrls()]

    def add(self, pid: int) -> None:
        for f in self.procs_files():
            _write(Path(f), str(pid))

    def pids(self) -> list[int]:
        return _pids_in(self._dir("memory")) if (ROOT / "memory").is_dir() else _pids_in(self._dir("pids"))

    def oom_kills(self) -> int:
        return _kv(_read(self._dir("memory") / "memory.oom_control")).get("oom_kill", 0)

    def stats(self) -> Stats:
        cpu_ns = int(_read(self._dir("cpuacct") / "cpuacct.usage").strip() or 0)
        usage = int(_read(self._dir("memory") / "memory.usage_in_bytes").strip() or 0)
        ms = _kv(_read(self._dir("memory") / "memory.stat"))
        ws = max(0, usage - ms.get("total_inactive_file", 0))
        cs = _kv(_read(self._dir("cpu") / "cpu.stat"))
        return Stats(cpu_ns, usage, ws, cs.get("nr_throttled", 0), cs.get("throttled_time", 0))

    def remove(self) -> None:
        fz = self._dir("freezer")
        if fz.is_dir() and _pids_in(fz):
            # freeze, kill, thaw: nothing can fork away between the listing and the kill
            try:
                _write(fz / "freezer.state", "FROZEN")
                for pid in _pids_in(fz):
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
            finally:
                try:
                    _write(fz / "freezer.state", "THAWED")
                except OSError:
                    pass
        for c in self._ctrls():
            d = self._dir(c)
            try:
                # scandir's entry types need no stat per control file (a memory cgroup has dozens)
                children = [Path(e.path) for e in os.scandir(d) if e.is_dir(follow_symlinks=False)]
            except FileNotFoundError:
                continue
            for child in children:
                _rmdir(child)
            _rmdir(d)


class V2Cgroup(Cgroup):
    @property
    def dir(self) -> Path:
        return ROOT / self.rel

    def create(self) -> None:
        # enable the controllers on every ancestor below the root so the leaf gets them
        cur = ROOT
        for part in self.rel.split("/"):
            avail = _read(cur / "cgroup.controllers").split()
            want = [c for c in ("memory", "cpu", "pids") if c in avail]
            if want:
                try:
                    _write(cur / "cgroup.subtree_control", " ".join("+" + c for c in want))
                except OSError:
                    pass
            cur = cur / part
            cur.mkdir(exist_ok=True)

    def set_limits(self, limits: Limits) -> None:
        d = self.dir
        if limits.memory_bytes > 0:
            _write(d / "memory.max", str(limits.memory_bytes))
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", "0")
        if limits.cpu_quota_us > 0 or limits.cpu_period_us > 0:
            quota = str(limits.cpu_quota_us) if limits.cpu_quota_us > 0 else "max"
            _write(d / "cpu.max", f"{quota} {limits.cpu_period_us or 100000}")
        if limits.cpu_shares > 0:
            _write(d / "cpu.weight", str(shares_to_weight(limits.cpu_shares)))
        if limits.pids_max > 0:
            _write(d / "pids.max", str(limits.pids_max))

    def procs_files(self) -> list[str]:
        return [str(self.dir / "cgroup.procs")]

    def add(self, pid: int) -> None:
        _write(self.dir / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        return _pids_in(self.dir)

    def oom_kills(self) -> int:
        return _kv(_read(self.dir / "memory.events")).get("oom_kill", 0)

    def stats(self) -> Stats:
        cs = _kv(_read(self.dir / "cpu.stat"))
        usage = int(_read(self.dir / "memory.current").strip() or 0)
        ms = _kv(_read(self.dir / "memory.stat"))
        return Stats(cs.get("usage_usec", 0) * 1000, usage, max(0, usage - ms.get("inactive_file", 0)),
                     cs.get("nr_throttled", 0), cs.get("throttled_usec", 0) * 1000)

    def remove(self) -> None:
        d = self.dir
        if not d.is_dir():
            return
        if (d / "cgroup.kill").exists():
            try:
                _write(d / "cgroup.kill", "1")
            except OSError:
                pass
        for child in sorted(d.iterdir()):
            if child.is_dir():
                _rmdir(child)
        _rmdir(d)


def detect() -> str:
    """``v2`` when the unified hierarchy at /sys/fs/cgroup carries the memory controller, else ``v1``."""
    return "v2" if "memory" in _read(ROOT / "cgroup.controllers").split() else "v1"


class Cgroups:
    def __init__(self, scope: str, version: str | None = None) -> None:
        self.version = version or detect()
        self.base = f"kemu/{scope}"

    def _make(self, rel: str) -> Cgroup:
        return V2Cgroup(rel) if self.version == "v2" else V1Cgroup(rel)

    def pod(self, pod_uid: str) -> Cgroup:
        return self._make(f"{self.base}/pod{pod_uid}")

    def container(self, pod_uid: str, container_id: str) -> Cgroup:
        return self._make(f"{self.base}/pod{pod_uid}/{container_id}")

    def remove_scope_if_empty(self) -> None:
        """Remove this runtime's scope dirs once no pod is left (callers serialise this with cgroup creation)."""
        dirs = [ROOT / self.base] if self.version == "v2" else [ROOT / c / self.base for c in V1_CONTROLLERS]
        for d in dirs:
            try:
                os.rmdir(d)
            except OSError:
                pass  # absent, or pods still there
