"""The pods' gateway keeps one MAC address whatever bridge ports come and go (issue 6: the restart-test outage).

Linux gives a bridge with no address of its own the lowest MAC among its ports. Before the fix, a new pod whose
veth sorted lower took over the gateway's MAC; pods that had cached the old one (another port's MAC) lost
everything they sent through the gateway -- DNS on the node, Service VIPs -- for the 20-50 s their ARP entries took
to be probed again. The node's pod network now pins the bridge's MAC (kemu.netdev.bridge_mac).
Here: a node namespace and two pods attached by `python -m node_agent.network`; a port with the lowest possible MAC
joins and leaves, and both pods keep reaching a UDP echo server on the gateway address at once. Namespaces are the
test's own.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kemu.netdev import bridge_mac
from tests.conftest import require_root
from tests.support.procs import ProcessGroup, wait_for

pytestmark = pytest.mark.e2e

CIDR, GATEWAY, PORT = "10.244.9.0/24", "10.244.9.1", 5353
ECHO = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((sys.argv[1],int(sys.argv[2])))\n"
        "while True:\n  d,a=s.recvfrom(512); s.sendto(d,a)\n")
ASK = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)\n"
       "try:\n  s.sendto(b'ping',(sys.argv[1],int(sys.argv[2]))); print(s.recvfrom(512)[0].decode())\n"
       "except OSError as e:\n  print('error', type(e).__name__)\n")


def _in(netns: str, *argv: str) -> str:
    r = subprocess.run(["nsenter", f"--net=/run/netns/{netns}", *argv], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{argv}: {r.stderr}"
    return r.stdout


@pytest.fixture
def namespaces() -> Iterator[tuple[str, list[str]]]:
    require_root()
    tag = uuid.uuid4().hex[:6]
    node, pods = f"kemu-m{tag}-node", [f"kemu-m{tag}-pod{i}" for i in range(2)]
    made = []
    try:
        for ns in (node, *pods):
            subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
            made.append(ns)
        yield node, pods
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def test_gateway_mac_is_fixed_while_ports_join_and_leave(namespaces: tuple[str, list[str]], procs: ProcessGroup,
                                                         tmp_path: Path) -> None:
    node, pods = namespaces
    for i, pod in enumerate(pods):
        out = _in(node, sys.executable, "-m", "node_agent.network", "attach", "--cidr", CIDR,
                  "--state-file", str(tmp_path / "ipam.json"), "--sandbox", f"p{i}", "--netns", f"/run/netns/{pod}")
        assert json.loads(out)["gateway"] == GATEWAY

    def gateway_mac() -> str:
        return _in(node, "ip", "-br", "link", "show", "kemu-cbr0").split()[2]

    def reaches_gateway(pod: str) -> bool:
        return _in(pod, sys.executable, "-c", ASK, GATEWAY, str(PORT)).strip() == "ping"

    procs.start("echo", ["nsenter", f"--net=/run/netns/{node}", sys.executable, "-c", ECHO, GATEWAY, str(PORT)])
    for pod in pods:   # each pod resolves and caches the gateway's MAC
        wait_for(functools.partial(reaches_gateway, pod), timeout_s=20, interval_s=0.2,
                 what=f"{pod} reaching a server on its gateway")

    # a port with the lowest unicast MAC there is joins (another pod's veth, as far as the bridge knows): the pods'
    # cached gateway MAC must still be the gateway's -- asked at once, with no time for their ARP entries to age
    _in(node, "ip", "link", "add", "vlow", "type", "veth", "peer", "name", "vlowpeer")
    _in(node, "ip", "link", "set", "vlow", "address", "02:00:00:00:00:01")
    _in(node, "ip", "link", "set", "vlow", "master", "kemu-cbr0", "up")
    _in(node, "ip", "link", "set", "vlowpeer", "up")
    assert [reaches_gateway(pod) for pod in pods] == [True, True], [_in(p, "ip", "neigh") for p in pods]
    assert gateway_mac() == bridge_mac(GATEWAY)
    # ... and leaves again
    _in(node, "ip", "link", "del", "vlow")
    assert [reaches_gateway(pod) for pod in pods] == [True, True], [_in(p, "ip", "neigh") for p in pods]
    assert gateway_mac() == bridge_mac(GATEWAY)
