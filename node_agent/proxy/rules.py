"""Service proxy rules: Services + EndpointSlices -> one nftables table, programmed whole or by difference (pure).

The proxy owns one table, `ip kemu_proxy`. desired() turns the (service, port) entries into a Model: named chains,
verdict maps and sets. full_script() replaces the whole table in one `nft -f` transaction (first programming, or
recovery); delta_script() turns the difference between two Models into one transaction that touches only what
changed (new/changed chains are (re)filled, map elements added/removed, stale chains and sets deleted), so one
Service's change costs a few lines whatever the table's size, and the affinity sets of untouched endpoints keep
their memory. Either way a node is never half-programmed and conntrack keeps established connections.

The Model's fingerprint() is written into the table (a comment in chain `state`): a restarted proxy reads it back
and, when it equals what it would program, adopts the kernel's table as is -- no flush, no rebuild.

Layout (the nftables-mode kube-proxy's shape): dispatch by verdict map, one lookup whatever the number of services.
- `services` (jumped to from the nat prerouting/output hooks): `ip daddr . l4proto . dport` in map `service_ips`
  -> goto the service port's chain; traffic to a local address of the node goes through map `service_nodeports`
  (`l4proto . dport` -> goto a chain that marks it for masquerade, then the service's chain).
- Balancing: the cascade kube-proxy's iptables mode uses: with n endpoints, the first is taken with probability
  1/n, else the second with 1/(n-1), ..., the last unconditionally -- uniform overall (`numgen random mod k == 0`).
- An endpoint chain DNATs to one READY endpoint (serving and not terminating); a pod reaching itself through a VIP
  (hairpin) is marked 0x4000 and masqueraded in postrouting.
- sessionAffinity ClientIP: a per-endpoint dynamic set remembers client addresses for timeoutSeconds (default
  10800); a remembered client goes back to its endpoint before the random choice.
- No ready endpoints: the VIP:port is in set `no_endpoints`, refused at once in filter output/forward (TCP reset,
  else ICMP port unreachable), not left to time out.
- Headless (clusterIP None) and ExternalName services get no rules (DNS answers for them).
- targetPort names resolve through the EndpointSlice's port list (the slice carries the resolved number).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from node_agent.endpoints import serving, slices_by_service

TABLE = "kemu_proxy"
MASQ_MARK = 0x4000
DEFAULT_AFFINITY_TIMEOUT_S = 10800
STATE_CHAIN = "state"
FINGERPRINT_PREFIX = "kemu-proxy:"

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


@dataclass(frozen=True)
class Chain:
    header: str                    # "" for a regular chain; "type nat hook ... policy accept;" for a base chain
    rules: tuple[str, ...]


@dataclass
class Model:
    """The table as data: chains by name, sets by name (declaration), and the elements of the maps/sets we fill."""
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, str] = field(default_factory=dict)                    # name -> declaration body
    elements: dict[str, dict[str, str]] = field(default_factory=dict)     # map/set name -> key -> verdict ("" set)

    def fingerprint(self) -> str:
        parts = [f"chain {n} {c.header} {' ; '.join(c.rules)}" for n, c in sorted(self.chains.items())]
        parts += [f"set {n} {d}" for n, d in sorted(self.sets.items())]
        parts += [f"elem {m} {k} {v}" for m, els in sorted(self.elements.items()) for k, v in sorted(els.items())]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


# fixed part of the table: maps and the base chains that never change with the services
_MAPS = {
    "service_ips": "type ipv4_addr . inet_proto . inet_service : verdict",
    "service_nodeports": "type inet_proto . inet_service : verdict",
    "no_endpoints": "type ipv4_addr . inet_proto . inet_service",
}
_NAT_HOOK = "type nat hook {hook} priority {prio}; policy accept;"
_FILTER_HOOK = "type filter hook {hook} priority filter - 1; policy accept;"
_REJECT = ("meta l4proto tcp ip daddr . meta l4proto . th dport @no_endpoints reject with tcp reset",
           "ip daddr . meta l4proto . th dport @no_endpoints reject")


def _base_chains() -> dict[str, Chain]:
    return {
        "prerouting": Chain(_NAT_HOOK.format(hook="prerouting", prio="dstnat"), ("jump services",)),
        "output": Chain(_NAT_HOOK.format(hook="output", prio="-100"), ("jump services",)),
        "postrouting": Chain(_NAT_HOOK.format(hook="postrouting", prio="srcnat"),
                             (f"meta mark & {MASQ_MARK:#x} == {MASQ_MARK:#x} masquerade",)),
        "services": Chain("", ("ip daddr . meta l4proto . th dport vmap @service_ips",
                               "fib daddr type local meta l4proto . th dport vmap @service_nodeports")),
        # reject is only valid in filter hooks; these run before any DNAT decision matters for a VIP with no backend
        "noendpoints_output": Chain(_FILTER_HOOK.format(hook="output"), _REJECT),
        "noendpoints_forward": Chain(_FILTER_HOOK.format(hook="forward"), _REJECT),
    }


def endpoint_chain(sp: ServicePort, ep: Endpoint) -> str:
    return "ep-" + _h(f"{sp.key}->{ep.ip}:{ep.port}")


def _affinity_set(sp: ServicePort, ep: Endpoint) -> str:
    # the timeout is part of the name: a changed timeout is a new set, never an in-place redeclaration
    return "aff-" + _h(f"{sp.key}->{ep.ip}:{ep.port}/{sp.affinity_timeout_s}")


def _service_rules(sp: ServicePort) -> tuple[str, ...]:
    eps = sp.endpoints
    rules: list[str] = []
    if sp.affinity_timeout_s is not None:
        rules += [f"ip saddr @{_affinity_set(sp, ep)} goto {endpoint_chain(sp, ep)}" for ep in eps]
    for i, ep in enumerate(eps):
        remaining = len(eps) - i
        if remaining > 1:
            rules.append(f"numgen random mod {remaining} == 0 goto {endpoint_chain(sp, ep)}")
        else:
            rules.append(f"goto {endpoint_chain(sp, ep)}")
    return tuple(rules)


def _endpoint_rules(sp: ServicePort, ep: Endpoint) -> tuple[str, ...]:
    rules = [f"ip saddr {ep.ip} meta mark set meta mark | {MASQ_MARK:#x}"]
    if sp.affinity_timeout_s is not None:
        rules.append(f"update @{_affinity_set(sp, ep)} {{ ip saddr }}")
    rules.append(f"meta l4proto {sp.protocol} dnat to {ep.ip}:{ep.port}")
    return tuple(rules)


def desired(ports: list[ServicePort]) -> Model:
    """The Model for these service ports (deterministic: same input, same Model and fingerprint)."""
    m = Model(chains=_base_chains(), elements={name: {} for name in _MAPS})
    for sp in ports:
        target = f"{sp.cluster_ip} . {sp.protocol} . {sp.port}"
        if not sp.endpoints:
            m.elements["no_endpoints"][target] = ""
            continue
        m.elements["service_ips"][target] = f"goto {sp.chain}"
        m.chains[sp.chain] = Chain("", _service_rules(sp))
        for ep in sp.endpoints:
            m.chains[endpoint_chain(sp, ep)] = Chain("", _endpoint_rules(sp, ep))
            if sp.affinity_timeout_s is not None:
                m.sets[_affinity_set(sp, ep)] = (f"type ipv4_addr; flags dynamic,timeout; "
                                                 f"timeout {sp.affinity_timeout_s}s;")
        if sp.node_port:
            np_chain = "np-" + _h(sp.key)
            m.chains[np_chain] = Chain("", (f"meta mark set meta mark | {MASQ_MARK:#x} goto {sp.chain}",))
            m.elements["service_nodeports"][f"{sp.protocol} . {sp.node_port}"] = f"goto {np_chain}"
    return m


def _state_rule(m: Model) -> str:
    return f'counter comment "{FINGERPRINT_PREFIX}{m.fingerprint()}"'


def _element(key: str, verdict: str) -> str:
    return f"{key} : {verdict}" if verdict else key


def full_script(m: Model) -> str:
    """Replace the whole table atomically (apply with `nft -f -`)."""
    lines = [f"add table ip {TABLE}", f"delete table ip {TABLE}", f"table ip {TABLE} {{"]
    for name, decl in _MAPS.items():
        kind = "map" if ":" in decl else "set"
        lines += [f"  {kind} {name} {{", f"    {decl}"]
        if m.elements.get(name):
            lines.append("    elements = { " + ", ".join(_element(k, v) for k, v in sorted(m.elements[name].items()))
                         + " }")
        lines.append("  }")
    for name, decl in sorted(m.sets.items()):
        lines.append(f"  set {name} {{ {decl} }}")
    for name, chain in m.chains.items():
        lines.append(f"  chain {name} {{")
        if chain.header:
            lines.append(f"    {chain.header}")
        lines += [f"    {r}" for r in chain.rules]
        lines.append("  }")
    lines += [f"  chain {STATE_CHAIN} {{", f"    {_state_rule(m)}", "  }", "}"]
    return "\n".join(lines) + "\n"


class NeedsFullReload(Exception):
    """The difference touches the fixed part of the table (base chains, map declarations): replace it whole."""


def delta_script(old: Model, new: Model) -> str:
    """One transaction taking the kernel from `old` to `new`; "" when they are equal."""
    if old.fingerprint() == new.fingerprint():
        return ""
    for name in set(old.chains) | set(new.chains):
        o, n = old.chains.get(name), new.chains.get(name)
        if ((o is not None and o.header) or (n is not None and n.header)) and o != n:
            raise NeedsFullReload(name)
    t = f"ip {TABLE}"
    out: list[str] = []
    # 1. declare what is new, so every reference below resolves
    out += [f"add set {t} {name} {{ {new.sets[name]} }}" for name in sorted(set(new.sets) - set(old.sets))]
    out += [f"add chain {t} {name}" for name in new.chains if name not in old.chains]
    # 2. (re)fill new and changed chains
    for name, chain in new.chains.items():
        before = old.chains.get(name)
        if before == chain:
            continue
        if before is not None:
            out.append(f"flush chain {t} {name}")
        out += [f"add rule {t} {name} {r}" for r in chain.rules]
    # 3. map and set elements: drop the stale or changed ones, then add the new or changed ones
    for mname in _MAPS:
        was, now = old.elements.get(mname, {}), new.elements.get(mname, {})
        gone = sorted(k for k in was if now.get(k) != was[k])
        came = sorted(k for k in now if was.get(k) != now[k])
        if gone:
            out.append(f"delete element {t} {mname} {{ {', '.join(gone)} }}")
        if came:
            out.append(f"add element {t} {mname} {{ {', '.join(_element(k, now[k]) for k in came)} }}")
    # 4. stale chains: empty them all first (they may reference each other), then delete; then their sets
    stale = [name for name in old.chains if name not in new.chains]
    out += [f"flush chain {t} {name}" for name in stale]
    out += [f"delete chain {t} {name}" for name in stale]
    out += [f"delete set {t} {name}" for name in sorted(set(old.sets) - set(new.sets))]
    out += [f"flush chain {t} {STATE_CHAIN}", f"add rule {t} {STATE_CHAIN} {_state_rule(new)}"]
    return "\n".join(out) + "\n"


def fingerprint_in(listing: str) -> str | None:
    """The fingerprint recorded in `nft list chain ip kemu_proxy state` output, if any."""
    at = listing.find(FINGERPRINT_PREFIX)
    if at < 0:
        return None
    rest = listing[at + len(FINGERPRINT_PREFIX):]
    end = rest.find('"')
    return rest[:end] if end > 0 else None


def ruleset(ports: list[ServicePort]) -> str:
    """The whole nft script for these service ports (replaces the table atomically; apply with `nft -f -`)."""
    return full_script(desired(ports))
