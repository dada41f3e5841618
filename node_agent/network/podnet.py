"""The node's pod network: a bridge, one veth pair per pod sandbox, addresses from the node's pod CIDR.

Runs in the node's network namespace (the node agent's own). attach() moves one end of a veth pair into the sandbox's
network namespace (given as a path such as /proc/<holder pid>/ns/net or /run/netns/<name>), names it eth0, gives it
the pod address with a default route via the bridge; detach() deletes the host end (the kernel removes the peer)
and frees the address. Both are idempotent. Forwarding is enabled inside the node's namespace only. The bridge is
checked once per process (again after a failed attach); each attach is two ``ip -batch`` runs. Thread-safe: address
allocation and its state file are under a lock (the runtime sets up several sandboxes at once).

The bridge (the pods' gateway) gets a fixed MAC address derived from the gateway address (kemu.netdev.bridge_mac).
Left alone, Linux gives a bridge the lowest MAC among its ports, so a new pod whose veth happens to sort lower (or the
deletion of the pod whose veth it was) changes the gateway's MAC under every other pod on the node: their ARP
entries keep the old one, and everything they send through the gateway (DNS on the node, Service VIPs, other
nodes) is lost until those entries are probed again -- 20-50 s of silence (issue 6, seen after a proxy restart).
An address set explicitly is never recalculated.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from kemu.netdev import bridge_mac
from kemu.syscmd import run as _run
from node_agent.network.ipam import Ipam


def _in(netns_path: str, *argv: str, check: bool = True, input_text: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    return _run(["nsenter", f"--net={netns_path}", *argv], check=check, input_text=input_text)


def _link_exists(name: str) -> bool:
    """Whether interface ``name`` exists in the caller's network namespace (no `ip` exec; /sys may show another)."""
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class Attachment:
    sandbox_id: str
    address: str
    gateway: str
    prefixlen: int
    host_veth: str


class PodNetwork:
    def __init__(self, cidr: str, state_file: Path, bridge: str = "kemu-cbr0",
                 service_cidr: str = "10.96.0.0/12") -> None:
        self.cidr = cidr
        self.service_cidr = service_cidr
        self.bridge = bridge
        self.state_file = state_file
        self.ipam = Ipam.load(state_file, cidr)
        self._bridge_ready = False  # ensure_bridge() ran in this process (once, not per pod)
        self._lock = threading.Lock()  # address allocation and its state file

    @staticmethod
    def host_veth(sandbox_id: str) -> str:
        return "veth" + hashlib.sha1(sandbox_id.encode()).hexdigest()[:10]

    def ensure_bridge(self) -> None:
        if _run(["ip", "link", "show", self.bridge], check=False).returncode != 0:
            _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        # fixed, so pods joining or leaving never change the gateway's MAC (see the module docstring)
        _run(["ip", "link", "set", self.bridge, "address", bridge_mac(self.ipam.gateway)])
        addrs = _run(["ip", "-4", "-o", "addr", "show", "dev", self.bridge]).stdout
        if f" {self.ipam.gateway}/" not in addrs:
            _run(["ip", "addr", "add", f"{self.ipam.gateway}/{self.ipam.prefixlen}", "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])
        # Nodes have no default route (nothing leaves the emulated network), so the node's own connections to
        # Service VIPs need a route for the output-hook DNAT to happen at all. Via lo rather than the bridge: after
        # DNAT the packet is re-routed to the pod anyway, and a no-endpoint rejection can be routed back to the
        # local socket (from a route over the bridge the kernel drops it and the connect hangs).
        _run(["ip", "link", "set", "lo", "up"])
        _run(["ip", "route", "replace", self.service_cidr, "dev", "lo"])
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1")   # per network namespace

    def attach(self, sandbox_id: str, netns_path: str) -> Attachment:
        with self._lock:  # the runtime attaches several sandboxes at once, from its worker threads
            if not self._bridge_ready:
                self.ensure_bridge()
                self._bridge_ready = True
            address = self.ipam.allocate(sandbox_id)
            self.ipam.save(self.state_file)
        host = self.host_veth(sandbox_id)
        if not _link_exists(host):
            # Two `ip -batch` runs (one per namespace) instead of a dozen `ip`/`nsenter` execs: pod start is
            # dominated by process starts. The peer is created as eth0 right in the pod's namespace: moving a
            # device between namespaces waits for an RCU grace period under the kernel's RTNL lock (~20 ms each,
            # serialising concurrent pod starts). A pod reaching itself through a Service VIP comes back through
            # its own bridge port, hence hairpin.
            try:
                _run(["ip", "-batch", "-"], input_text="".join(f"{line}\n" for line in (
                    f"link add {host} type veth peer name eth0 netns {netns_path}",
                    f"link set {host} master {self.bridge}",
                    f"link set {host} up",
                    f"link set dev {host} type bridge_slave hairpin on")))
                _in(netns_path, "ip", "-batch", "-", input_text="".join(f"{line}\n" for line in (
                    f"addr add {address}/{self.ipam.prefixlen} dev eth0",
                    "link set eth0 up",
                    "link set lo up",
                    f"route add default via {self.ipam.gateway}")))
            except RuntimeError:
                with self._lock:
                    self._bridge_ready = False  # the bridge may be what went missing: check it again next time
                _run(["ip", "link", "del", host], check=False)
                raise
        return Attachment(sandbox_id, address, self.ipam.gateway, self.ipam.prefixlen, host)

    def detach(self, sandbox_id: str) -> None:
        _run(["ip", "link", "del", self.host_veth(sandbox_id)], check=False)
        with self._lock:
            if self.ipam.release(sandbox_id) is not None:
                self.ipam.save(self.state_file)
