"""What kube-apiserver creates and keeps running on its own: system namespaces, the ``kubernetes`` Service and its
Endpoints and EndpointSlice, default RBAC roles and bindings, system priority classes, and periodic compaction of
the store.

Compaction follows kube-apiserver: every ``interval`` the revision seen at the previous tick is compacted, so at
least one interval of history stays available for watches (DESIGN: every 5 min keeping >= 5 min).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from apiserver import errors
from apiserver.api import Api
from apiserver.auth import bootstrap_objects
from apiserver.kubernetes_endpoints import endpoints_with, slice_name, slice_with
from apiserver.storage import KeyNotFound, PreconditionFailed, StorageError

log = logging.getLogger(__name__)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# What kemu's own components need beyond the upstream default roles: the scheduler reads PriorityClasses for
# preemption, and the controller-manager installs the default StorageClass of its local provisioner (an addon's
# job on a real cluster).
KEMU_EXTRA_GRANTS = (
    ("kemu:scheduler-extras", "system:kube-scheduler",
     [{"apiGroups": ["scheduling.k8s.io"], "resources": ["priorityclasses"], "verbs": ["get", "list", "watch"]}]),
    ("kemu:controller-manager-extras", "system:kube-controller-manager",
     [{"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"],
       "verbs": ["create", "get", "list", "watch", "update", "patch"]}]),
)


def extra_grants() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    meta = {"labels": {"kubernetes.io/bootstrapping": "kemu"}}
    for name, user, rules in KEMU_EXTRA_GRANTS:
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": name, **meta}, "rules": rules})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": name, **meta},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})
    return out


async def ensure_system_objects(api: Api, advertise_ip: str, port: int) -> None:
    reg = api.registry
    ns_r = reg.get("", "v1", "namespaces")
    assert ns_r is not None
    for ns in SYSTEM_NAMESPACES:
        await api.ensure(ns_r, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    policy = bootstrap_objects() + extra_grants()
    rbac = {o["kind"]: reg.by_kind("rbac.authorization.k8s.io", o["kind"]) for o in policy}
    for obj in policy:
        r = rbac[obj["kind"]]
        assert r is not None
        await api.ensure(r, obj)
    pc = reg.get("scheduling.k8s.io", "v1", "priorityclasses")
    assert pc is not None
    for name, value in (("system-cluster-critical", 2000000000), ("system-node-critical", 2000001000)):
        await api.ensure(pc, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                              "metadata": {"name": name}, "value": value, "preemptionPolicy": "PreemptLowerPriority",
                              "description": "Used for system critical pods that must not be moved from their "
                                             "current node." if name == "system-node-critical" else
                                             "Used for system critical pods that must run in the cluster, but can "
                                             "be moved to another node if necessary."})
    await ensure_kubernetes_service(api, advertise_ip, port)


async def ensure_kubernetes_service(api: Api, advertise_ip: str, port: int) -> None:
    """``default/kubernetes`` (ClusterIP = first address of the range) and its Endpoints and EndpointSlice listing
    every apiserver (apiserver/kubernetes_endpoints.py)."""
    reg = api.registry
    svc_r, ep_r = reg.get("", "v1", "services"), reg.get("", "v1", "endpoints")
    assert svc_r is not None and ep_r is not None
    await api.ensure(svc_r, {"apiVersion": "v1", "kind": "Service",
                             "metadata": {"name": "kubernetes", "namespace": "default",
                                          "labels": {"component": "apiserver", "provider": "kubernetes"}},
                             "spec": {"type": "ClusterIP", "clusterIP": api.allocator.first_ip(),
                                      "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                                 "targetPort": port}]}})
    await _upsert(api, ep_r, "kubernetes", lambda cur: endpoints_with(cur, advertise_ip, port))
    slice_r = reg.get("discovery.k8s.io", "v1", "endpointslices")
    assert slice_r is not None
    try:
        first: dict[str, Any] | None = await api.storage.get(slice_r.key("default", "kubernetes"))
    except KeyNotFound:
        first = None
    name = slice_name(first, port)
    await _upsert(api, slice_r, name, lambda cur: slice_with(cur, name, advertise_ip, port))


async def _upsert(api: Api, r: Any, name: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None]
                  ) -> None:
    """Create default/<name> as change(None), or update it to change(current) (compare-and-swap, retried when
    another apiserver wrote in between); change returns None when nothing is to be written."""
    for _ in range(8):
        try:
            current = await api.storage.get(r.key("default", name))
        except KeyNotFound:
            created = change(None)
            if created is not None:
                await api.ensure(r, created)
            continue        # re-read: another apiserver may have created it first
        updated = change(current)
        if updated is None:
            return
        try:
            await api.storage.update(r.key("default", name), updated, int(current["metadata"]["resourceVersion"]))
            return
        except PreconditionFailed:
            continue


async def compaction_loop(api: Api, interval_s: float) -> None:
    previous = 0
    while True:
        await asyncio.sleep(interval_s)
        try:
            current = await api.storage.revision()
            if previous:
                await api.storage.compact(previous)
                log.info("compacted the store at revision %d", previous)
            previous = current
        except (StorageError, errors.ApiError) as e:
            log.warning("compaction failed: %s", e)

