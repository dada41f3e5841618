"""One node for the whole module: real etcd, our apiserver (HTTPS), our CRI runtime and node agent in a network
namespace of their own (a kemu machine on a private underlay bridge, pods on the node's own bridge), no
controller-manager. The real kubectl drives everything.

The apiserver listens on 0.0.0.0 so kubectl uses 127.0.0.1 while the node agent (inside the node's namespace) uses
the underlay bridge's host address; the node agent's HTTP endpoint listens on the machine's underlay address, which
the apiserver reaches for logs, exec and port-forward. Every address lives on kemu-made bridges and namespaces.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kemu.launcher.machines import (
    Machine,
    Underlay,
    create_machine,
    create_underlay,
    destroy_machine,
    destroy_underlay,
    plan_machines,
)
from tests.support.apiserver import start_apiserver
from tests.support.procs import ProcessGroup, free_port, wait_for
from tests.support.real_etcd import start_real_etcd

REPO = Path(__file__).resolve().parents[3]
PY = sys.executable


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path) -> None:
        self.base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]

    def run(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60) -> str:
        r = subprocess.run([*self.base, "--request-timeout=20s", *args], input=stdin, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))

    def pod(self, name: str) -> dict[str, Any]:
        return dict(self.json("get", "pod", name))


@dataclass
class Node:
    k: Kubectl
    procs: ProcessGroup
    name: str
    cri_socket: Path
    cri_root: Path
    machine: Machine
    hostpath: Path  # a host directory the graceful-termination pod writes into
    api_url: str
    ca_file: Path
    t_created: float  # monotonic time the pods were created

    watch_buf: list[str] = field(default_factory=list)

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of pod ``name`` kubectl's watch has printed so far."""
        return [p for p in self.all_versions() if p["metadata"]["name"] == name]

    def all_versions(self) -> list[dict[str, Any]]:
        """Every pod version kubectl's watch (``get pods -w -o json``) has printed so far (concatenated JSON)."""
        text, pos = "".join(self.watch_buf), 0
        out: list[dict[str, Any]] = []
        dec = json.JSONDecoder()
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            try:
                obj, pos = dec.raw_decode(text, pos)
            except ValueError:
                return out
            out.append(obj)

    def crictl(self, *args: str) -> str:
        r = subprocess.run([*self.machine.exec_prefix(), PY, "-m", "node_agent.cri.ctl", "--socket",
                            str(self.cri_socket), *args], capture_output=True, text=True, timeout=60, cwd=REPO)
        assert r.returncode == 0, r.stderr
        return r.stdout


