"""A watch-fed cache of RBAC objects for the authorizer (the ``RbacSource`` of ``apiserver.auth``).

Like kube-apiserver's informer-backed authorizer it is eventually consistent: a new RoleBinding takes effect when
its watch event arrives (milliseconds). ``ready`` is set after the first full list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from apiserver.resources import Registry
from apiserver.storage import Storage, StorageError

log = logging.getLogger(__name__)
KINDS = ("clusterroles", "clusterrolebindings", "roles", "rolebindings")


class RbacCache:
    def __init__(self, storage: Storage, registry: Registry) -> None:
        self.storage = storage
        self.prefixes: dict[str, str] = {}
        for res in KINDS:
            r = registry.get("rbac.authorization.k8s.io", "v1", res)
            assert r is not None
            self.prefixes[res] = r.prefix
        self.objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self.ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loaded: set[str] = set()

    def start(self) -> None:
        self._tasks = [asyncio.ensure_future(self._run(k)) for k in KINDS]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, kind: str) -> None:
        prefix = self.prefixes[kind]
        while True:
            try:
                page = await self.storage.list(prefix)
                self.objects[kind] = {_key(o): o for o in page.items}
                self._loaded.add(kind)
                if len(self._loaded) == len(KINDS):
                    self.ready.set()
                async for ev in self.storage.watch(prefix, page.revision):
                    if ev.obj is None:
                        continue
                    if ev.type == "DELETED":
                        self.objects[kind].pop(_key(ev.obj), None)
                    else:
                        self.objects[kind][_key(ev.obj)] = ev.obj
            except asyncio.CancelledError:
                raise
            except StorageError as e:
                log.warning("rbac cache %s: %s; relisting", kind, e)
                await asyncio.sleep(0.5)

    # RbacSource
    def cluster_roles(self) -> Iterable[dict[str, Any]]:
        return list(self.objects["clusterroles"].values())

    def cluster_role_bindings(self) -> Iterable[dict[str, Any]]:
        return list(self.objects["clusterrolebindings"].values())

    def roles(self, namespace: str) -> Iterable[dict[str, Any]]:
        return [o for o in self.objects["roles"].values() if o["metadata"].get("namespace") == namespace]

    def role_bindings(self, namespace: str) -> Iterable[dict[str, Any]]:
        return [o for o in self.objects["rolebindings"].values() if o["metadata"].get("namespace") == namespace]


def _key(o: dict[str, Any]) -> str:
    m = o.get("metadata", {})
    return f"{m.get('namespace', '')}/{m.get('name', '')}"
