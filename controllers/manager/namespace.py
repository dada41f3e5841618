"""Namespace controller: a namespace being deleted has every namespaced object in it deleted (resources found
through discovery, so custom resources go too); once nothing is left the ``kubernetes`` finalizer is removed
through ``namespaces/<name>/finalize`` and the apiserver completes the delete. While contents remain it
re-checks every few seconds (pods may take their grace period)."""

from __future__ import annotations

import logging
from typing import Any

from controllers.manager.base import Base
from kemu.rest import NAMESPACES, ApiError, NotFound, Resource, api_path

log = logging.getLogger(__name__)
Obj = dict[str, Any]
SKIP = {"events", "bindings", "localsubjectaccessreviews", "pods/eviction"}


class NamespaceController(Base):
    name = "namespace"
    component = "namespace-controller"

    def setup(self) -> None:
        self.nss = self.ctx.informer(NAMESPACES)
        self.nss.add_handler(lambda t, o, n: self.enqueue(n) if n and (n.get("metadata") or {}).get(
            "deletionTimestamp") else None)
        self._resources: list[Resource] | None = None

    async def discover(self) -> list[Resource]:
        client = self.ctx.client
        out: list[Resource] = []
        groups: list[tuple[str, str]] = [("", "v1")]
        apis = await client.request("GET", "/apis")
        for g in apis.get("groups") or []:
            pv = (g.get("preferredVersion") or {}).get("version") or (g.get("versions") or [{}])[0].get("version")
            if pv:
                groups.append((g["name"], pv))
        for group, version in groups:
            try:
                doc = await client.request("GET", "/api/v1" if not group else f"/apis/{group}/{version}")
            except ApiError:
                continue
            for r in doc.get("resources") or []:
                name = r.get("name", "")
                verbs = set(r.get("verbs") or [])
                if "/" in name or not r.get("namespaced") or name in SKIP or not {"list", "delete"} <= verbs:
                    continue
                out.append(Resource(group, version, name))
        return out

    async def reconcile(self, key: str) -> float | None:
        ns = self.nss.cache.get(key)
        if ns is None or not (ns.get("metadata") or {}).get("deletionTimestamp"):
            return None
        if "kubernetes" not in ((ns.get("spec") or {}).get("finalizers") or []):
            return None
        if self._resources is None:
            self._resources = await self.discover()
        remaining = 0
        for res in self._resources:
            try:
                page = await self.ctx.client.list(res, key)
            except ApiError:
                continue
            for item in page.get("items") or []:
                remaining += 1
                md = item.get("metadata") or {}
                if md.get("deletionTimestamp"):
                    continue
                try:
                    await self.ctx.client.delete(res, md["name"], key, propagation_policy="Background")
                except NotFound:
                    pass
                except ApiError as e:
                    log.info("namespace %s: deleting %s/%s: %s", key, res.resource, md.get("name"), e)
        if remaining:
            return 2.0
        body = {**ns, "spec": {**(ns.get("spec") or {}),
                               "finalizers": [f for f in (ns.get("spec") or {}).get("finalizers") or []
                                              if f != "kubernetes"]}}
        try:
            await self.ctx.client.request("PUT", api_path("", "v1", "namespaces", None, key, "finalize"), body)
        except NotFound:
            pass
        self._resources = None  # rediscover next time: CRDs come and go
        return None