def _machines_ok() -> str | None:
    if os.geteuid() != 0:
        return "needs root (namespaces, cgroups)"
    for tool in ("ip", "nsenter", "kubectl", "etcd"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Node]:
    reason = _machines_ok()
    if reason:
        pytest.skip(reason)
    from tests.e2e.node_agent_kubectl.pods import all_pods

    # a module may bring its own objects: POD_SET(node name, host dir) -> list of objects
    all_pods = getattr(request.module, "POD_SET", all_pods)

    tmp = tmp_path_factory.mktemp("kt")
    short = Path(tempfile.mkdtemp(prefix="kt-", dir="/tmp"))  # unix sockets: 107-byte path limit
    procs = ProcessGroup(tmp / "logs")
    tag = uuid.uuid4().hex[:6]
    underlay = Underlay(cluster=f"kt{tag}", subnet=f"10.253.{int(tag, 16) % 250}.0/24")
    machine = plan_machines(underlay, ["node"])[0]
    cri_root = tmp / "cri-root"
    # Build the images while etcd and the apiserver start (nginx from cached Debian packages: seconds).
    builds = [subprocess.Popen([PY, "-m", "node_agent.runtime.images", "build", img, "--root", str(cri_root)],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
              for img in ("busybox", "nginx")]
    k: Kubectl | None = None
    made: Node | None = None
    watch: subprocess.Popen[str] | None = None
    try:
        create_underlay(underlay)
        create_machine(underlay, machine)
        etcd = start_real_etcd(procs, tmp / "etcd", size=1)
        api = start_apiserver(procs, [m.client_url for m in etcd], tmp / "apiserver",
                              extra=["--bind-address", "0.0.0.0", "--advertise-address", underlay.host_address])
        k = Kubectl(api.kubeconfig, tmp / "kcache")
        for b in builds:
            _, err = b.communicate(timeout=240)
            assert b.returncode == 0, err.decode(errors="replace")
        sock = short / "cri.sock"
        ns = machine.exec_prefix()
        procs.start("cri", [*ns, PY, "-m", "node_agent.cri", "--socket", str(sock), "--root", str(cri_root),
                            "--pod-network-bridge", "kt-cbr0", "--pod-cidr", "10.244.7.0/24"])
        wait_for(sock.exists, 30, what="CRI socket")
        token = tmp / "token"
        token.write_text(api.token)
        node_name = f"kt-{tag}"
        api_url = f"https://{underlay.host_address}:{api.url.rsplit(':', 1)[1]}"
        procs.start("node_agent", [*ns, PY, "-m", "node_agent", "--node-name", node_name, "--apiserver", api_url,
                                   "--token-file", str(token), "--ca-file", str(api.ca_file),
                                   "--cri-socket", str(sock), "--root-dir", str(tmp / "kubelet"),
                                   "--address", machine.address, "--port", str(free_port()),
                                   "--pod-cidr", "10.244.7.0/24", "--capacity", "cpu=2,memory=4Gi,pods=40",
                                   "--lease-renew-interval", "2", "--node-status-interval", "2"])

        def node_ready() -> bool:
            conds = k.json("get", "node", node_name)["status"]["conditions"] if k else []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
        wait_for(lambda: k is not None and k.run("get", "node", node_name, check=False) != "", 60, 0.5,
                 what="node registered")
        wait_for(node_ready, 60, 0.5, what="node Ready")
        # What the controller-manager (not running here) would create in every namespace:
        k.run("create", "serviceaccount", "default")
        k.run("create", "configmap", "kube-root-ca.crt", f"--from-file=ca.crt={api.ca_file}")
        hostpath = short / "host"
        hostpath.mkdir()
        k.run("create", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                     "items": all_pods(node_name, str(hostpath))}))
        made = Node(k, procs, node_name, sock, cri_root, machine, hostpath, api_url, api.ca_file, time.monotonic())
        # Every status every pod goes through (the OOM pod's restarts and back-offs happen while other tests run).
        watch = subprocess.Popen([*k.base, "get", "pods", "-w", "-o", "json"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
        reader = threading.Thread(target=_collect, args=(watch, made.watch_buf), daemon=True)
        reader.start()
        yield made
    finally:
        if watch is not None:
            watch.kill()
            watch.wait(timeout=10)
        for b in builds:
            if b.poll() is None:
                b.kill()
                b.wait()
        try:
            if k is not None and procs.procs.get("node_agent") is not None \
                    and procs.procs["node_agent"].poll() is None:
                k.run("delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=60s", check=False,
                      timeout=90)
        finally:
            if made is not None:
                _remove_leftovers(made)
            procs.close()
            _unmount_under(tmp / "kubelet")
            destroy_machine(machine)
            destroy_underlay(underlay)
            shutil.rmtree(short, ignore_errors=True)


def _unmount_under(root: Path) -> None:
    """tmpfs volumes (secrets, projected) of pods the kubelet never got to delete."""
    prefix = str(root) + "/"
    with open("/proc/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(prefix)]
    for p in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True, timeout=30)


def _collect(proc: subprocess.Popen[str], buf: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        buf.append(line)


def _remove_leftovers(node: Node) -> None:
    """Pods the kubelet did not get to delete: stop and remove their sandboxes through the runtime (by id), while
    it still runs, so no container process outlives the test."""
    try:
        out = node.crictl("pods")
    except (AssertionError, subprocess.TimeoutExpired):
        return
    for line in out.splitlines()[1:]:
        if line.strip():
            sid = line.split()[0]
            for cmd in ("stopp", "rmp"):
                subprocess.run([*node.machine.exec_prefix(), PY, "-m", "node_agent.cri.ctl", "--socket",
                                str(node.cri_socket), cmd, sid], capture_output=True, timeout=60, cwd=REPO)
