"""CustomResourceDefinitions → served resources, kept in step with the store by a watch.

Each served version of a CRD becomes a ``Resource`` (``crd=True``) stored under ``/registry/<group>/<plural>/``,
carrying its openAPIV3Schema (validation and pruning), additionalPrinterColumns (Tables) and status/scale
subresources. Like kube-apiserver's naming and establishing controllers, the watcher sets the CRD's
``NamesAccepted`` and ``Established`` conditions and ``status.acceptedNames``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from apiserver.api import Api, rfc3339
from apiserver.resources import Resource
from apiserver.storage import PreconditionFailed, StorageError
from kemu.api.meta import set_condition

log = logging.getLogger(__name__)


def resources_of(crd: dict[str, Any]) -> list[Resource]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    plural = names.get("plural", "")
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        sub_names = tuple(s for s in ("status", "scale") if s in subs)
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        out.append(Resource(group, v["name"], names.get("kind", ""), plural, spec.get("scope") == "Namespaced",
                            tuple(names.get("shortNames") or ()), tuple(names.get("categories") or ()), sub_names,
                            storage_prefix=f"{group}/{plural}", has_status="status" in sub_names,
                            list_kind=names.get("listKind", ""), crd=True,
                            extra={"schema": schema, "printer_columns": v.get("additionalPrinterColumns") or [],
                                   "crd": crd, "scale": subs.get("scale")}))
    return out


class CrdWatcher:
    def __init__(self, api: Api) -> None:
        self.api = api
        r = api.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert r is not None
        self.r = r
        self.served: dict[str, list[Resource]] = {}
        self.synced = asyncio.Event()

    def _apply(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        self._remove(name)
        if crd["metadata"].get("deletionTimestamp"):
            return
        rs = resources_of(crd)
        for r in rs:
            self.api.registry.add(r)
        self.served[name] = rs

    def _remove(self, name: str) -> None:
        for r in self.served.pop(name, []):
            self.api.registry.remove_group_resource(r.group, r.resource)

    async def run(self) -> None:
        while True:
            try:
                page = await self.api.storage.list(self.r.prefix)
                for name in list(self.served):
                    self._remove(name)
                for crd in page.items:
                    self._apply(crd)
                    await self._establish(crd)
                self.synced.set()
                async for ev in self.api.storage.watch(self.r.prefix, page.revision):
                    if ev.obj is None:
                        continue
                    if ev.type == "DELETED":
                        self._remove(ev.obj["metadata"]["name"])
                    else:
                        self._apply(ev.obj)
                        await self._establish(ev.obj)
            except asyncio.CancelledError:
                raise
            except StorageError as e:
                log.warning("CRD watch: %s; relisting", e)
                await asyncio.sleep(0.5)

    async def _establish(self, crd: dict[str, Any]) -> None:
        status = crd.get("status") or {}
        conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        if conds.get("Established") == "True" or crd["metadata"].get("deletionTimestamp"):
            return
        new = copy.deepcopy(crd)
        st = new.setdefault("status", {})
        now = self.api.now()
        st["acceptedNames"] = copy.deepcopy((crd.get("spec") or {}).get("names") or {})
        set_condition(st, "NamesAccepted", "True", "NoConflicts", "no conflicts found", rfc3339(now))
        set_condition(st, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted",
                      rfc3339(now))
        st["storedVersions"] = [v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")]
        try:
            await self.api.storage.update(self.r.key("", crd["metadata"]["name"]), new,
                                          int(crd["metadata"]["resourceVersion"]))
        except PreconditionFailed:
            pass
