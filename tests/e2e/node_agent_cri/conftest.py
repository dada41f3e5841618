"""A real ``python -m node_agent.cri`` on a unix socket in a tmp root, with busybox built, and a sync CRI client.

Teardown removes every sandbox through CRI, then as a safety net kills any holder/shim/init process recorded under
the root (by PID, checked against its start time) and removes the root's cgroups.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from node_agent.cri.pb import api_pb2 as pb
from node_agent.cri.pb import api_pb2_grpc as pb_grpc
from node_agent.runtime import nsutil
from node_agent.runtime.cgroups import Cgroups
from tests.support.procs import ProcessGroup, wait_for

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Cri:
    socket: Path
    root: Path
    rt: Any
    img: Any
    channel: grpc.Channel
    procs: ProcessGroup

    def sandbox_config(self, name: str = "", **kw: Any) -> Any:
        name = name or f"pod-{uuid.uuid4().hex[:8]}"
        logdir = self.root.parent / "logs" / name
        logdir.mkdir(parents=True, exist_ok=True)
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uuid.uuid4().hex, namespace="default"),
            hostname=name, log_directory=str(logdir), labels={"test": "cri"}, **kw)

    def run_sandbox(self, **kw: Any) -> tuple[str, Any]:
        cfg = self.sandbox_config(**kw)
        return self.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=30).pod_sandbox_id, cfg

    def create(self, sid: str, sb_cfg: Any, name: str, cmd: list[str], **kw: Any) -> str:
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image="busybox"),
                                 command=cmd, log_path=f"{name}/0.log", **kw)
        return self.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sid, config=cfg,
                                                                 sandbox_config=sb_cfg), timeout=30).container_id

    def run(self, sid: str, sb_cfg: Any, name: str, cmd: list[str], **kw: Any) -> str:
        cid = self.create(sid, sb_cfg, name, cmd, **kw)
        self.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=30)
        return cid

    def status(self, cid: str) -> Any:
        return self.rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid), timeout=10).status

    def exec(self, cid: str, cmd: list[str], timeout: int = 10) -> Any:
        return self.rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout), timeout=timeout + 10)

    def wait_exited(self, cid: str, within: float = 20) -> Any:
        wait_for(lambda: self.status(cid).state == pb.CONTAINER_EXITED, within, 0.05, what=f"container {cid} exit")
        return self.status(cid)

    def restart(self) -> None:
        self.channel.close()
        self.procs.kill("cri")
        self.socket.unlink(missing_ok=True)
        self.procs.restart("cri")
        wait_for(self.socket.exists, 30, 0.05, what="CRI socket")
        self.channel = grpc.insecure_channel(f"unix://{self.socket}")
        self.rt = pb_grpc.RuntimeServiceStub(self.channel)
        self.img = pb_grpc.ImageServiceStub(self.channel)


def _cleanup(root: Path) -> None:
    for kind, fname in (("sandboxes", "sandbox.json"), ("containers", "container.json")):
        base = root / kind
        if not base.is_dir():
            continue
        for d in base.iterdir():
            try:
                rec = json.loads((d / fname).read_text())
            except (OSError, ValueError):
                continue
            for pid_key, start_key in (("init_pid", "init_start"), ("shim_pid", "shim_start"),
                                       ("holder_pid", "holder_start")):
                pid = int(rec.get(pid_key) or 0)
                if pid and nsutil.alive(pid, rec.get(start_key)):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
    scope = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
    cg = Cgroups(scope)
    for ctrl_root in [Path("/sys/fs/cgroup") / c / "kemu" / scope for c in ("memory", "cpu", "cpuacct", "pids",
                                                                             "freezer")] + [
            Path("/sys/fs/cgroup/kemu") / scope]:
        if ctrl_root.is_dir():
            for pod in ctrl_root.iterdir():
                if pod.is_dir() and pod.name.startswith("pod"):
                    cg.pod(pod.name[3:]).remove()
            try:
                ctrl_root.rmdir()
            except OSError:
                pass


def start_cri(procs: ProcessGroup, tmp_path: Path, extra: list[str] | None = None,
              prefix: list[str] | None = None) -> Cri:
    """Build busybox into a fresh root and start ``[*prefix] python -m node_agent.cri ... [*extra]``."""
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, cgroups, overlayfs)")
    root = tmp_path / "cri-root"
    sock = tmp_path / "cri.sock"
    py = sys.executable
    subprocess.run([py, "-m", "node_agent.runtime.images", "build", "busybox", "--root", str(root)], cwd=REPO,
                   check=True, timeout=60, capture_output=True)
    procs.start("cri", [*(prefix or []), py, "-m", "node_agent.cri", "--socket", str(sock), "--root", str(root),
                        *(extra or [])])
    wait_for(sock.exists, 30, 0.05, what="CRI socket")
    ch = grpc.insecure_channel(f"unix://{sock}")
    return Cri(sock, root, pb_grpc.RuntimeServiceStub(ch), pb_grpc.ImageServiceStub(ch), ch, procs)


def stop_cri(c: Cri) -> None:
    try:
        for s in c.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=10).items:
            c.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=s.id), timeout=30)
            c.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=s.id), timeout=30)
    except grpc.RpcError:
        pass
    c.channel.close()
    _cleanup(c.root)


@pytest.fixture
def cri(procs: ProcessGroup, tmp_path: Path) -> Iterator[Cri]:
    c = start_cri(procs, tmp_path)
    try:
        yield c
    finally:
        stop_cri(c)
