"""Pod network + service proxy in kemu-made namespaces: one node netns with its bridge, three pod netns each running
a tiny server that answers its own name. All traffic stays inside these namespaces; loops are bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from node_agent.proxy.rules import ruleset, service_ports
from tests.conftest import require_root
from tests.support.procs import ProcessGroup, wait_for

pytestmark = pytest.mark.e2e

SERVER = ("import socket,sys\n"
          "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 8080)); "
          "s.listen(64)\n"
          "while True:\n"
          "  c,_=s.accept(); c.recv(1024); c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\n'+sys.argv[1].encode()); c.close()\n")

CLIENT = ("import socket,sys,collections\n"
          "host,port,n=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]); seen=collections.Counter()\n"
          "for _ in range(n):\n"
          "  try:\n"
          "    c=socket.create_connection((host,port),timeout=1); c.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
          "    seen[c.recv(1024).split(b'\\r\\n\\r\\n',1)[1].decode()]+=1; c.close()\n"
          "  except OSError as e: seen['error:'+type(e).__name__]+=1\n"
          "print(dict(seen))\n")


@dataclass
class Net:
    node: str
    pods: dict[str, str]         # pod name -> netns name
    ips: dict[str, str]          # pod name -> address
    gateway: str

    def client(self, netns: str, host: str, port: int, n: int) -> dict[str, int]:
        out = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT, host, str(port), str(n)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout.strip().replace("'", '"')))

    def apply(self, services: list[dict], slices: list[dict]) -> str:
        rules = ruleset(service_ports(services, slices))
        result = subprocess.run(["ip", "netns", "exec", self.node, "nft", "-f", "-"], input=rules, text=True,
                                capture_output=True, timeout=30)
        assert result.returncode == 0, result.stderr + "\n" + rules
        return rules


@pytest.fixture
def net(tmp_path: Path, procs: ProcessGroup) -> Iterator[Net]:
    require_root()
    tag = uuid.uuid4().hex[:6]
    node = f"kemu-t{tag}-node"
    pods = {f"pod{i}": f"kemu-t{tag}-pod{i}" for i in range(3)}
    made: list[str] = []
    try:
        for ns in [node, *pods.values()]:
            subprocess.run(["ip", "netns", "add", ns], check=True)
            made.append(ns)
        ips = {}
        for name, ns in pods.items():
            out = subprocess.run(
                ["ip", "netns", "exec", node, sys.executable, "-m", "node_agent.network", "attach",
                 "--cidr", "10.244.7.0/24", "--state-file", str(tmp_path / "ipam.json"), "--sandbox", name,
                 "--netns", f"/run/netns/{ns}"], capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            ips[name] = json.loads(out.stdout)["address"]
            procs.start(name, ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, name])
        n = Net(node, pods, ips, "10.244.7.1")
        for name, ip in ips.items():
            wait_for(lambda ip=ip, name=name: n.client(node, ip, 8080, 1) == {name: 1}, timeout_s=15,
                     what=f"{name} serving")
        yield n
    finally:
        procs.close()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _svc(name: str, ip: str, port: int = 80, node_port: int | None = None, affinity: bool = False) -> dict:
    p: dict = {"name": "http", "port": port, "protocol": "TCP", "targetPort": "web"}
    spec: dict = {"clusterIP": ip, "ports": [p], "type": "ClusterIP"}
    if node_port:
        p["nodePort"], spec["type"] = node_port, "NodePort"
    if affinity:
        spec["sessionAffinity"] = "ClientIP"
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _slice(service: str, ips: dict[str, str], unready: frozenset[str] = frozenset()) -> dict:
    return {"metadata": {"name": f"{service}-abc", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": service}},
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": name not in unready}}
                          for name, ip in sorted(ips.items())]}


def test_vip_balances_over_ready_endpoints_only(net: Net) -> None:
    net.apply([_svc("web", "10.96.0.50")], [_slice("web", net.ips)])
    seen = net.client(net.node, "10.96.0.50", 80, 90)
    assert set(seen) == {"pod0", "pod1", "pod2"} and all(c >= 10 for c in seen.values()), seen
    net.apply([_svc("web", "10.96.0.50")], [_slice("web", net.ips, unready=frozenset({"pod1"}))])
    seen = net.client(net.node, "10.96.0.50", 80, 40)
    assert set(seen) == {"pod0", "pod2"}, seen


def test_from_a_pod_including_hairpin_to_itself(net: Net) -> None:
    net.apply([_svc("web", "10.96.0.50")], [_slice("web", net.ips)])
    seen = net.client(net.pods["pod0"], "10.96.0.50", 80, 90)
    assert set(seen) == {"pod0", "pod1", "pod2"}, seen


def test_no_endpoints_is_refused_not_hung(net: Net) -> None:
    net.apply([_svc("empty", "10.96.0.60")], [])
    assert net.client(net.pods["pod0"], "10.96.0.60", 80, 3) == {"error:ConnectionRefusedError": 3}
    assert net.client(net.node, "10.96.0.60", 80, 3) == {"error:ConnectionRefusedError": 3}


def test_node_port_and_client_ip_affinity(net: Net) -> None:
    net.apply([_svc("np", "10.96.0.70", node_port=30080), _svc("sticky", "10.96.0.80", affinity=True)],
              [_slice("np", net.ips), _slice("sticky", net.ips)])
    seen = net.client(net.pods["pod2"], net.gateway, 30080, 60)
    assert set(seen) == {"pod0", "pod1", "pod2"}, seen
    sticky = net.client(net.pods["pod1"], "10.96.0.80", 80, 20)
    assert len(sticky) == 1 and next(iter(sticky.values())) == 20, sticky


def test_deleting_services_removes_their_rules(net: Net) -> None:
    net.apply([_svc("web", "10.96.0.50")], [_slice("web", net.ips)])
    net.apply([], [])
    listing = subprocess.run(["ip", "netns", "exec", net.node, "nft", "list", "table", "ip", "kemu_proxy"],
                             capture_output=True, text=True, timeout=30).stdout
    assert "10.96.0.50" not in listing
    assert net.client(net.node, "10.96.0.50", 80, 1) != {"pod0": 1}
