"""Pod networking through --pod-cidr: the CRI runtime runs in a network namespace of its own (made by the test with
``unshare --net``), so the bridge and veths it creates never touch the host's network config."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from node_agent.cri.pb import api_pb2 as pb
from tests.e2e.node_agent_cri.conftest import Cri, start_cri, stop_cri
from tests.support.procs import ProcessGroup, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def netcri(procs: ProcessGroup, tmp_path: Path) -> Iterator[Cri]:
    c = start_cri(procs, tmp_path, ["--pod-cidr", "10.250.7.0/24", "--pod-network-bridge", "kemu-t0"],
                  prefix=["unshare", "--net", "--"])
    try:
        yield c
    finally:
        stop_cri(c)


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


def test_pod_cidr_from_update_runtime_config(procs: ProcessGroup, tmp_path: Path) -> None:
    c = start_cri(procs, tmp_path, ["--pod-network-bridge", "kemu-t1"], prefix=["unshare", "--net", "--"])
    try:
        before, _ = c.run_sandbox()
        st = c.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=before), timeout=5).status
        assert st.network.ip == ""  # no CIDR yet: loopback only
        c.rt.UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest(runtime_config=pb.RuntimeConfig(
            network_config=pb.NetworkConfig(pod_cidr="10.250.9.0/24"))), timeout=5)
        after, _ = c.run_sandbox()
        st = c.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=after), timeout=5).status
        assert st.network.ip.startswith("10.250.9.")
    finally:
        stop_cri(c)
