"""Where the ``default/kubernetes`` Service leads (pure): each apiserver adds its own address and port.

kube-apiserver's endpoint reconciler keeps both an Endpoints and an EndpointSlice named ``kubernetes`` listing
every apiserver; the service proxies route by the slice (kube-proxy reads slices only), so pods reach the API at
``kubernetes.default.svc:443``. Apiservers of one cluster usually share a port on different hosts; kemu's HA
layout runs them on one machine at different ports, so both shapes are kept exact:
- Endpoints: one subset per port, its addresses sorted (the canonical repacking of EndpointSubsets);
- EndpointSlices: a slice holds one port list, so ``kubernetes`` carries the first apiserver's port and an apiserver
  on another port registers in ``kubernetes-<port>`` (the proxy merges a Service's slices).
Each function returns the object to write, or None when the apiserver is already listed (nothing to write).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
NAME = "kubernetes"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _ports(port: int) -> list[Obj]:
    return [{"name": "https", "port": port, "protocol": "TCP"}]


def endpoints_with(current: Obj | None, ip: str, port: int) -> Obj | None:
    """The Endpoints ``kubernetes`` listing ip:port too."""
    ep = current or {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": NAME, "namespace": "default",
                                  "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}}}
    subsets: list[Obj] = [s for s in ep.get("subsets") or [] if isinstance(s, dict)]
    mine = next((s for s in subsets if s.get("ports") == _ports(port)), None)
    if mine is None:
        mine = {"addresses": [], "ports": _ports(port)}
        subsets.append(mine)
    addresses = list(mine.get("addresses") or [])
    if any(a.get("ip") == ip for a in addresses):
        return None
    mine["addresses"] = sorted([*addresses, {"ip": ip}], key=lambda a: str(a.get("ip")))
    return {**ep, "subsets": sorted(subsets, key=lambda s: s["ports"][0]["port"])}


def slice_name(existing_first: Obj | None, port: int) -> str:
    """Which slice this apiserver registers in: ``kubernetes`` unless it exists with another port."""
    if existing_first is None or (existing_first.get("ports") or [{}])[0].get("port") == port:
        return NAME
    return f"{NAME}-{port}"


def slice_with(current: Obj | None, name: str, ip: str, port: int) -> Obj | None:
    """The EndpointSlice ``name`` listing ip (its port is ``port``)."""
    sl = current or {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                     "metadata": {"name": name, "namespace": "default", "labels": {SERVICE_NAME_LABEL: NAME}},
                     "ports": _ports(port), "endpoints": []}
    endpoints = [e for e in sl.get("endpoints") or [] if isinstance(e, dict)]
    if any(ip in (e.get("addresses") or []) for e in endpoints):
        return None
    endpoints.append({"addresses": [ip], "conditions": {"ready": True, "serving": True, "terminating": False}})
    return {**sl, "endpoints": sorted(endpoints, key=lambda e: str((e.get("addresses") or [""])[0]))}
