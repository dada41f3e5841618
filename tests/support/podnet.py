"""Shared netns scaffolding for networking tests: one node netns with its bridge (node_agent.network attach) and
pod netns each running a tiny HTTP server that answers its own name. Traffic stays inside these namespaces."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from node_agent.proxy.rules import ruleset, service_ports
from tests.conftest import require_root
from tests.support.procs import ProcessGroup, wait_for

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


@contextmanager
def pod_network(tmp_path: Path, procs: ProcessGroup, pods_n: int = 3) -> Iterator[Net]:
    require_root()
    tag = uuid.uuid4().hex[:6]
    node = f"kemu-t{tag}-node"
    pods = {f"pod{i}": f"kemu-t{tag}-pod{i}" for i in range(pods_n)}
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
        def serving(ip: str, name: str) -> bool:
            return n.client(node, ip, 8080, 1) == {name: 1}
        for name, ip in ips.items():
            wait_for(functools.partial(serving, ip, name), timeout_s=15, what=f"{name} serving")
        yield n
    finally:
        procs.close()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
