"""The crictl-like CLI (python -m node_agent.cri.ctl) against a running runtime."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.node_agent_cri.conftest import REPO, Cri
from tests.support.procs import wait_for

pytestmark = pytest.mark.e2e


def _ctl(cri: Cri, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node_agent.cri.ctl", "--socket", str(cri.socket), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def test_ctl_commands(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    cid = cri.run(sid, sb, "web", ["sh", "-c", "echo hello-ctl; exec sleep 300"])
    assert "RuntimeName:  kemu" in _ctl(cri, "version").stdout
    pods = _ctl(cri, "pods").stdout.splitlines()
    assert pods[0].split()[:2] == ["POD", "ID"] and sid[:13] in pods[1] and "Ready" in pods[1]
    assert cid[:13] in _ctl(cri, "ps").stdout and "busybox" in _ctl(cri, "images").stdout
    wait_for(lambda: _ctl(cri, "logs", cid[:13]).stdout == "hello-ctl\n", 10, 0.1, what="ctl logs")
    r = _ctl(cri, "exec", cid[:13], "--", "sh", "-c", "echo in; exit 4")
    assert (r.returncode, r.stdout) == (4, "in\n")
    assert '"state": "CONTAINER_RUNNING"' in _ctl(cri, "inspect", cid).stdout
    r = _ctl(cri, "inspect", "f" * 64)
    assert r.returncode == 1 and r.stderr.startswith("rpc error: code = NOT_FOUND desc = container")
    assert _ctl(cri, "rmp", sid).returncode == 0 and _ctl(cri, "pods").stdout.count("\n") == 1
