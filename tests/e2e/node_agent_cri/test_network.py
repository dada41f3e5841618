"""Pod networking through --pod-cidr: the CRI runtime runs in a network namespace of its own (made by the test with
``unshare --net``), so the bridge and veths it creates never touch the host's network config."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from node_agent.cri.pb import api_pb2 as pb
from node_agent.cri.pb import api_pb2_grpc as pb_grpc
from tests.e2e.node_agent_cri.conftest import REPO, Cri, _cleanup
from tests.support.procs import ProcessGroup, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def netcri(procs: ProcessGroup, tmp_path: Path) -> Iterator[Cri]:
    import os
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, cgroups, overlayfs)")
    root = tmp_path / "cri-root"
    sock = tmp_path / "cri.sock"
    py = sys.executable
    subprocess.run([py, "-m", "node_agent.runtime.images", "build", "busybox", "--root", str(root)], cwd=REPO,
                   check=True, timeout=60, capture_output=True)
    procs.start("cri", ["unshare", "--net", "--", py, "-m", "node_agent.cri", "--socket", str(sock), "--root",
                        str(root), "--pod-cidr", "10.250.7.0/24", "--pod-network-bridge", "kemu-t0"])
    wait_for(sock.exists, 30, 0.05, what="CRI socket")
    ch = grpc.insecure_channel(f"unix://{sock}")
    c = Cri(sock, root, pb_grpc.RuntimeServiceStub(ch), pb_grpc.ImageServiceStub(ch), ch, procs)
    try:
        yield c
    finally:
        try:
            for s in c.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=10).items:
                c.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=s.id), timeout=30)
        except grpc.RpcError:
            pass
        ch.close()
        _cleanup(root)


def test_pods_get_addresses_and_reach_each_other(netcri: Cri) -> None:
    a, a_cfg = netcri.run_sandbox(name=f"a-{uuid.uuid4().hex[:6]}")
    b, b_cfg = netcri.run_sandbox(name=f"b-{uuid.uuid4().hex[:6]}")
    ip_a = netcri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=a), timeout=5).status.network.ip
    ip_b = netcri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=b), timeout=5).status.network.ip
    assert ip_a.startswith("10.250.7.") and ip_b.startswith("10.250.7.") and ip_a != ip_b
    netcri.run(a, a_cfg, "web", ["sh", "-c", "mkdir -p /www && echo pod-a > /www/index.html && "
                                 "exec httpd -f -p 80 -h /www"])
    client = netcri.run(b, b_cfg, "client", ["sleep", "300"])
    r = netcri.exec(client, ["ip", "-4", "-o", "addr", "show", "eth0"])
    assert ip_b in r.stdout.decode()

    def fetched() -> bool:
        return netcri.exec(client, ["wget", "-qO-", f"http://{ip_a}/"], timeout=5).stdout == b"pod-a\n"
    wait_for(fetched, 15, 0.2, what="HTTP from pod b to pod a")
