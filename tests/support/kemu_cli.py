"""Driving the `kemu` CLI from tests: one cluster per state dir and name, and process liveness checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.procs import REPO


def run_kemu(state: Path, cluster: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kemu", "--cluster", cluster, "--state-dir", str(state), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def alive(pid: int) -> bool:
    """Running (a zombie awaiting its reaper is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
