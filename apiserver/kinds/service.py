"""core/v1 Service: defaulting and validation (clusterIP/nodePort allocation is the caller's).

Defaults: type ClusterIP, sessionAffinity None (ClientIP gets a 10800 s timeout), ports protocol TCP and
targetPort = port, internalTrafficPolicy Cluster, NodePort/LoadBalancer externalTrafficPolicy Cluster,
LoadBalancer allocateLoadBalancerNodePorts true, ipFamilies [IPv4] and ipFamilyPolicy SingleStack (not for
ExternalName), status.loadBalancer {}.

Validation: name is a DNS-1035 label, type enum, ports required (except headless/ExternalName), per port name
(required when several, DNS-1123 label, unique), port range, protocol enum, targetPort number/name, no nodePort
on ClusterIP, no duplicate port+protocol, selector labels, externalName for ExternalName services,
sessionAffinity and traffic policy enums. Updates: clusterIP may not change once set.

``prepare_update(new, old)`` is what the real registry does to a Service before validating an update: a replace
that omits allocated values keeps them (clusterIP/clusterIPs, nodePorts by port name), and switching to a type
that no longer needs a field drops it when the client left it unchanged (nodePorts when leaving
NodePort/LoadBalancer, clusterIPs when becoming ExternalName, externalTrafficPolicy, the load-balancer status).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from apiserver.kinds.common import GoValue, Obj, child, d, is_int, lst, s, validate_labels
from apiserver.kinds.field import Cause, duplicate, forbidden, immutable, invalid, not_supported, required
from kemu.api import names
from kemu.api.gofmt import go_quote

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]


def default_service(obj: Obj) -> None:
    spec = child(obj, "spec")
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "ClientIP" and not isinstance(spec.get("sessionAffinityConfig"), dict):
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    for p in lst(spec.get("ports")):
        if not isinstance(p, dict):
            continue
        if not p.get("protocol"):
            p["protocol"] = "TCP"
        if p.get("targetPort") in (None, 0, "") and is_int(p.get("port")):
            p["targetPort"] = p["port"]
    kind = spec["type"]
    if kind in ("NodePort", "LoadBalancer") and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if kind != "ExternalName":
        if not spec.get("internalTrafficPolicy"):
            spec["internalTrafficPolicy"] = "Cluster"
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]
        if not spec.get("ipFamilyPolicy"):
            # Headless services without a selector span every family the cluster has.
            headless_any = spec.get("clusterIP") == "None" and not spec.get("selector")
            spec["ipFamilyPolicy"] = "RequireDualStack" if headless_any else "SingleStack"
    if not isinstance(obj.get("status"), dict):
        obj["status"] = {"loadBalancer": {}}


def _go_service_port(p: Obj) -> GoValue:
    tp = p.get("targetPort")
    if isinstance(tp, str):
        tps = f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(tp)}}}"
    else:
        tps = f"intstr.IntOrString{{Type:0, IntVal:{tp if is_int(tp) else 0}, StrVal:\"\"}}"
    ap = p.get("appProtocol")
    aps = "(*string)(nil)" if ap is None else f"&{go_quote(s(ap))}"
    return GoValue(f"core.ServicePort{{Name:{go_quote(s(p.get('name')))}, Protocol:{go_quote(s(p.get('protocol')))}, "
                   f"AppProtocol:{aps}, Port:{p.get('port') if is_int(p.get('port')) else 0}, TargetPort:{tps}, "
                   f"NodePort:{p.get('nodePort') if is_int(p.get('nodePort')) else 0}}}")


def _validate_port(p: Obj, path: str, require_name: bool, seen: set[str]) -> list[Cause]:
    out: list[Cause] = []
    name = s(p.get("name"))
    if require_name and not name:
        out.append(required(f"{path}.name"))
    elif name:
        out.extend(invalid(f"{path}.name", name, m) for m in names.is_dns1123_label(name))
        if name in seen:
            out.append(duplicate(f"{path}.name", name))
        seen.add(name)
    port = p.get("port")
    pn = port if is_int(port) else 0
    out.extend(invalid(f"{path}.port", pn, m) for m in names.is_valid_port_num(pn))
    proto = s(p.get("protocol"))
    if not proto:
        out.append(required(f"{path}.protocol"))
    elif proto not in PROTOCOLS:
        out.append(not_supported(f"{path}.protocol", proto, PROTOCOLS))
    tp = p.get("targetPort")
    if isinstance(tp, str):
        out.extend(invalid(f"{path}.targetPort", tp, m) for m in names.is_valid_port_name(tp))
    elif is_int(tp):
        out.extend(invalid(f"{path}.targetPort", tp, m) for m in names.is_valid_port_num(tp))
    return out


def validate_service(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out: list[Cause] = []
    kind = s(spec.get("type"))
    headless = spec.get("clusterIP") == "None"
    ports = lst(spec.get("ports"))
    if not ports and not headless and kind != "ExternalName":
        out.append(required("spec.ports"))
    if kind == "ExternalName":
        if _requested_ips(spec):
            out.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        ext = s(spec.get("externalName"))
        if not ext:
            out.append(required("spec.externalName"))
        else:
            out.extend(invalid("spec.externalName", ext, m) for m in names.is_dns1123_subdomain(ext.rstrip(".")))
    seen: set[str] = set()
    keys: set[tuple[int, str]] = set()
    for i, p in enumerate(ports):
        pd = d(p)
        out.extend(_validate_port(pd, f"spec.ports[{i}]", len(ports) > 1, seen))
        if kind == "ClusterIP" and is_int(pd.get("nodePort")) and pd["nodePort"] != 0:
            out.append(forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"))
        pnum = pd.get("port")
        key = (pnum if is_int(pnum) else 0, s(pd.get("protocol")))
        if key in keys:
            out.append(duplicate(f"spec.ports[{i}]", _go_service_port({"port": key[0], "protocol": key[1]})))
        keys.add(key)
    for i, ip in enumerate(_requested_ips(spec)):
        if (ip != "None" or i > 0) and not _is_ip(ip):
            out.append(invalid(f"spec.clusterIPs[{i}]", ip, "must be a valid IP address, (e.g. 10.9.8.7 or "
                               "2001:db8::ffff)"))
    if not kind:
        out.append(required("spec.type"))
    elif kind not in SERVICE_TYPES:
        out.append(not_supported("spec.type", kind, SERVICE_TYPES))
    out.extend(validate_labels(spec.get("selector"), "spec.selector"))
    sa = s(spec.get("sessionAffinity"))
    if not sa:
        out.append(required("spec.sessionAffinity"))
    elif sa not in ("ClientIP", "None"):
        out.append(not_supported("spec.sessionAffinity", sa, ["ClientIP", "None"]))
    etp = s(spec.get("externalTrafficPolicy"))
    if etp:
        if kind not in ("NodePort", "LoadBalancer"):
            out.append(invalid("spec.externalTrafficPolicy", etp,
                               "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
        elif etp not in ("Cluster", "Local"):
            out.append(not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    itp = s(spec.get("internalTrafficPolicy"))
    if itp and itp not in ("Cluster", "Local"):
        out.append(not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    return out


def _requested_ips(spec: Obj) -> list[str]:
    ips = [x for x in lst(spec.get("clusterIPs")) if isinstance(x, str)]
    if not ips and s(spec.get("clusterIP")):
        ips = [s(spec.get("clusterIP"))]
    return [ip for ip in ips if ip]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    # Kubernetes rejects IPv4 with leading zeros and zone suffixes (ip_address already does both).
    return True


def _cluster_ip(spec: Any) -> str:
    return s(d(spec).get("clusterIP"))


def validate_service_update(new: Obj, old: Obj) -> list[Cause]:
    out = validate_service(new)
    nspec, ospec = d(new.get("spec")), d(old.get("spec"))
    nip, oip = _cluster_ip(nspec), _cluster_ip(ospec)
    if oip and nip and nip != oip and s(nspec.get("type")) != "ExternalName":
        ips = [str(x) for x in lst(nspec.get("clusterIPs"))] or [nip]
        out.append(invalid("spec.clusterIPs[0]", ips, "may not change once set"))
        out.append(immutable("spec.clusterIP", nip))
    return out


def _needs_cluster_ip(spec: Obj) -> bool:
    return s(spec.get("type")) != "ExternalName"


def _needs_node_port(spec: Obj) -> bool:
    kind = s(spec.get("type"))
    return kind == "NodePort" or (kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False)


def _node_ports(spec: Obj) -> list[int]:
    return [p["nodePort"] for p in map(d, lst(spec.get("ports"))) if is_int(p.get("nodePort")) and p["nodePort"]]


def prepare_update(new: Obj, old: Obj) -> None:
    """patchAllocatedValues + dropTypeDependentFields (in place on ``new``); call before validation."""
    nspec, ospec = new.get("spec"), d(old.get("spec"))
    if not isinstance(nspec, dict):
        return
    if _needs_cluster_ip(ospec) and _needs_cluster_ip(nspec):
        if not s(nspec.get("clusterIP")) and s(ospec.get("clusterIP")):
            nspec["clusterIP"] = ospec["clusterIP"]
        if not lst(nspec.get("clusterIPs")) and lst(ospec.get("clusterIPs")):
            nspec["clusterIPs"] = list(ospec["clusterIPs"])
    if _needs_node_port(ospec) and _needs_node_port(nspec):
        used = set(_node_ports(ospec)) & set(_node_ports(nspec))
        by_name = {s(p.get("name")): p.get("nodePort") for p in map(d, lst(ospec.get("ports")))}
        for p in lst(nspec.get("ports")):
            if isinstance(p, dict) and not p.get("nodePort"):
                old_port = by_name.get(s(p.get("name")))
                if is_int(old_port) and old_port and old_port not in used:
                    p["nodePort"] = old_port
    if _needs_cluster_ip(ospec) and not _needs_cluster_ip(nspec):
        if nspec.get("clusterIP") == ospec.get("clusterIP") and nspec.get("clusterIPs") == ospec.get("clusterIPs"):
            nspec.pop("clusterIP", None)
            nspec.pop("clusterIPs", None)
        if nspec.get("ipFamilies") == ospec.get("ipFamilies"):
            nspec.pop("ipFamilies", None)
        if nspec.get("ipFamilyPolicy") == ospec.get("ipFamilyPolicy"):
            nspec.pop("ipFamilyPolicy", None)
    if _needs_node_port(ospec) and not _needs_node_port(nspec) and _node_ports(nspec) == _node_ports(ospec):
        for p in lst(nspec.get("ports")):
            if isinstance(p, dict):
                p.pop("nodePort", None)
    if s(ospec.get("type")) == "LoadBalancer" and s(nspec.get("type")) != "LoadBalancer" and \
            nspec.get("allocateLoadBalancerNodePorts") == ospec.get("allocateLoadBalancerNodePorts"):
        nspec.pop("allocateLoadBalancerNodePorts", None)
    external = ("NodePort", "LoadBalancer")
    if s(ospec.get("type")) in external and s(nspec.get("type")) not in external and \
            nspec.get("externalTrafficPolicy") == ospec.get("externalTrafficPolicy"):
        nspec.pop("externalTrafficPolicy", None)
    if s(nspec.get("type")) != "LoadBalancer" and isinstance(new.get("status"), dict):
        new["status"]["loadBalancer"] = {}
