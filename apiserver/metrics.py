"""``metrics.k8s.io/v1beta1`` served by the apiserver itself (the role metrics-server plays on a real cluster):
PodMetrics and NodeMetrics built from each kubelet's ``/stats/summary`` (docs/kubelet-api.md), so that
``kubectl top`` and the HorizontalPodAutoscaler work.

A request fans out to the kubelets of the nodes involved (2 s timeout each); an unreachable kubelet's pods are
left out, as metrics-server leaves out what it cannot scrape. CPU is ``<usageNanoCores>n``, memory
``<workingSetBytes/1024>Ki``; the window is the kubelet's sampling interval (CPU rates come from its previous sample).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

import aiohttp

from apiserver import errors
from apiserver.api import rfc3339
from apiserver.resources import Resource

if TYPE_CHECKING:
    from apiserver.app import Server

Obj = dict[str, Any]
GROUP_VERSION = "metrics.k8s.io/v1beta1"


def _cpu(stats: Obj | None) -> str:
    return f"{int((stats or {}).get('usageNanoCores') or 0)}n"


def _memory(stats: Obj | None) -> str:
    return f"{int((stats or {}).get('workingSetBytes') or 0) // 1024}Ki"


def pod_metrics(summary: Obj, now: dt.datetime) -> list[Obj]:
    """PodMetrics objects from one kubelet Summary (pure)."""
    out = []
    for p in summary.get("pods") or []:
        ref = p.get("podRef") or {}
        containers = [{"name": c.get("name", ""),
                       "usage": {"cpu": _cpu(c.get("cpu")), "memory": _memory(c.get("memory"))}}
                      for c in p.get("containers") or []]
        out.append({"kind": "PodMetrics", "apiVersion": GROUP_VERSION,
                    "metadata": {"name": ref.get("name", ""), "namespace": ref.get("namespace", ""),
                                 "creationTimestamp": rfc3339(now)},
                    "timestamp": rfc3339(now), "window": "10s", "containers": containers})
    return out


def node_metrics(name: str, summary: Obj, now: dt.datetime) -> Obj:
    node = summary.get("node") or {}
    return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION,
            "metadata": {"name": name, "creationTimestamp": rfc3339(now)}, "timestamp": rfc3339(now),
            "window": "10s", "usage": {"cpu": _cpu(node.get("cpu")), "memory": _memory(node.get("memory"))}}


async def _summaries(server: Server, node_names: list[str]) -> dict[str, Obj]:
    from apiserver.subresources import kubelet_base

    async def one(session: aiohttp.ClientSession, name: str) -> tuple[str, Obj | None]:
        try:
            base = await kubelet_base(server, name)
            async with session.get(f"{base}/stats/summary") as resp:
                return name, (await resp.json()) if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, errors.ApiError, ValueError):
            return name, None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        results = await asyncio.gather(*(one(session, n) for n in node_names))
    return {n: s for n, s in results if s is not None}


async def serve(server: Server, r: Resource, ns: str, name: str) -> Obj:
    api = server.api
    now = api.now()
    nodes_r = api.registry.get("", "v1", "nodes")
    assert nodes_r is not None
    if r.resource == "nodes":
        names = [name] if name else [n["metadata"]["name"] for n in (await api.list_objects(nodes_r, "", {}))[0]]
        summaries = await _summaries(server, names)
        items = [node_metrics(n, summaries[n], now) for n in names if n in summaries]
        if name:
            if not items:
                raise errors.not_found("metrics.k8s.io", "nodes", name)
            return items[0]
        return {"kind": "NodeMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}
    pods_r = api.registry.get("", "v1", "pods")
    assert pods_r is not None
    query = {"fieldSelector": f"metadata.name={name}"} if name else {}
    pods = (await api.list_objects(pods_r, ns, query))[0]
    wanted = {(p["metadata"].get("namespace", ""), p["metadata"]["name"]) for p in pods}
    node_names = sorted({p["spec"]["nodeName"] for p in pods if (p.get("spec") or {}).get("nodeName")})
    summaries = await _summaries(server, node_names)
    items = [m for s in summaries.values() for m in pod_metrics(s, now)
             if (m["metadata"]["namespace"], m["metadata"]["name"]) in wanted]
    if name:
        if not items:
            raise errors.not_found("metrics.k8s.io", "pods", name)
        return items[0]
    return {"kind": "PodMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}
