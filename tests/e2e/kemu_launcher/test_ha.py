"""The HA control plane end to end (issue 7): `kemu up --ha --nodes 1` starts 3 apiservers behind the load balancer,
2 controller-managers and 2 schedulers on the control-plane machine. Each apiserver answers /readyz on its own
address; each leader Lease is held by one replica; the real kubectl, through the load balancer, runs a Deployment.
SIGKILL the leading controller-manager: the other replica takes the Lease and a scale-up still happens. SIGKILL an
apiserver: kubectl through the load balancer keeps working and the controllers still act. `kemu down` leaves no
process, namespace, bridge, mount or cgroup behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from kemu.launcher import machines
from node_agent.runtime.sweep import scope_dirs
from tests.conftest import require_root
from tests.support.kemu_cli import alive, run_kemu
from tests.support.net import free_subnet
from tests.support.procs import wait_for

pytestmark = pytest.mark.e2e


def _arg(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_ha_control_plane_survives_a_leader_and_an_apiserver(tmp_path: Path) -> None:
    require_root()
    started = time.monotonic()
    cluster = "h" + uuid.uuid4().hex[:6]
    state = Path(tempfile.mkdtemp(prefix="kha-", dir="/tmp"))   # short: socket paths under it stay short
    up = run_kemu(state, cluster, "up", "--ha", "--nodes", "1", "--netns", "on", "--subnet", free_subnet(), "--fast")
    recorded: list[dict[str, Any]] = []
    netns: set[str] = set()
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        recorded = json.loads((state / "state.json").read_text())["processes"]
        netns = {m["netns"] for m in json.loads((state / "machines.json").read_text())["machines"]}
        by_name = {str(p["name"]): p for p in recorded}
        assert {n for n in by_name if not n.startswith(("etcd-", "node-"))} == {
            "apiserver-1", "apiserver-2", "apiserver-3", "lb", "controller-manager-1", "controller-manager-2",
            "scheduler-1", "scheduler-2"}
        env = {**os.environ, "KUBECONFIG": str(state / "kubeconfig")}

        def kubectl(*args: str, check: bool = True) -> str:
            r = subprocess.run(["kubectl", "--cache-dir", str(tmp_path / "kc"), *args], capture_output=True,
                               text=True, timeout=60, env=env)
            if check and r.returncode != 0:
                raise AssertionError(f"kubectl {' '.join(args)}: {r.stderr}")
            return r.stdout

        lb_url = kubectl("config", "view", "-o", "jsonpath={.clusters[0].cluster.server}")
        lb_listen = _arg(by_name["lb"]["argv"], "--listen")
        assert lb_url == f"https://{lb_listen}", "the kubeconfig points at the load balancer"
        apiservers = [f"https://{_arg(p['argv'], '--bind-address')}:{_arg(p['argv'], '--secure-port')}"
                      for n, p in sorted(by_name.items()) if n.startswith("apiserver-")]
        for url in apiservers:   # each one directly, its certificate verified for that address
            assert kubectl("--server", url, "get", "--raw", "/readyz") == "ok"
        # the kubernetes Service leads to every apiserver (one machine, one port each): Endpoints subsets and slices
        ports = sorted(int(url.rsplit(":", 1)[1]) for url in apiservers)
        ep = json.loads(kubectl("get", "endpoints", "kubernetes", "-o", "json"))
        assert sorted(s["ports"][0]["port"] for s in ep["subsets"]) == ports
        slices = json.loads(kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=kubernetes",
                                    "-o", "json"))["items"]
        assert sorted(sl["ports"][0]["port"] for sl in slices) == ports

        def holder(lease: str) -> str:
            out = kubectl("get", "lease", "-n", "kube-system", lease, "-o", "jsonpath={.spec.holderIdentity}",
                          check=False)
            return out.strip()
        wait_for(lambda: holder("kube-controller-manager").startswith("controller-manager-")
                 and holder("kube-scheduler").startswith("scheduler-"), timeout_s=60, interval_s=1,
                 what="both leader Leases held")
        status = run_kemu(state, cluster, "status").stdout
        assert status.count(" ready\n") >= 3 and "load balancer" in status and "accepting" in status, status
        assert f"held by {holder('kube-controller-manager')}" in status, status

        def ready_replicas() -> int:
            return int(kubectl("get", "deploy", "web", "-o", "jsonpath={.status.readyReplicas}") or 0)
        wait_for(lambda: "Ready" in kubectl("get", "nodes", "--no-headers"), timeout_s=60, interval_s=1,
                 what="node-1 Ready")
        kubectl("create", "deployment", "web", "--image=busybox", "--replicas=1", "--", "sleep", "3600")
        wait_for(lambda: ready_replicas() == 1, timeout_s=120, interval_s=1, what="the first replica running")

        # The leading controller-manager dies; the other replica must take its Lease and act.
        leader = holder("kube-controller-manager")
        other = ({"controller-manager-1", "controller-manager-2"} - {leader}).pop()
        standby_log = state / "logs" / f"{other}.log"
        assert "acquired lease" not in standby_log.read_text(), "the standby replica waits"
        t_kill = time.monotonic()
        os.killpg(int(by_name[leader]["pid"]), signal.SIGKILL)
        wait_for(lambda: holder("kube-controller-manager") == other, timeout_s=90, interval_s=0.5,
                 what=f"{other} taking the controller-manager Lease")
        takeover_s = time.monotonic() - t_kill
        assert f"{other} acquired lease kube-system/kube-controller-manager" in standby_log.read_text()
        kubectl("scale", "deployment", "web", "--replicas=2")
        wait_for(lambda: ready_replicas() == 2, timeout_s=120, interval_s=1, what="the scale-up by the new leader")

        # An apiserver dies: kubectl through the load balancer keeps working, and so do the components behind it.
        os.killpg(int(by_name["apiserver-1"]["pid"]), signal.SIGKILL)
        for _ in range(10):
            assert "web-" in kubectl("get", "pods", "--no-headers")
        kubectl("scale", "deployment", "web", "--replicas=3")
        wait_for(lambda: ready_replicas() == 3, timeout_s=120, interval_s=1,
                 what="a scale-up with one apiserver down")
        status = run_kemu(state, cluster, "status").stdout
        assert f"{apiservers[0]:<28} DOWN" in status, status
        print(f"\nHA e2e: controller-manager takeover {takeover_s:.1f}s after SIGKILL of {leader}; "
              f"total {time.monotonic() - started:.1f}s")
    finally:
        down = run_kemu(state, cluster, "down")
    try:
        assert down.returncode == 0, down.stdout + down.stderr
        assert not any(alive(int(p["pid"])) for p in recorded)
        assert not netns & machines.existing_netns()
        assert subprocess.run(["ip", "link", "show", machines.Underlay(cluster).bridge],
                              capture_output=True).returncode != 0
        with open("/proc/self/mountinfo") as f:
            assert str(state) not in f.read()
        for runtime_root in state.glob("nodes/*/runtime"):
            assert scope_dirs(runtime_root) == [], "the node's cgroups are removed"
    finally:
        shutil.rmtree(state, ignore_errors=True)
