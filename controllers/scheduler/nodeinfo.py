"""NodeInfo: a node with the pods assigned to it and their summed requests (the scheduler's snapshot unit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controllers.scheduler.resources import Resources, host_ports, is_terminal, node_allocatable, pod_requests

Obj = dict[str, Any]


@dataclass
class NodeInfo:
    node: Obj
    pods: list[Obj] = field(default_factory=list)
    requested: Resources = field(default_factory=dict)
    non_zero_requested: Resources = field(default_factory=dict)
    used_ports: set[tuple[str, str, int]] = field(default_factory=set)
    with_affinity: list[Obj] = field(default_factory=list)  # pods carrying pod (anti-)affinity terms
    _alloc: Resources = field(default_factory=dict, repr=False)
    _alloc_of: Obj | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return str(self.node["metadata"]["name"])

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.node.get("metadata") or {}).get("labels") or {})

    @property
    def allocatable(self) -> Resources:
        # parsed once per node object (quantity parsing dominated scheduling time before)
        if self._alloc_of is not self.node:
            self._alloc = node_allocatable(self.node)
            self._alloc_of = self.node
        return self._alloc

    def add_pod(self, pod: Obj) -> None:
        self.pods.append(pod)
        self._account(pod, 1)
        self.used_ports.update(host_ports(pod))
        if has_pod_affinity(pod):
            self.with_affinity.append(pod)

    def _account(self, pod: Obj, sign: int) -> None:
        for k, v in pod_requests(pod).items():
            self.requested[k] = self.requested.get(k, 0) + sign * v
        for k, v in pod_requests(pod, non_zero=True).items():
            self.non_zero_requested[k] = self.non_zero_requested.get(k, 0) + sign * v

    def remove_pod(self, uid: str) -> Obj | None:
        """Remove the pod with this uid (None when it is not here)."""
        for i, p in enumerate(self.pods):
            if (p.get("metadata") or {}).get("uid") == uid:
                del self.pods[i]
                self._account(p, -1)
                self.used_ports = {hp for q in self.pods for hp in host_ports(q)}
                self.with_affinity = [q for q in self.with_affinity if q is not p]
                return p
        return None

    def without(self, victims: list[Obj]) -> NodeInfo:
        gone = {id(v) for v in victims}
        ni = NodeInfo(self.node)
        for p in self.pods:
            if id(p) not in gone:
                ni.add_pod(p)
        return ni

    def with_pod(self, pod: Obj) -> NodeInfo:
        ni = self.without([])
        ni.add_pod(pod)
        return ni


def has_pod_affinity(pod: Obj) -> bool:
    aff = (pod.get("spec") or {}).get("affinity") or {}
    return bool(aff.get("podAffinity") or aff.get("podAntiAffinity"))


def build_snapshot(nodes: list[Obj], pods: list[Obj]) -> dict[str, NodeInfo]:
    """NodeInfos for ``nodes``; pods count when bound (spec.nodeName) and not terminal."""
    infos = {n["metadata"]["name"]: NodeInfo(n) for n in nodes}
    for p in pods:
        node = (p.get("spec") or {}).get("nodeName")
        if node in infos and not is_terminal(p):  # terminating pods hold their resources until gone
            infos[node].add_pod(p)
    return infos
