"""Machines: one network namespace per emulated host, on an underlay bridge that kemu creates (root only).

Layout (DESIGN.md "Addresses stay inside"): a bridge in the host namespace carries a private /24 (default
10.250.0.0/24); the host side of the bridge is .1, so the user's kubectl reaches the apiserver. Each machine is a
netns `kemu-<cluster>-<name>` with a veth to the bridge and one address from the /24, and NO default route: nothing
a machine sends can leave through the host's own interfaces. A partition is an nftables table inside a machine's
netns that drops traffic to and from chosen peers; healing deletes that table.

plan_machines() is pure; everything that touches the kernel goes through _run() (the `ip` and `nft` commands).
"""

from __future__ import annotations

import hashlib
import ipaddress
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from kemu.netdev import bridge_mac
from kemu.syscmd import run as _run

PARTITION_TABLE = "kemu_partition"


@dataclass(frozen=True)
class Underlay:
    cluster: str
    subnet: str = "10.250.0.0/24"

    @property
    def bridge(self) -> str:
        return "kb-" + _short(self.cluster, 8)

    @property
    def host_address(self) -> str:
        return str(next(ipaddress.ip_network(self.subnet).hosts()))

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen


@dataclass(frozen=True)
class Machine:
    name: str
    netns: str
    address: str
    veth_host: str
    veth_machine: str = "eth0"

    def exec_prefix(self) -> list[str]:
        """Prefix an argv with this to run it inside the machine (nsenter execs in place: same PID).

        Not `ip netns exec`: that remounts /sys for the namespace, which hides /sys/fs/cgroup from a node's
        runtime; nsenter only switches the network namespace."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", "--"]


def _short(text: str, n: int) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n]


def plan_machines(underlay: Underlay, names: Sequence[str], first_host: int = 10) -> list[Machine]:
    net = ipaddress.ip_network(underlay.subnet)
    if first_host + len(names) >= net.num_addresses - 1:
        raise ValueError(f"{underlay.subnet} has no room for {len(names)} machines")
    return [Machine(name=name, netns=f"kemu-{underlay.cluster}-{name}", address=str(net[first_host + i]),
                    veth_host="kv-" + _short(f"{underlay.cluster}/{name}", 10))
            for i, name in enumerate(names)]


def _ns(m: Machine, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run(["ip", "netns", "exec", m.netns, *argv], check=check)


def create_underlay(u: Underlay) -> None:
    if _run(["ip", "link", "show", u.bridge], check=False).returncode == 0:
        return
    # a fixed MAC, as the pod bridges have: left alone the bridge takes its lowest port's MAC, which changes as
    # machines join, under every machine that has the host address in its ARP cache
    _run(["ip", "link", "add", u.bridge, "address", bridge_mac(u.host_address), "type", "bridge"])
    _run(["ip", "addr", "add", f"{u.host_address}/{u.prefixlen}", "dev", u.bridge])
    _run(["ip", "link", "set", u.bridge, "up"])


def destroy_underlay(u: Underlay) -> None:
    _run(["ip", "link", "del", u.bridge], check=False)


def create_machine(u: Underlay, m: Machine) -> None:
    if m.netns in existing_netns():
        destroy_machine(m)
    _run(["ip", "netns", "add", m.netns])
    _run(["ip", "link", "add", m.veth_host, "type", "veth", "peer", "name", m.veth_machine, "netns", m.netns])
    _run(["ip", "link", "set", m.veth_host, "master", u.bridge])
    _run(["ip", "link", "set", m.veth_host, "up"])
    _ns(m, "ip", "addr", "add", f"{m.address}/{u.prefixlen}", "dev", m.veth_machine)
    _ns(m, "ip", "link", "set", m.veth_machine, "up")
    _ns(m, "ip", "link", "set", "lo", "up")


def add_routes(m: Machine, routes: Sequence[tuple[str, str]]) -> None:
    """Routes (prefix, via address) inside machine m; an existing route to the prefix is replaced."""
    for prefix, via in routes:
        _ns(m, "ip", "route", "replace", prefix, "via", via)


def destroy_machine(m: Machine) -> None:
    _run(["ip", "link", "del", m.veth_host], check=False)
    _run(["ip", "netns", "del", m.netns], check=False)


def existing_netns() -> set[str]:
    out = _run(["ip", "netns", "list"], check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def partition(m: Machine, peers: Sequence[str]) -> None:
    """Drop everything between machine m and the given peer addresses or prefixes (both directions), inside m's
    netns -- including traffic m forwards (its pods' traffic, when m is a node)."""
    heal(m)
    addrs = ", ".join(peers)
    ruleset = (f"table inet {PARTITION_TABLE} {{\n"
               f"  chain input {{ type filter hook input priority -10; ip saddr {{ {addrs} }} drop; }}\n"
               f"  chain output {{ type filter hook output priority -10; ip daddr {{ {addrs} }} drop; }}\n"
               f"  chain forward {{ type filter hook forward priority -10; ip saddr {{ {addrs} }} drop; "
               f"ip daddr {{ {addrs} }} drop; }}\n"
               f"}}\n")
    _run(["ip", "netns", "exec", m.netns, "nft", "-f", "-"], input_text=ruleset)


def heal(m: Machine) -> None:
    _ns(m, "nft", "delete", "table", "inet", PARTITION_TABLE, check=False)
