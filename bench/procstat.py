"""CPU time of processes from /proc/<pid>/stat, for the benchmarks' CPU-per-operation figures."""

from __future__ import annotations

import os


def cpu_s(pid: int, children: bool = True) -> float:
    """CPU seconds of a process and (unless told not) its reaped children (utime + stime + cutime + cstime); 0 when
    gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0.0
    rest = data[data.rindex(b")") + 2:].split()
    return sum(int(x) for x in rest[11:15 if children else 13]) / os.sysconf("SC_CLK_TCK")
