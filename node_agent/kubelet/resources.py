"""Container resources: QoS class and the CRI Linux resources the kubelet asks the runtime for.

Quantities are parsed here with exact Fraction arithmetic (the Kubernetes suffixes n u m k M G T P E and
Ki Mi Gi Ti Pi Ei, plus decimal exponents). If kemu/api grows a shared quantity parser this module should use it;
until then it carries the small parser the kubelet needs.

CRI conversion (as the kubelet does it with the default 100 ms CFS period):
- cpu_shares = request millicores * 1024 / 1000, at least 2 (limit used when there is no request);
- cpu_quota = limit millicores * period / 1000, at least 1000 us; no limit -> 0 (unlimited);
- memory_limit_in_bytes = the memory limit, 0 when unlimited.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from node_agent.kubelet import model

_SUFFIX: dict[str, Fraction] = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}
_QTY = re.compile(r"^([+-]?[0-9]*\.?[0-9]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")

_QTY_API_RE = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

CFS_PERIOD_US = 100_000
MIN_SHARES = 2
MIN_QUOTA_US = 1000


class QuantityError(ValueError):
    pass


def parse_quantity(q: object) -> Fraction:
    """A Kubernetes quantity as an exact number ("100m" -> 1/10, "1Gi" -> 1073741824)."""
    if isinstance(q, bool):
        raise QuantityError(f"quantities must match the regular expression, got {q!r}")
    if isinstance(q, int | float):
        return Fraction(q)
    m = _QTY.match(str(q).strip())
    if not m:
        raise QuantityError(f"quantities must match the regular expression '{_QTY_API_RE}', got {q!r}")
    number = Fraction(m.group(1))
    if m.group(2):
        return number * Fraction(10) ** int(m.group(2)[1:])
    return number * _SUFFIX[m.group(3) or ""]


def _res(c: Mapping[str, Any], kind: str) -> dict[str, Fraction]:
    raw = (c.get("resources") or {}).get(kind) or {}
    return {str(k): parse_quantity(v) for k, v in raw.items()}


def requests_of(c: Mapping[str, Any]) -> dict[str, Fraction]:
    """Requests with the API default: a resource with a limit and no request requests its limit."""
    req = _res(c, "requests")
    for k, v in _res(c, "limits").items():
        req.setdefault(k, v)
    return req


def qos_class(pod: model.Pod) -> str:
    """Guaranteed / Burstable / BestEffort from every container's cpu and memory requests/limits."""
    all_cs = model.init_containers(pod) + model.containers(pod)
    any_set = False
    guaranteed = True
    for c in all_cs:
        lim = _res(c, "limits")
        req = requests_of(c)
        for r in ("cpu", "memory"):
            if r in req or r in lim:
                any_set = any_set or req.get(r, Fraction(0)) != 0 or lim.get(r, Fraction(0)) != 0
            if r not in lim or req.get(r) != lim.get(r):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


@dataclass(frozen=True)
class LinuxResources:
    """Field names follow CRI's LinuxContainerResources."""

    cpu_period: int
    cpu_quota: int
    cpu_shares: int
    memory_limit_in_bytes: int


def linux_resources(c: Mapping[str, Any]) -> LinuxResources:
    lim = _res(c, "limits")
    req = requests_of(c)
    cpu_req = req.get("cpu")
    shares = MIN_SHARES if cpu_req is None else max(MIN_SHARES, math.floor(cpu_req * 1024))
    quota = 0
    if "cpu" in lim and lim["cpu"] > 0:
        quota = max(MIN_QUOTA_US, math.floor(lim["cpu"] * CFS_PERIOD_US))
    mem = math.ceil(lim["memory"]) if "memory" in lim else 0
    return LinuxResources(CFS_PERIOD_US, quota, shares, mem)


def pod_requests(pod: model.Pod) -> dict[str, Fraction]:
    """Effective pod requests, as Kubernetes computes them: the larger of (app containers + every sidecar) and,
    for each regular init container, (its requests + the sidecars started before it)."""
    return _pod_total(pod, requests_of)


