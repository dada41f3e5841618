"""hostPort: CRI PortMappings as DNAT rules in the node's network namespace (what the CNI portmap plugin does).

One nftables table ``ip kemu_hostport`` (its own: the proxy and network policy keep theirs) in the namespace the
runtime runs in (the node's). Base chains at the nat prerouting hook (traffic arriving at the node) and output hook
(the node's own processes) send packets addressed to one of the node's own addresses (``fib daddr type local``) to
chain ``hostports``, where each mapping is one rule ``[ip daddr <hostIP>] <proto> dport <hostPort> dnat to
<podIP>:<containerPort>`` commented ``sb:<sandbox id>``; removing a sandbox's mappings deletes its rules by handle.
Rules outlive a restarted runtime (the kernel keeps them) and are found again by their comment.
``rules_for`` is pure; ``HostPorts`` runs ``nft``. Thread-safe (one lock around every change).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from kemu.syscmd import run

TABLE = "kemu_hostport"
_PROTOCOLS = {0: "tcp", 1: "udp", 2: "sctp"}  # CRI Protocol enum

Mapping_ = tuple[int, int, int, str]  # (CRI protocol, container port, host port, host IP)


def rules_for(sandbox_id: str, pod_ip: str, mappings: Sequence[Mapping_]) -> list[str]:
    """nft commands adding one DNAT rule per mapping (mappings without a host port are skipped)."""
    out = []
    for proto, cport, hport, hip in mappings:
        if hport <= 0 or cport <= 0:
            continue
        p = _PROTOCOLS.get(proto)
        if p is None:
            raise ValueError(f"unsupported port mapping protocol {proto}")
        match = f"ip daddr {hip} " if hip and hip != "0.0.0.0" else ""
        out.append(f'add rule ip {TABLE} hostports {match}{p} dport {hport} dnat to {pod_ip}:{cport} '
                   f'comment "sb:{sandbox_id}"')
    return out


def base_ruleset() -> list[str]:
    """The table and its hook chains (base chains flushed and refilled; the mappings' chain kept)."""
    return [f"add table ip {TABLE}", f"add chain ip {TABLE} hostports",
            f"add chain ip {TABLE} prerouting {{ type nat hook prerouting priority -110 ; }}",
            f"add chain ip {TABLE} output {{ type nat hook output priority -110 ; }}",
            f"flush chain ip {TABLE} prerouting", f"flush chain ip {TABLE} output",
            f"add rule ip {TABLE} prerouting fib daddr type local jump hostports",
            f"add rule ip {TABLE} output fib daddr type local jump hostports"]


_HANDLE = re.compile(r'comment "sb:([0-9a-f]+)".*# handle (\d+)')


def handles_of(listing: str, sandbox_id: str) -> list[int]:
    """Rule handles of a sandbox's mappings in ``nft -a list chain`` output."""
    return [int(m.group(2)) for m in map(_HANDLE.search, listing.splitlines()) if m and m.group(1) == sandbox_id]


class HostPorts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = False

    def _nft(self, cmds: list[str]) -> None:
        run(["nft", "-f", "-"], input_text="\n".join(cmds) + "\n")

    def add(self, sandbox_id: str, pod_ip: str, mappings: Sequence[Mapping_]) -> None:
        cmds = rules_for(sandbox_id, pod_ip, mappings)
        if not cmds:
            return
        with self._lock:
            if not self._ready:
                self._nft(base_ruleset())
                self._ready = True
            self._nft(cmds)

    def remove(self, sandbox_id: str) -> None:
        """Delete the sandbox's rules (none, or no table: nothing to do)."""
        with self._lock:
            r = run(["nft", "-a", "list", "chain", "ip", TABLE, "hostports"], check=False)
            if r.returncode != 0:
                return
            handles = handles_of(r.stdout, sandbox_id)
            if handles:
                self._nft([f"delete rule ip {TABLE} hostports handle {h}" for h in handles])
