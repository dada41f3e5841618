"""Cluster DNS records from Services and EndpointSlices (pure), per the Kubernetes DNS specification.

- `<svc>.<ns>.svc.<zone>`: A = the ClusterIP; for a headless service (clusterIP None), one A per ready endpoint.
- `<hostname>.<svc>.<ns>.svc.<zone>`: A for endpoints that carry a hostname (StatefulSet pods whose subdomain is the
  headless service), so peers resolve each other by stable names.
- `_<port>._<proto>.<svc>.<ns>.svc.<zone>`: SRV for every named port: target the service name (ClusterIP) or each
  endpoint's name (headless: `<hostname>` or the dashed IP).
- ExternalName services: CNAME to spec.externalName.
- `<a-b-c-d>.<ns>.pod.<zone>`: A for pod IPs seen in endpoints.
- PTR (`<d>.<c>.<b>.<a>.in-addr.arpa`): a ClusterIP -> its service name; a headless service's endpoint -> its
  `<hostname or a-b-c-d>.<svc>.<ns>.svc.<zone>` name. Other reverse names are not ours (forwarded, as CoreDNS's
  fallthrough does).
Names are lower-case and absolute (trailing dot). A Zone answers lookups; names under the zone that it does not hold
are NXDOMAIN; everything else is for the upstream resolver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from node_agent.endpoints import serving, slices_by_service

Obj = Mapping[str, Any]
DEFAULT_ZONE = "cluster.local"
TTL_S = 30


@dataclass(frozen=True, order=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


@dataclass
class Zone:
    domain: str = DEFAULT_ZONE
    a: dict[str, list[str]] = field(default_factory=dict)
    cname: dict[str, str] = field(default_factory=dict)
    srv: dict[str, list[Srv]] = field(default_factory=dict)
    ptr: dict[str, list[str]] = field(default_factory=dict)     # reverse name -> names

    @property
    def suffix(self) -> str:
        return self.domain.strip(".").lower() + "."

    def in_zone(self, name: str) -> bool:
        n = _abs(name)
        return n == self.suffix or n.endswith("." + self.suffix)

    def exists(self, name: str) -> bool:
        n = _abs(name)
        return n in self.a or n in self.cname or n in self.srv or any(k.endswith("." + n) for k in self._names())

    def _names(self) -> Iterable[str]:
        yield from self.a
        yield from self.cname
        yield from self.srv


def _abs(name: str) -> str:
    return name.lower().rstrip(".") + "."


def reverse_name(ip: str) -> str:
    """10.96.0.1 -> 1.0.96.10.in-addr.arpa. (IPv4)"""
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa."


def _dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def build_zone(services: Iterable[Obj], slices: Iterable[Obj], domain: str = DEFAULT_ZONE) -> Zone:
    zone = Zone(domain)
    by_service = slices_by_service(slices)
    for svc in services:
        meta, spec = svc.get("metadata", {}), svc.get("spec", {})
        ns, name = meta.get("namespace", "default"), meta["name"]
        fqdn = _abs(f"{name}.{ns}.svc.{domain}")
        if spec.get("type") == "ExternalName":
            zone.cname[fqdn] = _abs(spec.get("externalName", ""))
            continue
        headless = spec.get("clusterIP") in (None, "", "None")
        ready = [(ep, addr) for sl in by_service.get((ns, name), []) for ep in sl.get("endpoints") or []
                 if serving(ep) for addr in ep.get("addresses", [])]
        if headless:
            zone.a[fqdn] = sorted({addr for _, addr in ready})
            for ep, addr in ready:
                member = _abs(f"{ep.get('hostname') or _dashed(addr)}.{fqdn}")
                zone.ptr.setdefault(reverse_name(addr), []).append(member)
        else:
            zone.a[fqdn] = [spec["clusterIP"]]
            zone.ptr.setdefault(reverse_name(spec["clusterIP"]), []).append(fqdn)
        for ep, addr in ready:
            if ep.get("hostname"):
                zone.a.setdefault(_abs(f"{ep['hostname']}.{fqdn}"), []).append(addr)
            zone.a.setdefault(_abs(f"{_dashed(addr)}.{ns}.pod.{domain}"), []).append(addr)
        for port in spec.get("ports", []):
            if not port.get("name"):
                continue
            srv_name = _abs(f"_{port['name']}._{port.get('protocol', 'TCP').lower()}.{fqdn}")
            if headless:
                zone.srv[srv_name] = sorted(
                    Srv(0, 100, _endpoint_port(by_service.get((ns, name), []), port), _abs(
                        f"{ep.get('hostname') or _dashed(addr)}.{fqdn}"))
                    for ep, addr in ready)
                for ep, addr in ready:   # headless SRV targets must resolve
                    zone.a.setdefault(_abs(f"{ep.get('hostname') or _dashed(addr)}.{fqdn}"), [addr])
            else:
                zone.srv[srv_name] = [Srv(0, 100, int(port["port"]), fqdn)]
    for names in [*zone.a.values(), *zone.ptr.values()]:
        names[:] = sorted(set(names))
    return zone


def _endpoint_port(slices: list[Obj], port: Obj) -> int:
    for sl in slices:
        for p in sl.get("ports") or []:
            if p.get("name") == port.get("name"):
                return int(p["port"])
    target = port.get("targetPort")
    return target if isinstance(target, int) else int(port["port"])


def resolv_conf(namespace: str, nameserver: str, domain: str = DEFAULT_ZONE) -> str:
    """A pod's /etc/resolv.conf under dnsPolicy ClusterFirst."""
    return (f"search {namespace}.svc.{domain} svc.{domain} {domain}\n"
            f"nameserver {nameserver}\noptions ndots:5\n")
