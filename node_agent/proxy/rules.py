"""Service proxy rules: Services + EndpointSlices -> one nftables ruleset (pure; kube-proxy's semantics).

The ruleset is a single table, `ip kemu_proxy`, replaced atomically (one `nft -f` transaction deletes and re-adds
it), so a reload never leaves a half-programmed node and established connections keep their conntrack entries.

Semantics, as kube-proxy programs them:
- ClusterIP: traffic to <clusterIP>:<port>/<proto> is DNATed to one READY endpoint (serving and not terminating).
- Balancing: the same cascade kube-proxy's iptables mode uses: with n endpoints, the first is taken with probability
  1/n, else the second with 1/(n-1), ..., the last unconditionally -- uniform overall. In nft each step is
  `numgen random mod k == 0`.
- NodePort: traffic to any local address of the node on <nodePort> goes through the same endpoints, masqueraded.
- sessionAffinity ClientIP: a per-endpoint set remembers client addresses for timeoutSeconds (default 10800);
  a remembered client goes back to its endpoint before the random choice.
- Hairpin: a pod reaching itself through a VIP is masqueraded (marked 0x4000, masqueraded in postrouting).
- No ready endpoints: the connection is refused at once (ECONNREFUSED), not left to time out.
- Headless (clusterIP None) and ExternalName services get no rules (DNS answers for them).
- targetPort names resolve through the EndpointSlice's port list (the slice carries the resolved number).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from node_agent.endpoints import serving, slices_by_service

TABLE = "kemu_proxy"
MASQ_MARK = 0x4000
DEFAULT_AFFINITY_TIMEOUT_S = 10800

Obj = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int


@dataclass(frozen=True)
class ServicePort:
    namespace: str
    service: str
    port_name: str
    protocol: str                  # tcp | udp
    cluster_ip: str
    port: int
    node_port: int | None
    endpoints: tuple[Endpoint, ...]
    affinity_timeout_s: int | None  # None: no session affinity

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port_name}/{self.protocol}"

    @property
    def chain(self) -> str:
        return "svc-" + _h(self.key)


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def service_ports(services: Iterable[Obj], slices: Iterable[Obj]) -> list[ServicePort]:
    """Flatten Services and their EndpointSlices into the (service, port) entries the proxy programs."""
    by_service = slices_by_service(slices)
    out: list[ServicePort] = []
    for svc in services:
        meta, spec = svc.get("metadata", {}), svc.get("spec", {})
        cluster_ip = spec.get("clusterIP")
        if spec.get("type") == "ExternalName" or not cluster_ip or cluster_ip == "None":
            continue
        ns, name = meta.get("namespace", "default"), meta["name"]
        affinity = None
        if spec.get("sessionAffinity") == "ClientIP":
            cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
            affinity = int(cfg.get("timeoutSeconds", DEFAULT_AFFINITY_TIMEOUT_S))
        for p in spec.get("ports", []):
            proto = p.get("protocol", "TCP").lower()
            port_name = p.get("name", "")
            eps: set[Endpoint] = set()
            for sl in by_service.get((ns, name), []):
                numbers = [sp.get("port") for sp in sl.get("ports") or []
                           if sp.get("name", "") == port_name and sp.get("protocol", "TCP").lower() == proto]
                for ep in sl.get("endpoints") or []:
                    if serving(ep):
                        eps.update(Endpoint(addr, int(n)) for addr in ep.get("addresses", []) for n in numbers if n)
            node_port = p.get("nodePort") if spec.get("type") in ("NodePort", "LoadBalancer") else None
            out.append(ServicePort(ns, name, port_name, proto, cluster_ip, int(p["port"]), node_port,
                                   tuple(sorted(eps)), affinity))
    return sorted(out, key=lambda sp: sp.key)


def _endpoint_chain(sp: ServicePort, ep: Endpoint) -> str:
    return "ep-" + _h(f"{sp.key}->{ep.ip}:{ep.port}")


def _affinity_set(sp: ServicePort, ep: Endpoint) -> str:
    return "aff-" + _h(f"{sp.key}->{ep.ip}:{ep.port}")


def _service_chain(sp: ServicePort) -> list[str]:
    lines = [f"  chain {sp.chain} {{"]
    eps = sp.endpoints
    if sp.affinity_timeout_s is not None:
        lines += [f"    ip saddr @{_affinity_set(sp, ep)} goto {_endpoint_chain(sp, ep)}" for ep in eps]
    for i, ep in enumerate(eps):
        remaining = len(eps) - i
        if remaining > 1:
            lines.append(f"    numgen random mod {remaining} == 0 goto {_endpoint_chain(sp, ep)}")
        else:
            lines.append(f"    goto {_endpoint_chain(sp, ep)}")
    lines.append("  }")
    return lines


def _endpoint_chains(sp: ServicePort) -> list[str]:
    lines: list[str] = []
    for ep in sp.endpoints:
        lines.append(f"  chain {_endpoint_chain(sp, ep)} {{")
        lines.append(f"    ip saddr {ep.ip} meta mark set meta mark | {MASQ_MARK:#x}")
        if sp.affinity_timeout_s is not None:
            lines.append(f"    update @{_affinity_set(sp, ep)} {{ ip saddr }}")
        lines.append(f"    meta l4proto {sp.protocol} dnat to {ep.ip}:{ep.port}")
        lines.append("  }")
    return lines


def _reject(sp: ServicePort, hook: str) -> str:
    # TCP gets a reset (ECONNREFUSED at once), other protocols ICMP port-unreachable. For the node's own connections
    # this relies on the Service CIDR being routed via lo (node_agent/network/podnet.py), so the reset can be routed.
    how = "reject with tcp reset" if sp.protocol == "tcp" else "reject"
    return f"ip daddr {sp.cluster_ip} {sp.protocol} dport {sp.port} {how}"


def ruleset(ports: list[ServicePort]) -> str:
    """The whole nft script: replaces table ip kemu_proxy atomically (apply with `nft -f -`)."""
    served = [sp for sp in ports if sp.endpoints]
    unserved = [sp for sp in ports if not sp.endpoints]
    lines = [f"add table ip {TABLE}", f"delete table ip {TABLE}", f"table ip {TABLE} {{"]
    for sp in served:
        if sp.affinity_timeout_s is not None:
            lines += [f"  set {_affinity_set(sp, ep)} {{ type ipv4_addr; flags dynamic,timeout; "
                      f"timeout {sp.affinity_timeout_s}s; }}" for ep in sp.endpoints]
    lines += [
        "  chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }",
        "  chain output { type nat hook output priority -100; policy accept; jump services; }",
        f"  chain postrouting {{ type nat hook postrouting priority srcnat; policy accept; "
        f"meta mark & {MASQ_MARK:#x} == {MASQ_MARK:#x} masquerade; }}",
        "  chain services {",
    ]
    lines += [f"    ip daddr {sp.cluster_ip} {sp.protocol} dport {sp.port} goto {sp.chain}" for sp in served]
    if any(sp.node_port for sp in served):
        lines.append("    fib daddr type local jump nodeports")
    lines.append("  }")
    if any(sp.node_port for sp in served):
        lines.append("  chain nodeports {")
        lines += [f"    {sp.protocol} dport {sp.node_port} meta mark set meta mark | {MASQ_MARK:#x} goto {sp.chain}"
                  for sp in served if sp.node_port]
        lines.append("  }")
    for sp in served:
        lines += _service_chain(sp) + _endpoint_chains(sp)
    # Services without ready endpoints: refuse at once (reject is only valid in filter hooks, before any DNAT).
    for hook in ("output", "forward"):
        lines.append(f"  chain noendpoints_{hook} {{ type filter hook {hook} priority filter - 1; policy accept;")
        lines += [f"    {_reject(sp, hook)}" for sp in unserved]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
