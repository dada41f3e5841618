"""``/stats/summary`` (the kubelet Summary API that metrics-server and ``kubectl top`` read), built purely.

Inputs: node CPU/memory samples (read from /proc by ``read_node_sample``) and per-container samples from CRI
``ListContainerStats`` (grouped by the pod labels). CPU usage in nano-cores is derived from two cumulative
samples (delta core-nanoseconds / delta wall nanoseconds); the caller keeps the previous samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from node_agent.kubelet.runtime_api import LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID
from node_agent.kubelet.status import rfc3339


@dataclass(frozen=True)
class Sample:
    """One cumulative CPU + memory reading."""

    time: float
    cpu_core_ns: int
    memory_working_set: int
    memory_usage: int = 0


@dataclass(frozen=True)
class ContainerSample:
    container_id: str
    name: str
    labels: Mapping[str, str]
    sample: Sample


def nano_cores(prev: Sample | None, cur: Sample) -> int:
    if prev is None or cur.time <= prev.time or cur.cpu_core_ns < prev.cpu_core_ns:
        return 0
    return int((cur.cpu_core_ns - prev.cpu_core_ns) / (cur.time - prev.time))


def _cpu_mem(prev: Sample | None, cur: Sample) -> dict[str, Any]:
    t = rfc3339(cur.time)
    return {"cpu": {"time": t, "usageNanoCores": nano_cores(prev, cur), "usageCoreNanoSeconds": cur.cpu_core_ns},
            "memory": {"time": t, "workingSetBytes": cur.memory_working_set,
                       "usageBytes": cur.memory_usage or cur.memory_working_set}}


def summary(node_name: str, node_prev: Sample | None, node_cur: Sample, containers: list[ContainerSample],
            prev: Mapping[str, Sample], start_times: Mapping[str, str] | None = None) -> dict[str, Any]:
    pods: dict[str, dict[str, Any]] = {}
    for c in containers:
        uid = c.labels.get(LABEL_POD_UID, "")
        if not uid:
            continue
        p = pods.setdefault(uid, {
            "podRef": {"name": c.labels.get(LABEL_POD_NAME, ""), "namespace": c.labels.get(LABEL_POD_NAMESPACE, ""),
                       "uid": uid},
            "startTime": (start_times or {}).get(uid, rfc3339(c.sample.time)), "containers": []})
        p["containers"].append({"name": c.name, "startTime": p["startTime"],
                                **_cpu_mem(prev.get(c.container_id), c.sample)})
    for p in pods.values():
        t = max((c["cpu"]["time"] for c in p["containers"]), default=rfc3339(node_cur.time))
        p["cpu"] = {"time": t, "usageNanoCores": sum(c["cpu"]["usageNanoCores"] for c in p["containers"]),
                    "usageCoreNanoSeconds": sum(c["cpu"]["usageCoreNanoSeconds"] for c in p["containers"])}
        p["memory"] = {"time": t, "workingSetBytes": sum(c["memory"]["workingSetBytes"] for c in p["containers"]),
                       "usageBytes": sum(c["memory"]["usageBytes"] for c in p["containers"])}
    node = {"nodeName": node_name, "startTime": rfc3339(node_cur.time), **_cpu_mem(node_prev, node_cur)}
    return {"node": node, "pods": list(pods.values())}


def read_node_sample(now: float) -> Sample:
    """Host CPU (all cores, user+nice+system+irq+softirq+steal jiffies) and memory (MemTotal - MemAvailable)."""
    import os

    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4))  # skip idle, iowait
    mem: dict[str, int] = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            mem[k] = int(v.split()[0]) * 1024
    used = mem.get("MemTotal", 0) - mem.get("MemAvailable", 0)
    return Sample(now, busy * 1_000_000_000 // hz, used, used)
