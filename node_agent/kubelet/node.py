"""The Node object and its Lease, built purely from the agent's configuration and an injected clock.

``build_node`` gives the object the agent POSTs at registration (labels kubernetes.io/hostname, kubernetes.io/os,
kubernetes.io/arch; addresses InternalIP + Hostname; podCIDR(s); capacity and allocatable; nodeInfo);
``allocatable`` is the kubelet's Node Allocatable: capacity minus --kube-reserved, --system-reserved and the
hard eviction thresholds (memory.available, nodefs.available against ephemeral-storage); ``Eviction`` (parsed from
--eviction-hard, default ``memory.available<100Mi,nodefs.available<10%,pid.available<10%``) also sets the pressure
conditions' thresholds. ``node_status`` gives the status it PATCHes on every heartbeat with the four conditions
and heartbeat times (a condition's lastTransitionTime is kept while its status is unchanged). ``build_lease`` /
``renew_lease`` give the ``coordination.k8s.io/v1`` Lease in ``kube-node-lease`` named after the node.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from node_agent.kubelet.status import rfc3339

KUBELET_VERSION = "v1.32.0-kemu"
LEASE_NAMESPACE = "kube-node-lease"


def micro_time(ts: float) -> str:
    """RFC 3339 with microseconds, the format of Lease renewTime/acquireTime."""
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_capacity(text: str) -> dict[str, str]:
    """``cpu=4,memory=8Gi,pods=110`` -> dict; a clear error for malformed items."""
    out: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        k, sep, v = item.partition("=")
        if not sep or not k or not v:
            raise ValueError(f"invalid capacity item {item!r}: want name=quantity")
        out[k.strip()] = v.strip()
    return out


@dataclass(frozen=True)
class Eviction:
    """Hard eviction thresholds (the kubelet's defaults)."""

    memory_bytes: int = 100 * 2**20  # memory.available
    nodefs_fraction: float = 0.10  # nodefs.available
    pids_fraction: float = 0.10  # pid.available (headroom)


def parse_eviction_hard(text: str) -> Eviction:
    """``memory.available<100Mi,nodefs.available<10%,pid.available<10%`` (absent signals keep the defaults)."""
    from node_agent.kubelet.resources import QuantityError, parse_quantity

    kw: dict[str, Any] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        signal, sep, value = item.partition("<")
        if not sep or not value:
            raise ValueError(f"invalid eviction threshold {item!r}: want signal<quantity")
        fields = {"memory.available": "memory_bytes", "nodefs.available": "nodefs_fraction",
                  "pid.available": "pids_fraction"}
        if signal not in fields:
            raise ValueError(f"unsupported eviction signal {signal!r}")
        try:
            if value.endswith("%"):
                if signal == "memory.available":
                    raise ValueError(f"{item!r}: give memory.available as a quantity")
                kw[fields[signal]] = float(value[:-1]) / 100
            elif signal == "memory.available":
                kw[fields[signal]] = int(parse_quantity(value))
            else:
                raise ValueError(f"{item!r}: give {signal} as a percentage")
        except (QuantityError, ValueError) as e:
            raise ValueError(f"invalid eviction threshold {item!r}: {e}") from None
    return Eviction(**kw)


def allocatable(capacity: Mapping[str, str], reserved: tuple[Mapping[str, str], ...] = (),
                eviction: Eviction | None = None) -> dict[str, str]:
    """Capacity minus reservations (--kube-reserved, --system-reserved) and the hard eviction thresholds."""
    from node_agent.kubelet.resources import parse_quantity

    ev = eviction or Eviction()
    out: dict[str, str] = {}
    for name, raw in capacity.items():
        v = parse_quantity(raw) - sum((parse_quantity(r.get(name, "0")) for r in reserved), Fraction(0))
        if name == "memory":
            v -= ev.memory_bytes
        elif name == "ephemeral-storage":
            v -= parse_quantity(raw) * Fraction(ev.nodefs_fraction).limit_denominator(10**6)
        v = max(v, Fraction(0))
        if name == "memory":
            out[name] = f"{math.floor(v / 1024)}Ki"
        elif name == "cpu":
            out[name] = str(int(v)) if v == int(v) else f"{math.floor(v * 1000)}m"
        else:
            out[name] = str(math.floor(v))
    return out


@dataclass(frozen=True)
class NodeConfig:
    name: str
    address: str
    capacity: Mapping[str, str]
    pod_cidr: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    kernel: str = ""
    os_image: str = "kemu"
    machine_id: str = ""
    runtime_version: str = "kemu://0.1"
    arch: str = "amd64"
    lease_duration_s: int = 40
    kubelet_port: int = 10250
    boot_id: str = ""  # /proc/sys/kernel/random/boot_id (a new one tells a rebooted node)
    allocatable: Mapping[str, str] | None = None  # None: the capacity
    eviction: Eviction = field(default_factory=Eviction)


_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


_PRESSURE = {
    "MemoryPressure": ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
    "DiskPressure": ("KubeletHasDiskPressure", "kubelet has disk pressure"),
    "PIDPressure": ("KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
}


@dataclass(frozen=True)
class HostSignals:
    """Eviction signals, compared with the kubelet's default hard thresholds."""

    memory_available_bytes: int = 1 << 40
    disk_available_fraction: float = 1.0
    pids_available_fraction: float = 1.0

    def pressure(self, eviction: Eviction | None = None) -> set[str]:
        ev = eviction or Eviction()
        out = set()
        if self.memory_available_bytes < ev.memory_bytes:  # memory.available < 100Mi
            out.add("MemoryPressure")
        if self.disk_available_fraction < ev.nodefs_fraction:  # nodefs.available < 10%
            out.add("DiskPressure")
        if self.pids_available_fraction < ev.pids_fraction:
            out.add("PIDPressure")
        return out


def read_host_signals(path: str) -> HostSignals:
    """Host memory (MemAvailable), the filesystem holding ``path``, and PIDs in use vs pid_max."""
    import os

    mem = 1 << 40
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                mem = int(line.split()[1]) * 1024
    st = os.statvfs(path)
    disk = st.f_bavail / st.f_blocks if st.f_blocks else 1.0
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    used = tasks_in_use()
    return HostSignals(mem, disk, 1 - used / pid_max if pid_max else 1.0)


def tasks_in_use() -> int:
    """Threads in the kernel (each takes a PID): the running/total field of /proc/loadavg, as the kubelet's
    pid.available signal (processes alone would undercount a threaded workload)."""
    with open("/proc/loadavg") as f:
        return parse_loadavg_tasks(f.read())


def parse_loadavg_tasks(text: str) -> int:
    fields = text.split()
    if len(fields) < 4 or "/" not in fields[3]:
        raise OSError(f"unexpected /proc/loadavg: {text!r}")
    return int(fields[3].split("/", 1)[1])


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def node_status(cfg: NodeConfig, now: float, previous: Mapping[str, Any] | None = None,
                ready: bool = True, ready_message: str = "", signals: HostSignals | None = None) -> dict[str, Any]:
    prev = {str(c.get("type")): c for c in ((previous or {}).get("conditions") or [])}
    pressure = (signals or HostSignals()).pressure(cfg.eviction)
    conds = []
    for ctype, status, reason, message in _CONDITIONS:
        if ctype in pressure:
            status, (reason, message) = "True", _PRESSURE[ctype]
        if ctype == "Ready" and not ready:
            status, reason, message = "False", "KubeletNotReady", ready_message or "container runtime is down"
        old = prev.get(ctype)
        ltt = old.get("lastTransitionTime") if old and old.get("status") == status else None
        conds.append({"type": ctype, "status": status, "reason": reason, "message": message,
                      "lastHeartbeatTime": rfc3339(now), "lastTransitionTime": ltt or rfc3339(now)})
    return {
        "capacity": dict(cfg.capacity),
        "allocatable": dict(cfg.allocatable if cfg.allocatable is not None else cfg.capacity),
        "conditions": conds,
        "addresses": [{"type": "InternalIP", "address": cfg.address}, {"type": "Hostname", "address": cfg.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": cfg.kubelet_port}},
        "nodeInfo": {
            "machineID": cfg.machine_id, "systemUUID": cfg.machine_id, "bootID": cfg.boot_id,
            "kernelVersion": cfg.kernel, "osImage": cfg.os_image, "containerRuntimeVersion": cfg.runtime_version,
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux", "architecture": cfg.arch,
        },
    }


def build_node(cfg: NodeConfig, now: float) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": cfg.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": cfg.arch,
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": cfg.arch, **cfg.labels}
    spec: dict[str, Any] = {}
    if cfg.pod_cidr:
        spec = {"podCIDR": cfg.pod_cidr, "podCIDRs": [cfg.pod_cidr]}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": cfg.name, "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": spec, "status": node_status(cfg, now)}


def build_lease(cfg: NodeConfig, now: float, node_uid: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": cfg.name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": cfg.name, "uid": node_uid}]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": cfg.name, "leaseDurationSeconds": cfg.lease_duration_s,
                     "renewTime": micro_time(now)}}


def renew_lease(lease: Mapping[str, Any], cfg: NodeConfig, now: float) -> dict[str, Any]:
    out = dict(lease)
    out["spec"] = {**(lease.get("spec") or {}), "holderIdentity": cfg.name,
                   "leaseDurationSeconds": cfg.lease_duration_s, "renewTime": micro_time(now)}
    return out
