"""``python -m node_agent.runtime.sweep --root R``: remove everything a runtime with state dir R left behind.

Used by ``kemu down`` after the node processes are stopped, so that nothing survives a cluster: every process in
the runtime's cgroups (sandbox holders, shims, containers) is SIGKILLed, its cgroups are removed bottom-up, and
mounts under R (overlay roots, /proc, bind mounts) are detached. Pod network namespaces die with their holders.
Idempotent; prints what it removed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from node_agent.runtime.cgroups import Cgroups

CGROUP_FS = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("freezer", "memory", "cpu,cpuacct", "cpu", "cpuacct", "pids")


def scope_dirs(root: Path) -> list[Path]:
    """The runtime's cgroup subtrees (the same scope hash the runtime derives from its resolved root)."""
    cg = Cgroups(hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12])
    if cg.version == "v2":
        return [CGROUP_FS / cg.base]
    return [CGROUP_FS / c / cg.base for c in V1_CONTROLLERS if (CGROUP_FS / c / cg.base).is_dir()]


def _pids(d: Path) -> set[int]:
    out: set[int] = set()
    for procs in d.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            out |= {int(x) for x in procs.read_text().split()}
    return out


def kill_all(dirs: list[Path], timeout_s: float = 5.0) -> int:
    killed: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = set().union(*(_pids(d) for d in dirs)) if dirs else set()
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed |= pids
        time.sleep(0.05)
    return len(killed)


def _start_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def kill_recorded(root: Path) -> int:
    """Sandbox holders and shims recorded in the runtime's state (pid + start time, so a reused PID is safe)."""
    killed: list[int] = []
    records = [(p, "holder") for p in root.glob("sandboxes/*/sandbox.json")] + \
        [(p, "shim") for p in root.glob("containers/*/container.json")] + \
        [(p, "init") for p in root.glob("containers/*/container.json")]
    for path, who in records:
        with contextlib.suppress(OSError, ValueError):
            rec = json.loads(path.read_text())
            pid, start = rec.get(f"{who}_pid"), rec.get(f"{who}_start")
            if isinstance(pid, int) and pid > 1 and _start_ticks(pid) == start:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(_running(p) for p in killed):
        time.sleep(0.05)
    return len(killed)


def _running(pid: int) -> bool:
    """Exists and is not a zombie (a killed process whose parent has not reaped it yet is dead for us)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def remove_cgroups(dirs: list[Path]) -> int:
    n = 0
    for d in dirs:
        for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                sub.rmdir()
                n += 1
        with contextlib.suppress(OSError):
            d.rmdir()
            n += 1
    return n


def unmount_under(root: Path) -> int:
    prefix = str(root.resolve())
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == prefix or mp.startswith(prefix + "/"):
                points.append(mp)
    for mp in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, check=False)
    return len(points)


def sweep(root: Path) -> str:
    dirs = scope_dirs(root)
    killed = kill_recorded(root) if root.exists() else 0
    killed += kill_all(dirs)
    mounts = unmount_under(root) if root.exists() else 0
    removed = remove_cgroups(dirs)
    return f"{root}: killed {killed} processes, detached {mounts} mounts, removed {removed} cgroups"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m node_agent.runtime.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, action="append", help="a runtime's state dir (repeatable)")
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    for r in a.root:
        print(sweep(Path(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
