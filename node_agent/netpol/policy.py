"""NetworkPolicy semantics (pure): policies + pods + namespaces -> what each local pod may send and receive.

The contract is Kubernetes' documented one (networking.k8s.io/v1):
- A pod is isolated for ingress (egress) only if some policy in its namespace selects it (``spec.podSelector``,
  ``{}`` = every pod of the namespace) and lists that direction in ``policyTypes``. Missing ``policyTypes`` default
  to ``[Ingress]``, plus ``Egress`` when the policy has an ``egress`` section.
- Policies are additive: an isolated pod accepts (sends) what any selecting policy's rules allow; an unisolated pod
  accepts (sends) everything. A policy with the direction in ``policyTypes`` but no rules allows nothing.
- A rule allows traffic from (to) its peers on its ports. No ``from``/``to`` (or an empty list) = every address; no
  ``ports`` = every port and protocol. A peer is ``podSelector`` (pods of the policy's namespace),
  ``namespaceSelector`` (every pod of the matching namespaces), both (AND: matching pods in matching namespaces) or
  ``ipBlock`` (``cidr`` minus its ``except`` blocks).
- A port is ``protocol`` (TCP when absent; UDP, SCTP) with ``port`` a number (up to ``endPort`` when given), a
  name, or absent (every port of the protocol). Names resolve against the *destination* pod's container ports of
  that protocol: for ingress the selected pod, for egress each peer pod (so a named egress port becomes one
  (address, port) entry per peer pod that declares the name). A name nothing declares allows nothing.
- A pod never blocks itself; replies of allowed connections and traffic from the pod's own node are handled by
  the ruleset (node_agent/netpol/ruleset.py), not here.

hostNetwork pods are neither selected nor peers by selector (their address is the node's). Pods that finished
(Succeeded/Failed) or have no address yet are not peers: their addresses may be reused. Only IPv4 is modelled (the
pod network is IPv4); IPv6 ipBlocks are ignored. A malformed selector or CIDR matches nothing (the apiserver
validates policies; this is only a guard so one bad object never stops the node's reconciler).

Extra peers (``compile_node(extra_peers=...)``) stand for cluster services that are not pods here: the node's DNS
server is presented as a ``kube-system`` pod labelled ``k8s-app: kube-dns`` with CoreDNS's named ports, so the usual
"allow DNS" egress rules (to kube-dns pods, or to any address on port 53) select it as they would on a cluster.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kemu.api.selectors import LabelSelector, SelectorError, label_selector_from_dict, nothing

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
NS_NAME_LABEL = "kubernetes.io/metadata.name"
PROTOCOLS = ("tcp", "udp", "sctp")
ALL_PORTS = (0, 65535)


@dataclass(frozen=True)
class PodInfo:
    """What policy needs to know about a pod (or a virtual peer such as the node's DNS server)."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: str
    node: str
    ports: tuple[tuple[str, str, int], ...] = ()   # (name, protocol, containerPort) of named container ports
    virtual: bool = False                           # a peer only, never a local pod to program

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str, protocol: str) -> list[int]:
        return sorted({n for (pname, proto, n) in self.ports if pname == name and proto == protocol})


@dataclass(frozen=True, order=True)
class PortRange:
    protocol: str       # tcp | udp | sctp
    first: int
    last: int

    @property
    def every(self) -> bool:
        return (self.first, self.last) == ALL_PORTS


@dataclass(frozen=True)
class Allow:
    """One allowed (peer, port) family: ``peers`` None = any address, else IPv4 addresses and CIDRs (no overlaps,
    sorted by address); ``ports`` None = any protocol and port."""

    peers: tuple[str, ...] | None
    ports: tuple[PortRange, ...] | None


@dataclass(frozen=True)
class PodRules:
    pod: PodInfo
    ingress: tuple[Allow, ...] | None = None    # None: not isolated for ingress
    egress: tuple[Allow, ...] | None = None     # None: not isolated for egress
    policies: tuple[str, ...] = field(default=())  # names of the selecting policies (for logs and tests)


