"""The runtime's fork server (node_agent.runtime.forkserver): holders and shims are its children, a holder orphaned
before its sandbox record was written is found by its pid file, and a dead fork server is replaced."""

from __future__ import annotations

import os
import signal

import pytest

from node_agent.cri.pb import api_pb2 as pb
from node_agent.runtime import nsutil
from tests.e2e.node_agent_cri.conftest import Cri
from tests.support.procs import wait_for

pytestmark = pytest.mark.e2e


def _cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[1])


def _record(cri: Cri, sid: str) -> dict[str, int]:
    import json
    return dict(json.loads((cri.root / "sandboxes" / sid / "sandbox.json").read_text()))


def test_holder_is_a_forked_sleep_in_its_own_namespaces(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    holder = _record(cri, sid)["holder_pid"]
    assert _cmdline(holder).split(b"\0")[:2] == [b"sleep", b"infinity"]
    assert b"node_agent.runtime.forkserver" in _cmdline(_ppid(holder))
    assert not nsutil.same_ns(holder, "net") and not nsutil.same_ns(holder, "uts")
    cid = cri.run(sid, sb, "main", ["sleep", "300"])
    assert cri.exec(cid, ["hostname"]).stdout.decode().strip() == sb.hostname


def test_orphaned_forked_holder_is_killed_on_restart(cri: Cri) -> None:
    sid, _ = cri.run_sandbox()
    rec = _record(cri, sid)
    holder, start = rec["holder_pid"], rec["holder_start"]
    cri.procs.kill("cri")
    # as if the runtime had died after starting the holder but before writing the sandbox's record
    (cri.root / "sandboxes" / sid / "sandbox.json").unlink()
    assert (cri.root / "sandboxes" / sid / "holder.pid").read_text() == f"{holder} {start}"
    cri.restart()
    wait_for(lambda: not nsutil.alive(holder, start), 10, 0.05, what="orphaned holder killed")
    assert not (cri.root / "sandboxes" / sid).exists()
    assert list(cri.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=5).items) == []


def test_a_killed_fork_server_is_replaced(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    first = cri.run(sid, sb, "first", ["sleep", "300"])
    server = _ppid(_record(cri, sid)["holder_pid"])
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: not nsutil.alive(server, None), 10, 0.05, what="fork server gone")
    # running containers are not its business any more (their shims are in their own sessions)
    assert cri.status(first).state == pb.CONTAINER_RUNNING
    second = cri.run(sid, sb, "second", ["sleep", "300"])
    assert cri.status(second).state == pb.CONTAINER_RUNNING
    sid2, _ = cri.run_sandbox()
    assert _ppid(_record(cri, sid2)["holder_pid"]) != server
