"""Garbage collector decisions (pure).

- Dangling dependents: an object whose ownerReferences all point at owners that no longer exist (by uid) is
  deleted (background); if only some are gone, those references are removed.
- Foreground deletion: an owner being deleted with the ``foregroundDeletion`` finalizer first has its dependents
  deleted (with foreground propagation, so the cascade waits level by level); when none is left the finalizer
  is removed and the apiserver completes the delete.
- Orphan: an owner being deleted with the ``orphan`` finalizer has its reference removed from every dependent,
  then the finalizer is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controllers.logic.actions import Delete, Patch, Plan, Update
from controllers.logic.podutil import meta
from kemu.rest import Resource

Obj = dict[str, Any]
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


def dangling_refs(obj: Obj, owner_exists: Callable[[Obj], bool]) -> list[Obj]:
    return [r for r in meta(obj).get("ownerReferences") or [] if not owner_exists(r)]


def decide_dependent(res: Resource, obj: Obj, owner_exists: Callable[[Obj], bool]) -> Plan:
    plan = Plan()
    refs = meta(obj).get("ownerReferences") or []
    if not refs:
        return plan
    gone = dangling_refs(obj, owner_exists)
    if not gone:
        return plan
    md = meta(obj)
    if len(gone) == len(refs):
        if not md.get("deletionTimestamp"):
            plan.add(Delete(res, md.get("namespace", ""), md["name"], md.get("uid", ""), propagation="Background"))
        return plan
    gone_uids = {r.get("uid") for r in gone}
    keep = [r for r in refs if r.get("uid") not in gone_uids]
    plan.add(Patch(res, md.get("namespace", ""), md["name"],
                   {"metadata": {"ownerReferences": keep, "resourceVersion": md.get("resourceVersion")}}))
    return plan


def _without_finalizer(owner: Obj, finalizer: str) -> Obj:
    md = dict(meta(owner))
    md["finalizers"] = [f for f in md.get("finalizers") or [] if f != finalizer]
    return {**owner, "metadata": md}


def decide_owner(res: Resource, owner: Obj, dependents: list[tuple[Resource, Obj]]) -> Plan:
    """An owner being deleted with the foregroundDeletion or orphan finalizer."""
    plan = Plan()
    md = meta(owner)
    fins = md.get("finalizers") or []
    if not md.get("deletionTimestamp"):
        return plan
    uid = md.get("uid")
    if ORPHAN in fins:
        for dres, d in dependents:
            dmd = meta(d)
            keep = [r for r in dmd.get("ownerReferences") or [] if r.get("uid") != uid]
            plan.add(Patch(dres, dmd.get("namespace", ""), dmd["name"],
                           {"metadata": {"ownerReferences": keep, "resourceVersion": dmd.get("resourceVersion")}}))
        if not dependents:
            plan.add(Update(res, _without_finalizer(owner, ORPHAN)))
        return plan
    if FOREGROUND in fins:
        blocking = 0
        for dres, d in dependents:
            dmd = meta(d)
            if not dmd.get("deletionTimestamp"):
                plan.add(Delete(dres, dmd.get("namespace", ""), dmd["name"], dmd.get("uid", ""),
                                propagation="Foreground"))
            blocking += 1
        if blocking == 0:
            plan.add(Update(res, _without_finalizer(owner, FOREGROUND)))
    return plan