def pod_limits(pod: model.Pod) -> dict[str, Fraction]:
    """Effective pod limits of cpu and memory, combined as requests are; a resource some container leaves
    unlimited is absent (the pod is unlimited in it), as the kubelet's pod cgroup."""
    cs = model.init_containers(pod) + model.containers(pod)
    total = _pod_total(pod, lambda c: _res(c, "limits"))
    return {r: v for r, v in total.items() if r in ("cpu", "memory") and cs
            and all(r in _res(c, "limits") for c in cs)}


def pod_linux_resources(pod: model.Pod) -> LinuxResources:
    """The pod-level (sandbox) resources the kubelet gives its pod cgroup: summed limits and requests."""
    lim = pod_limits(pod)
    req = pod_requests(pod)
    shares = max(MIN_SHARES, math.floor(req["cpu"] * 1024)) if req.get("cpu") else MIN_SHARES
    quota = max(MIN_QUOTA_US, math.floor(lim["cpu"] * CFS_PERIOD_US)) if lim.get("cpu") else 0
    return LinuxResources(CFS_PERIOD_US, quota, shares, math.ceil(lim["memory"]) if "memory" in lim else 0)


def pod_cgroup_parent(pod: model.Pod) -> str:
    """The kubelet's pod cgroup path (cgroupfs driver): kubepods[/burstable|/besteffort]/pod<uid>."""
    qos = qos_class(pod)
    tier = "" if qos == "Guaranteed" else qos.lower() + "/"
    return f"/kubepods/{tier}pod{model.meta(pod).get('uid')}"


def _pod_total(pod: model.Pod, of: Callable[[Mapping[str, Any]], dict[str, Fraction]]) -> dict[str, Fraction]:
    def add(a: dict[str, Fraction], b: dict[str, Fraction]) -> dict[str, Fraction]:
        return {k: a.get(k, Fraction(0)) + b.get(k, Fraction(0)) for k in set(a) | set(b)}

    apps: dict[str, Fraction] = {}
    for c in model.containers(pod):
        apps = add(apps, of(c))
    sidecars: dict[str, Fraction] = {}
    peaks: list[dict[str, Fraction]] = []
    for c in model.init_containers(pod):
        if model.is_sidecar(c):
            sidecars = add(sidecars, of(c))
        else:
            peaks.append(add(sidecars, of(c)))
    total = add(apps, sidecars)
    for p in peaks:
        total = {k: max(total.get(k, Fraction(0)), p.get(k, Fraction(0))) for k in set(total) | set(p)}
    return total


def _fmt(r: str, v: Fraction) -> str:
    return str(math.ceil(v * 1000)) if r == "cpu" else str(math.ceil(v))


def admit(pod: model.Pod, admitted: list[model.Pod], allocatable: dict[str, str]) -> tuple[str, str] | None:
    """The kubelet's admission of a new pod against the node's allocatable and the pods it already runs.
    None = admitted; else (reason, message) such as ("OutOfcpu", "Pod was rejected: Node didn't have enough
    resource: cpu, requested: 3000, used: 500, capacity: 2000")."""
    alloc = {k: parse_quantity(v) for k, v in allocatable.items()}
    if "pods" in alloc and len(admitted) + 1 > alloc["pods"]:
        return "OutOfpods", f"Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: " \
                            f"{len(admitted)}, capacity: {alloc['pods']}"
    want = pod_requests(pod)
    for r in ("cpu", "memory", "ephemeral-storage"):
        if r not in alloc or not want.get(r):
            continue
        used = sum((pod_requests(p).get(r, Fraction(0)) for p in admitted), Fraction(0))
        if used + want[r] > alloc[r]:
            return f"OutOf{r}", (f"Pod was rejected: Node didn't have enough resource: {r}, requested: "
                               f"{_fmt(r, want[r])}, used: {_fmt(r, used)}, capacity: {_fmt(r, alloc[r])}")
    return None
