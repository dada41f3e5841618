"""End to end: real etcd, our apiserver, our CRI runtime, our node agent, driven with the real kubectl.

Checks what a user sees: the Node turns Ready in ``kubectl get nodes``; a busybox pod bound by spec.nodeName runs
(``kubectl get pods``) and ``kubectl logs`` shows its output; a crashing container reaches CrashLoopBackOff with a
growing restartCount; deleting a pod kills its processes. Needs root (namespaces, cgroups) and skips, naming the
gap, while ``python -m apiserver`` or ``python -m node_agent.cri`` do not exist yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.apiserver import start_apiserver
from tests.support.procs import ProcessGroup, free_port, wait_for

REPO = Path(__file__).resolve().parents[3]


def _missing() -> str | None:
    for mod, path in (("apiserver", "apiserver/__main__.py"), ("node_agent.cri", "node_agent/cri/__main__.py")):
        if not (REPO / path).exists():
            return f"`python -m {mod}` does not exist yet ({path})"
    return None


pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path) -> None:
        self.base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), "--request-timeout=10s"]

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        r = subprocess.run([*self.base, *args], input=stdin, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {r.stderr}")
        return r.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))


def _pod(name: str, script: str, node: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                       "spec": {"nodeName": node, "terminationGracePeriodSeconds": 2,
                                "containers": [{"name": "main", "image": "busybox",
                                                "imagePullPolicy": "IfNotPresent",
                                                "command": ["sh", "-c", script]}]}})


def _pids_with(marker: str) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if marker.encode() in f.read().replace(b"\0", b" "):
                    out.append(int(d))
        except OSError:
            continue
    return out


def test_node_agent_runs_pods_for_kubectl(procs: ProcessGroup, real_etcd: list[Any], tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, cgroups)")
    py = sys.executable
    api = start_apiserver(procs, [m.client_url for m in real_etcd], tmp_path / "apiserver")
    sock = tmp_path / "cri.sock"
    cri_root = tmp_path / "cri-root"
    runtime_dir = REPO / "node_agent" / "runtime"
    if (runtime_dir / "images").exists() or (runtime_dir / "images.py").exists():
        # the busybox image is built locally from Debian's busybox-static (no registry)
        subprocess.run([py, "-m", "node_agent.runtime.images", "build", "busybox", "--root", str(cri_root)],
                       cwd=REPO, check=True, timeout=120, capture_output=True)
    procs.start("cri", [py, "-m", "node_agent.cri", "--socket", str(sock), "--root", str(cri_root)])
    wait_for(sock.exists, 30, what="CRI socket")
    node = "kemu-e2e-node"
    token_file = tmp_path / "token"
    token_file.write_text(api.token)
    procs.start("node_agent", [py, "-m", "node_agent", "--node-name", node, "--apiserver", api.url,
                               "--token-file", str(token_file), "--ca-file", str(api.ca_file),
                               "--cri-socket", str(sock), "--root-dir", str(tmp_path / "kubelet"),
                               "--address", "127.0.0.1", "--port", str(free_port()),
                               "--capacity", "cpu=2,memory=2Gi,pods=20", "--lease-renew-interval", "2",
                               "--node-status-interval", "2"])
    k = Kubectl(api.kubeconfig, tmp_path / "kcache")

    def node_ready() -> bool:
        conds = k.json("get", "node", node)["status"]["conditions"]
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
    wait_for(node_ready, 40, 0.5, what="node Ready")
    assert any(line.split()[:2] == [node, "Ready"] for line in k.run("get", "nodes", "--no-headers").splitlines())

    # What the controller-manager (not running in this test) would create in every namespace:
    k.run("create", "serviceaccount", "default")
    k.run("create", "configmap", "kube-root-ca.crt", f"--from-file=ca.crt={api.ca_file}")
    marker = f"sleep 3{os.getpid() % 1000:03d}"
    k.run("create", "-f", "-", stdin=_pod("hello", f"echo hello-from-kemu; exec {marker}", node))
    k.run("create", "-f", "-", stdin=_pod("crash", "echo boom; exit 1", node))
    try:
        wait_for(lambda: k.json("get", "pod", "hello")["status"]["phase"] == "Running", 90, 0.5,
                 what="pod hello Running")
        assert " Running " in k.run("get", "pods", "hello", "--no-headers")
        wait_for(lambda: "hello-from-kemu" in k.run("logs", "hello", check=False), 20, 0.5, what="kubectl logs")
        assert _pids_with(marker), "the container process should run on this host"
        # exec through apiserver -> kubelet -> runtime (WebSocket v5.channel.k8s.io), with and without stdin
        assert k.run("exec", "hello", "--", "hostname").strip() == "hello"
        assert k.run("exec", "-i", "hello", "--", "cat", stdin="ping through the stream\n") == \
            "ping through the stream\n"
        failed = subprocess.run([*k.base, "exec", "hello", "--", "sh", "-c", "exit 3"], capture_output=True,
                                text=True, timeout=60)
        assert failed.returncode == 3, failed.stderr

        def crash_looping() -> bool:
            st = k.json("get", "pod", "crash")["status"]["containerStatuses"][0]
            waiting = (st.get("state") or {}).get("waiting") or {}
            return waiting.get("reason") == "CrashLoopBackOff" and st["restartCount"] >= 2
        wait_for(crash_looping, 60, 1.0, what="CrashLoopBackOff with restartCount >= 2")

        t0 = time.monotonic()
        k.run("delete", "pod", "hello", "--wait=true", "--timeout=60s")
        wait_for(lambda: not _pids_with(marker), 30, 0.2, what="container processes gone after delete")
        assert time.monotonic() - t0 < 60
    finally:
        k.run("delete", "pod", "hello", "crash", "--ignore-not-found", "--wait=true", "--timeout=60s", check=False)
