"""Endpoints and EndpointSlices of a Service (pure).

Which pods: those in the Service's namespace matching ``spec.selector`` with a pod IP and not terminal.
Ready pods go to ``addresses``, the others to ``notReadyAddresses`` (everything is "ready" with
``publishNotReadyAddresses``); terminating pods are left out of Endpoints but kept in EndpointSlices with
``ready: false, terminating: true`` (``serving`` follows readiness), as the real controllers do.
Ports: a numeric ``targetPort`` (default: ``port``) is used as is; a named one is looked up among the pod's
container ports, and a pod without that name is left out of that port's set. Pods with the same resolved port
set share a subset (Endpoints) or a slice (at most 100 endpoints per slice, as the default maxEndpointsPerSlice).
Services without a selector are not managed (users write their own Endpoints).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from controllers.logic.actions import Create, Delete, Plan, Update
from controllers.logic.podutil import is_ready, meta
from kemu.api.selectors import selector_from_set
from kemu.rest import ENDPOINTS, ENDPOINTSLICES

Obj = dict[str, Any]
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_MANAGER = "endpointslice-controller.k8s.io"
MAX_PER_SLICE = 100


def _ip_key(ip: str) -> tuple[int, int]:
    try:
        a = ipaddress.ip_address(ip)
        return (a.version, int(a))
    except ValueError:
        return (9, 0)


def resolve_port(svc_port: Obj, pod: Obj) -> int | None:
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    proto = svc_port.get("protocol", "TCP")
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target and p.get("protocol", "TCP") == proto:
                return int(p["containerPort"])
    return None


def selected_pods(svc: Obj, pods: list[Obj]) -> list[Obj]:
    sel = (svc.get("spec") or {}).get("selector")
    if not sel:
        return []
    s = selector_from_set(sel)
    ns = meta(svc).get("namespace")
    return [p for p in pods if meta(p).get("namespace") == ns and s.matches(meta(p).get("labels") or {})
            and (p.get("status") or {}).get("podIP")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def _port_set(svc: Obj, pod: Obj) -> tuple[tuple[str, int, str], ...]:
    out = []
    for sp in (svc.get("spec") or {}).get("ports") or []:
        port = resolve_port(sp, pod)
        if port is not None:
            out.append((sp.get("name", ""), port, sp.get("protocol", "TCP")))
    return tuple(sorted(out))


def _target_ref(pod: Obj) -> Obj:
    return {"kind": "Pod", "namespace": meta(pod)["namespace"], "name": meta(pod)["name"], "uid": meta(pod).get("uid")}


def desired_endpoints(svc: Obj, pods: list[Obj]) -> Obj:
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj]]] = {}
    for p in selected_pods(svc, pods):
        if meta(p).get("deletionTimestamp") and not publish:
            continue
        ports = _port_set(svc, p)
        if (svc.get("spec") or {}).get("ports") and not ports:
            continue
        addr: Obj = {"ip": p["status"]["podIP"], "targetRef": _target_ref(p)}
        if (p.get("spec") or {}).get("nodeName"):
            addr["nodeName"] = p["spec"]["nodeName"]
        spec = p.get("spec") or {}
        if spec.get("hostname") and spec.get("subdomain") == meta(svc)["name"]:
            addr["hostname"] = spec["hostname"]
        ready, not_ready = groups.setdefault(ports, ([], []))
        (ready if publish or is_ready(p) else not_ready).append(addr)
    subsets = []
    for ports, (ready, not_ready) in sorted(groups.items()):
        sub: Obj = {}
        if ready:
            sub["addresses"] = sorted(ready, key=lambda a: _ip_key(a["ip"]))
        if not_ready:
            sub["notReadyAddresses"] = sorted(not_ready, key=lambda a: _ip_key(a["ip"]))
        sub["ports"] = [{**({"name": n} if n else {}), "port": port, "protocol": proto} for n, port, proto in ports]
        subsets.append(sub)
    labels = dict(meta(svc).get("labels") or {})
    if not (svc.get("spec") or {}).get("clusterIP") or svc["spec"].get("clusterIP") == "None":
        labels["service.kubernetes.io/headless"] = ""
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": meta(svc)["name"], "namespace": meta(svc)["namespace"], "labels": labels},
            "subsets": subsets}


def decide_endpoints(svc: Obj | None, current: Obj | None, pods: list[Obj]) -> Plan:
    plan = Plan()
    if svc is None or not (svc.get("spec") or {}).get("selector") or meta(svc).get("deletionTimestamp"):
        # the Endpoints of a deleted Service go with it (garbage collected by name in the real controller)
        if svc is None and current is not None:
            plan.add(Delete(ENDPOINTS, meta(current)["namespace"], meta(current)["name"], meta(current).get("uid", "")))
        return plan
    want = desired_endpoints(svc, pods)
    if current is None:
        plan.add(Create(ENDPOINTS, want))
    elif (current.get("subsets") or []) != want["subsets"] or \
            (meta(current).get("labels") or {}) != want["metadata"]["labels"]:
        body = {**current, "subsets": want["subsets"],
                "metadata": {**meta(current), "labels": want["metadata"]["labels"]}}
        plan.add(Update(ENDPOINTS, body))
    return plan


def desired_slices(svc: Obj, pods: list[Obj]) -> list[Obj]:
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str], ...], list[Obj]] = {}
    for p in selected_pods(svc, pods):
        ports = _port_set(svc, p)
        if (svc.get("spec") or {}).get("ports") and not ports:
            continue
        terminating = bool(meta(p).get("deletionTimestamp"))
        ready = is_ready(p)
        ep: Obj = {"addresses": [p["status"]["podIP"]],
                   "conditions": {"ready": (ready or publish) and not terminating, "serving": ready or publish,
                                  "terminating": terminating},
                   "targetRef": _target_ref(p)}
        if (p.get("spec") or {}).get("nodeName"):
            ep["nodeName"] = p["spec"]["nodeName"]
        spec = p.get("spec") or {}
        if spec.get("hostname") and spec.get("subdomain") == meta(svc)["name"]:
            ep["hostname"] = spec["hostname"]
        groups.setdefault(ports, []).append(ep)
    if not groups:  # a placeholder slice with no ports and no endpoints, as the real controller keeps
        groups[()] = []
    out = []
    for ports, eps in sorted(groups.items()):
        eps = sorted(eps, key=lambda e: _ip_key(e["addresses"][0]))
        for i in range(0, max(len(eps), 1), MAX_PER_SLICE):
            out.append(_slice(svc, [{**({"name": n} if n else {"name": ""}), "port": port, "protocol": proto}
                                    for n, port, proto in ports], eps[i:i + MAX_PER_SLICE]))
    return out


def _slice(svc: Obj, ports: list[Obj], eps: list[Obj]) -> Obj:
    labels = {k: v for k, v in (meta(svc).get("labels") or {}).items()}
    labels.update({SERVICE_NAME: meta(svc)["name"], MANAGED_BY: SLICE_MANAGER})
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{meta(svc)['name']}-", "namespace": meta(svc)["namespace"],
                         "labels": labels,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": meta(svc)["name"],
                                              "uid": meta(svc)["uid"], "controller": True,
                                              "blockOwnerDeletion": True}]},
            "addressType": "IPv4", "endpoints": eps, "ports": ports}


def decide_slices(svc: Obj | None, current: list[Obj], pods: list[Obj]) -> Plan:
    """``current``: the slices labelled with this service's name and managed by us."""
    plan = Plan()
    if svc is None or not (svc.get("spec") or {}).get("selector"):
        for s in current:  # the Service is gone (its slices are also garbage collected) or unmanaged
            if svc is None or (meta(s).get("labels") or {}).get(MANAGED_BY) == SLICE_MANAGER:
                plan.add(Delete(ENDPOINTSLICES, meta(s)["namespace"], meta(s)["name"], meta(s).get("uid", "")))
        return plan
    want = desired_slices(svc, pods)
    have = sorted(current, key=lambda s: meta(s).get("name", ""))
    for i, w in enumerate(want):
        if i < len(have):
            cur = have[i]
            if cur.get("endpoints") != w["endpoints"] or cur.get("ports") != w["ports"] or \
                    (meta(cur).get("labels") or {}) != w["metadata"]["labels"]:
                md = {**meta(cur), "labels": w["metadata"]["labels"]}
                plan.add(Update(ENDPOINTSLICES, {**cur, "metadata": md, "endpoints": w["endpoints"],
                                                 "ports": w["ports"], "addressType": "IPv4"}))
        else:
            plan.add(Create(ENDPOINTSLICES, w))
    for cur in have[len(want):]:
        plan.add(Delete(ENDPOINTSLICES, meta(cur)["namespace"], meta(cur)["name"], meta(cur).get("uid", "")))
    return plan
