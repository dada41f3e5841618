"""Per-pod allow lists -> one nftables script for table ``inet kemu_netpol`` (pure).

Where the rules sit (see docs/networkpolicy.md for the measurements behind this):
- ``forward`` (filter hook, after the proxy's DNAT): every pod-to-pod packet crosses it on the node of each end --
  routed packets (other nodes, Service VIPs) and, because the node's bridge calls the IPv4 hooks
  (``net.bridge.bridge-nf-call-iptables=1``), bridged packets between two pods of the same node too. Addresses are
  post-DNAT, so a connection through a Service is judged by the endpoint pod it lands on, as real policy is.
  Order: replies of tracked connections (``ct state established,related``) pass; then the *source's* egress chain
  if the source is an egress-isolated local pod; then the *destination's* ingress chain if the destination is an
  ingress-isolated local pod. A chain returns when some allow matches and drops otherwise, so a packet between two
  isolated pods of one node must pass both, and one between nodes passes egress on its node and ingress on the
  other's.
- ``input``: pods reaching their own node are always allowed (as Kubernetes documents), except the node's DNS server
  (``dns_address`` port 53), which stands in for the kube-dns pods and so goes through the pod's egress chain.
- Connections the node itself opens (kubelet probes, the node's own clients) leave through ``output`` and are never
  filtered, as real CNIs allow host traffic to local pods.
Denied packets are dropped (the client times out, as with Calico or Cilium). A pod never blocks itself (hairpin
through its own Service). The script replaces the table in one ``nft -f`` transaction, so a reload never leaves a
half-filtered node; established connections keep flowing across reloads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from node_agent.netpol.policy import Allow, PodRules

TABLE = "kemu_netpol"
FAMILY = "inet"


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ingress_chain(rules: PodRules) -> str:
    return "in-" + _h(rules.pod.key)


def egress_chain(rules: PodRules) -> str:
    return "eg-" + _h(rules.pod.key)


def _set(items: Iterable[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def _allow_lines(allow: Allow, field: str) -> list[str]:
    """nft rule bodies (without verdict) for one Allow; ``field`` is ``ip saddr`` (ingress) or ``ip daddr``
    (egress). An empty body means "anything"."""
    peer = "" if allow.peers is None else f"{field} {_set(allow.peers)}"
    if allow.ports is None:
        return [peer]
    whole = sorted({pr.protocol for pr in allow.ports if pr.every})
    spans: dict[str, list[tuple[int, int]]] = {}
    for pr in allow.ports:
        if pr.protocol not in whole:
            spans.setdefault(pr.protocol, []).append((pr.first, pr.last))
    lines = [f"{peer} meta l4proto {_set(whole)}".lstrip()] if whole else []
    lines += [f"{peer} meta l4proto {proto} th dport {_set(_merge(spans[proto]))}".lstrip() for proto in sorted(spans)]
    return lines


def _merge(spans: list[tuple[int, int]]) -> list[str]:
    """Sorted, overlap-free port elements (nft rejects overlapping intervals in one anonymous set)."""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [str(a) if a == b else f"{a}-{b}" for a, b in merged]


def _chain(name: str, self_match: str, allows: tuple[Allow, ...], field: str) -> list[str]:
    lines = [f"  chain {name} {{", f"    {self_match} return"]
    for allow in allows:
        lines += [f"    {body} return" if body else "    return" for body in _allow_lines(allow, field)]
    return [*lines, "    drop", "  }"]


def ruleset(pods: list[PodRules], dns_address: str = "") -> str:
    """The whole script (apply with ``nft -f -``): replaces ``inet kemu_netpol`` atomically."""
    ingress = [r for r in pods if r.ingress is not None]
    egress = [r for r in pods if r.egress is not None]
    lines = [f"add table {FAMILY} {TABLE}", f"delete table {FAMILY} {TABLE}", f"table {FAMILY} {TABLE} {{"]
    lines += ["  chain forward {", "    type filter hook forward priority filter; policy accept;",
              "    ct state established,related accept"]
    if egress:
        lines.append("    ip saddr vmap " + _set(f"{r.pod.ip} : jump {egress_chain(r)}" for r in egress))
    if ingress:
        lines.append("    ip daddr vmap " + _set(f"{r.pod.ip} : jump {ingress_chain(r)}" for r in ingress))
    lines.append("  }")
    if egress and dns_address:
        lines += ["  chain input {", "    type filter hook input priority filter; policy accept;",
                  "    ct state established,related accept",
                  f"    ip daddr {dns_address} meta l4proto {{ tcp, udp }} th dport 53 ip saddr vmap "
                  + _set(f"{r.pod.ip} : jump {egress_chain(r)}" for r in egress), "  }"]
    for r in egress:
        assert r.egress is not None
        lines += _chain(egress_chain(r), f"ip daddr {r.pod.ip}", r.egress, "ip daddr")
    for r in ingress:
        assert r.ingress is not None
        lines += _chain(ingress_chain(r), f"ip saddr {r.pod.ip}", r.ingress, "ip saddr")
    lines.append("}")
    return "\n".join(lines) + "\n"