def pod_info(pod: Obj) -> PodInfo | None:
    """The policy view of a Pod object, or None if it has no usable address (not running yet, finished, hostNetwork)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    ips = [p.get("ip") for p in status.get("podIPs") or []] or [status.get("podIP")]
    ip = next((a for a in ips if a and _is_v4(a)), None)
    if ip is None:
        return None
    ports = tuple(
        (str(p["name"]), str(p.get("protocol") or "TCP").lower(), int(p["containerPort"]))
        for c in spec.get("containers") or [] for p in c.get("ports") or []
        if p.get("name") and p.get("containerPort"))
    return PodInfo(meta.get("namespace") or "default", meta.get("name") or "", dict(meta.get("labels") or {}), ip,
                   spec.get("nodeName") or "", ports)


def dns_peer(address: str, node: str) -> PodInfo:
    """The node's DNS server as the kube-dns pod policies expect (CoreDNS's port names)."""
    return PodInfo("kube-system", f"kube-dns@{node}", {"k8s-app": "kube-dns"}, address, node,
                   (("dns", "udp", 53), ("dns-tcp", "tcp", 53)), virtual=True)


def namespace_labels(namespaces: Iterable[Obj]) -> dict[str, dict[str, str]]:
    out = {}
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        name = meta.get("name") or ""
        out[name] = {**(meta.get("labels") or {}), NS_NAME_LABEL: name}   # the apiserver always sets this label
    return out


def _is_v4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def _selector(sel: Obj | None, where: str) -> LabelSelector:
    try:
        return label_selector_from_dict(sel if sel is not None else {})
    except (SelectorError, AttributeError, TypeError) as e:
        log.warning("%s: bad selector (%s); it matches nothing", where, e)
        return nothing()


def policy_types(spec: Obj) -> set[str]:
    types = spec.get("policyTypes")
    if types:
        return {str(t) for t in types}
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


def _ip_block(block: Obj, where: str) -> list[ipaddress.IPv4Network]:
    try:
        net = ipaddress.ip_network(str(block.get("cidr", "")), strict=False)
        excepts = [ipaddress.ip_network(str(e), strict=False) for e in block.get("except") or []]
    except ValueError as e:
        log.warning("%s: bad ipBlock (%s); it matches nothing", where, e)
        return []
    if not isinstance(net, ipaddress.IPv4Network):
        return []
    nets = [net]
    for ex in excepts:
        if not isinstance(ex, ipaddress.IPv4Network):
            continue
        nxt: list[ipaddress.IPv4Network] = []
        for n in nets:
            if ex.subnet_of(n):
                nxt.extend(n.address_exclude(ex))
            elif not n.subnet_of(ex):
                nxt.append(n)
        nets = nxt
    return nets


@dataclass(frozen=True)
class _Peers:
    """A rule's peers: ``everywhere``, or selected pods plus CIDRs."""

    everywhere: bool
    pods: tuple[PodInfo, ...] = ()
    nets: tuple[ipaddress.IPv4Network, ...] = ()

    def cidrs(self) -> tuple[str, ...]:
        """Pod addresses and ipBlock CIDRs as non-overlapping set elements, sorted by address (nft rejects
        overlapping intervals): nets collapsed, pods inside a net dropped."""
        nets = list(ipaddress.collapse_addresses(self.nets))
        spans = [(int(n.network_address), int(n.broadcast_address)) for n in nets]
        ips = {_ip_int(p.ip): p.ip for p in self.pods}
        elems = [(k, ip) for k, ip in ips.items() if not any(a <= k <= b for a, b in spans)]
        elems += [(a, str(n)) for (a, _), n in zip(spans, nets, strict=True)]
        return tuple(text for _, text in sorted(elems))

    def pods_within(self, candidates: Iterable[PodInfo]) -> list[PodInfo]:
        """Peer pods for named-port resolution: selected pods, and pods whose address is in an ipBlock."""
        if self.everywhere:
            return list(candidates)
        chosen = {p.key: p for p in self.pods}
        spans = [(int(n.network_address), int(n.broadcast_address)) for n in self.nets]
        for p in candidates:
            if any(a <= _ip_int(p.ip) <= b for a, b in spans):
                chosen.setdefault(p.key, p)
        return sorted(chosen.values(), key=lambda p: p.key)


