"""The scheduler's cluster view (pure): NodeInfos kept up to date from pod/node events, plus assumed pods.

A pod is "assumed" on its node the moment the scheduler decides, before the binding is confirmed by the watch,
so the next decision already sees its requests (the real scheduler's assume cache). The assumption is dropped
when the informer shows the pod bound (it is then accounted as a normal bound pod), when the pod is deleted,
or by ``forget`` after a failed binding.
"""

from __future__ import annotations

from typing import Any

from controllers.scheduler.nodeinfo import NodeInfo
from controllers.scheduler.resources import is_terminal

Obj = dict[str, Any]


def _uid(pod: Obj) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


class SchedulerCache:
    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.pod_node: dict[str, str] = {}  # uid -> node it is accounted on
        self.pending_pods: dict[str, Obj] = {}  # uid -> pods bound to nodes we have not seen yet
        self.assumed: set[str] = set()

    def set_node(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        ni = self.nodes.get(name)
        if ni is None:
            ni = self.nodes[name] = NodeInfo(node)
            for uid, p in list(self.pending_pods.items()):
                if (p.get("spec") or {}).get("nodeName") == name:
                    del self.pending_pods[uid]
                    self._account(p, name)
        else:
            ni.node = node

    def remove_node(self, name: str) -> None:
        ni = self.nodes.pop(name, None)
        if ni is not None:
            for p in ni.pods:
                self.pod_node.pop(_uid(p), None)
                self.pending_pods[_uid(p)] = p

    def _account(self, pod: Obj, node: str) -> None:
        ni = self.nodes.get(node)
        if ni is None:
            self.pending_pods[_uid(pod)] = pod
            return
        ni.add_pod(pod)
        self.pod_node[_uid(pod)] = node

    def _unaccount(self, uid: str) -> None:
        node = self.pod_node.pop(uid, None)
        if node is not None and node in self.nodes:
            self.nodes[node].remove_pod(uid)
        self.pending_pods.pop(uid, None)

    def set_pod(self, pod: Obj) -> None:
        """A pod add/update from the informer."""
        uid = _uid(pod)
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or is_terminal(pod):
            if uid not in self.assumed or is_terminal(pod):
                self._unaccount(uid)
                self.assumed.discard(uid)
            return
        self.assumed.discard(uid)
        self._unaccount(uid)
        self._account(pod, node)

    def remove_pod(self, pod: Obj) -> None:
        uid = _uid(pod)
        self.assumed.discard(uid)
        self._unaccount(uid)

    def assume(self, pod: Obj, node: str) -> None:
        bound = {**pod, "spec": {**(pod.get("spec") or {}), "nodeName": node}}
        self._unaccount(_uid(pod))
        self._account(bound, node)
        self.assumed.add(_uid(pod))

    def forget(self, pod: Obj) -> None:
        uid = _uid(pod)
        if uid in self.assumed:
            self.assumed.discard(uid)
            self._unaccount(uid)
