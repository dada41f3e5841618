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

    @property
    def name(self) -> str:
        return str(self.node["metadata"]["name"])

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.node.get("metadata") or {}).get("labels") or {})

    @property
    def allocatable(self) -> Resources:
        return node_allocatable(self.node)

    def add_pod(self, pod: Obj) -> None:
        self.pods.append(pod)
        for k, v in pod_requests(pod).items():
            self.requested[k] = self.requested.get(k, 0) + v
        for k, v in pod_requests(pod, non_zero=True).items():
            self.non_zero_requested[k] = self.non_zero_requested.get(k, 0) + v
        self.used_ports.update(host_ports(pod))

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


def build_snapshot(nodes: list[Obj], pods: list[Obj]) -> dict[str, NodeInfo]:
    """NodeInfos for ``nodes``; pods count when bound (spec.nodeName) and not terminal."""
    infos = {n["metadata"]["name"]: NodeInfo(n) for n in nodes}
    for p in pods:
        node = (p.get("spec") or {}).get("nodeName")
        if node in infos and not is_terminal(p):  # terminating pods hold their resources until gone
            infos[node].add_pod(p)
    return infos
