"""`kemu up` / `status` / `down` as a user runs them (real processes), with the store only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO, free_port, port_open

pytestmark = pytest.mark.integration


def _kemu(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kemu", "--state-dir", str(state), *args],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def _recorded_pids(state: Path) -> list[int]:
    return [p["pid"] for p in json.loads((state / "state.json").read_text())["processes"]]


def _pid_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_up_status_down_with_real_etcd_store(tmp_path: Path) -> None:
    state = tmp_path / "cluster"
    ports = [free_port() for _ in range(3)]
    up = _kemu(state, "up", "--netns", "off", "--real-etcd", "--store-only", "--etcd-ports", ",".join(map(str, ports)))
    pids: list[int] = []
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        pids = _recorded_pids(state)
        assert len(pids) == 3 and all(map(_pid_alive, pids))
        assert all(port_open(p) for p in ports)
        status = _kemu(state, "status")
        assert status.returncode == 0 and status.stdout.count("running") == 3
        assert "store (one leader)" in status.stdout and status.stdout.count("3.4.23") == 3
        assert sum(line.split()[2:3] == ["*"] for line in status.stdout.splitlines() if "127.0.0.1" in line) == 1
        again = _kemu(state, "up", "--netns", "off", "--real-etcd", "--store-only",
                      "--etcd-ports", ",".join(map(str, ports)))
        assert again.returncode == 1 and "already running" in again.stderr
        logs = _kemu(state, "logs", "etcd-1")
        assert logs.returncode == 0
    finally:
        down = _kemu(state, "down")
    assert down.returncode == 0 and down.stdout.count("stopped") == 3
    assert not any(map(_pid_alive, pids))
    assert not any(port_open(p) for p in ports)
    assert _kemu(state, "status").returncode == 1


def test_failed_start_reports_the_log_and_cleans_up(tmp_path: Path) -> None:
    state = tmp_path / "cluster"
    busy = free_port()
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", busy))
        blocker.listen()
        ports = [free_port(), busy]   # the second member cannot bind its client port
        up = _kemu(state, "up", "--netns", "off", "--real-etcd", "--store-only", "--etcd-members", "2",
                   "--etcd-ports", ",".join(map(str, ports)), "--timeout", "10")
    assert up.returncode == 1
    assert "etcd-2" in up.stderr
    assert not any(map(_pid_alive, _recorded_pids(state)))