@functools.lru_cache(maxsize=65536)
def _ip_int(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


def _peers(items: list[Obj] | None, policy_ns: str, pods: list[PodInfo], ns_labels: Mapping[str, Mapping[str, str]],
           where: str) -> _Peers:
    if not items:
        return _Peers(everywhere=True)
    chosen: dict[str, PodInfo] = {}
    nets: list[ipaddress.IPv4Network] = []
    for peer in items:
        if peer.get("ipBlock") is not None:
            nets += _ip_block(peer["ipBlock"], where)
            continue
        has_pod_sel, has_ns_sel = "podSelector" in peer, "namespaceSelector" in peer
        if not has_pod_sel and not has_ns_sel:
            continue  # an empty peer selects nothing (the apiserver rejects it)
        pod_sel = _selector(peer.get("podSelector"), where) if has_pod_sel else None
        ns_sel = _selector(peer.get("namespaceSelector"), where) if has_ns_sel else None
        ns_ok: dict[str, bool] = {}      # the namespace verdict, once per namespace
        for p in pods:
            if ns_sel is None:
                in_ns = p.namespace == policy_ns
            else:
                if p.namespace not in ns_ok:
                    ns_ok[p.namespace] = ns_sel.matches(ns_labels.get(p.namespace) or {NS_NAME_LABEL: p.namespace})
                in_ns = ns_ok[p.namespace]
            if in_ns and (pod_sel is None or pod_sel.matches(p.labels)):
                chosen[p.key] = p
    return _Peers(False, tuple(sorted(chosen.values(), key=lambda p: p.key)), tuple(nets))


def _port_specs(items: list[Obj], where: str) -> list[tuple[str, int | str | None, int | None]]:
    """(protocol, port or name or None, endPort) per usable entry. Entries the apiserver would reject (another
    protocol, a number out of range) are left out, so they allow nothing and never reach the nft script."""
    out: list[tuple[str, int | str | None, int | None]] = []
    for item in items:
        proto = str(item.get("protocol") or "TCP").lower()
        port = item.get("port")
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        end = item.get("endPort")
        try:
            end = int(end) if end is not None else None
        except (TypeError, ValueError):
            end = None
        if proto not in PROTOCOLS or (isinstance(port, int) and not 0 < port <= 65535) \
                or (end is not None and not 0 < end <= 65535) or not isinstance(port, (int, str, type(None))):
            log.warning("%s: ignoring port %s", where, dict(item))
            continue
        out.append((proto, port, end))
    return out


def _numeric(proto: str, port: int | str | None, end: int | None) -> PortRange | None:
    if port is None:
        return PortRange(proto, *ALL_PORTS)
    if isinstance(port, int):
        return PortRange(proto, port, end if end is not None and end >= port else port)
    return None


@dataclass(frozen=True)
class _CompiledRule:
    """One rule with everything that does not depend on the selected pod worked out (computed once per compile)."""

    cidrs: tuple[str, ...] | None             # None: every address; (): no peer at all (the rule allows nothing)
    fixed: tuple[Allow, ...]                  # numeric ports (or no ports), and egress named ports (per peer)
    ingress_names: tuple[tuple[str, str], ...]  # (protocol, name) to resolve on the selected pod


def _compile_rule(rule: Obj, direction: str, policy_ns: str, pods: list[PodInfo],
                  ns_labels: Mapping[str, Mapping[str, str]], where: str) -> _CompiledRule:
    peers = _peers(rule.get("from" if direction == "ingress" else "to"), policy_ns, pods, ns_labels, where)
    cidrs = None if peers.everywhere else peers.cidrs()
    if cidrs == ():
        return _CompiledRule((), (), ())
    if not rule.get("ports"):
        return _CompiledRule(cidrs, (Allow(cidrs, None),), ())
    specs = _port_specs(rule["ports"], where)
    numeric = [r for r in (_numeric(*s) for s in specs) if r is not None]
    fixed = [Allow(cidrs, tuple(sorted(set(numeric))))] if numeric else []
    named = tuple((proto, str(port)) for proto, port, _ in specs if isinstance(port, str))
    if not named or direction == "ingress":
        return _CompiledRule(cidrs, tuple(fixed), named)
    # egress: each destination pod resolves the name for itself -> group destinations by the resolved port
    by_port: dict[PortRange, list[str]] = {}
    for dest in peers.pods_within(pods):
        for proto, name in named:
            for n in dest.named_port(name, proto):
                by_port.setdefault(PortRange(proto, n, n), []).append(dest.ip)
    for pr, ips in sorted(by_port.items()):
        fixed.append(Allow(tuple(sorted(set(ips), key=_ip_int)), (pr,)))
    return _CompiledRule(cidrs, tuple(fixed), ())


def _allows_for(rule: _CompiledRule, target: PodInfo) -> list[Allow]:
    if rule.cidrs == ():
        return []
    out = list(rule.fixed)
    # ingress names resolve against the selected pod itself
    resolved = sorted({PortRange(proto, n, n) for proto, name in rule.ingress_names
                       for n in target.named_port(name, proto)})
    if resolved:
        out.append(Allow(rule.cidrs, tuple(resolved)))
    return out


def compile_node(policies: Iterable[Obj], pods: Iterable[Obj], namespaces: Iterable[Obj], node: str,
                 extra_peers: Iterable[PodInfo] = ()) -> list[PodRules]:
    """Rules for every running pod on ``node`` that some policy isolates (sorted by pod key); others are open."""
    infos = sorted((i for i in (pod_info(p) for p in pods) if i is not None), key=lambda p: p.key)
    peers_pool = infos + list(extra_peers)
    ns_labels = namespace_labels(namespaces)
    by_ns: dict[str, list[Obj]] = {}
    for pol in policies:
        by_ns.setdefault((pol.get("metadata") or {}).get("namespace") or "default", []).append(pol)
    out: list[PodRules] = []
    compiled: dict[tuple[str, str, str], list[_CompiledRule]] = {}   # policy rules, shared by the pods they select
    for pod in infos:
        if pod.node != node or pod.virtual:
            continue
        ingress: list[Allow] | None = None
        egress: list[Allow] | None = None
        names: list[str] = []
        for pol in sorted(by_ns.get(pod.namespace, []), key=lambda o: (o.get("metadata") or {}).get("name") or ""):
            spec = pol.get("spec") or {}
            name = (pol.get("metadata") or {}).get("name") or ""
            where = f"networkpolicy {pod.namespace}/{name}"
            if not _selector(spec.get("podSelector"), where).matches(pod.labels):
                continue
            names.append(name)
            types = policy_types(spec)
            for direction, kind in (("ingress", "Ingress"), ("egress", "Egress")):
                if kind not in types:
                    continue
                key = (pod.namespace, name, direction)
                if key not in compiled:
                    compiled[key] = [_compile_rule(rule, direction, pod.namespace, peers_pool, ns_labels, where)
                                     for rule in spec.get(direction) or []]
                allows = [a for rule in compiled[key] for a in _allows_for(rule, pod)]
                if direction == "ingress":
                    ingress = (ingress or []) + allows
                else:
                    egress = (egress or []) + allows
        if ingress is not None or egress is not None:
            out.append(PodRules(pod, None if ingress is None else tuple(_dedupe(ingress)),
                                None if egress is None else tuple(_dedupe(egress)), tuple(names)))
    return out


def _dedupe(allows: list[Allow]) -> list[Allow]:
    seen: dict[Allow, None] = {}
    for a in allows:
        seen.setdefault(a, None)
    return list(seen)
