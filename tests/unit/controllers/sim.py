"""A tiny in-memory apply of reconcile plans, for table tests of the pure decisions (not an apiserver)."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from controllers.logic.actions import Create, Delete, Event, Patch, Plan, Update, UpdateStatus

Obj = dict[str, Any]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def merge(into: Obj, patch: Obj) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            merge(into[k], v)
        elif v is None:
            into.pop(k, None)
        else:
            into[k] = copy.deepcopy(v)


class World:
    def __init__(self) -> None:
        self.objs: dict[tuple[str, str, str], Obj] = {}  # (resource, ns, name)
        self.events: list[Event] = []
        self.seq = itertools.count(1)
        self.now = T0

    def put(self, resource: str, obj: Obj) -> Obj:
        md = obj.setdefault("metadata", {})
        n = next(self.seq)
        if not md.get("name"):
            md["name"] = f"{md.get('generateName', 'x-')}{n:05d}"
        md.setdefault("uid", f"uid-{md['name']}")
        md.setdefault("creationTimestamp", (self.now + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        md.setdefault("generation", 1)
        md["resourceVersion"] = str(n)
        self.objs[(resource, md.get("namespace", ""), md["name"])] = obj
        return obj

    def list(self, resource: str) -> list[Obj]:
        return [o for (r, _, _), o in sorted(self.objs.items()) if r == resource]

    def apply(self, plan: Plan) -> None:
        for a in plan.actions:
            if isinstance(a, Create):
                self.put(a.res.resource, copy.deepcopy(a.obj))
            elif isinstance(a, Patch):
                o = self.objs[(a.res.resource, a.namespace, a.name)]
                body = {k: v for k, v in a.body.items()}
                body.get("metadata", {}).pop("uid", None)
                merge(o, body)
                if "spec" in body:
                    o["metadata"]["generation"] = o["metadata"].get("generation", 1) + 1
            elif isinstance(a, Delete):
                self.objs.pop((a.res.resource, a.namespace, a.name), None)
            elif isinstance(a, (UpdateStatus, Update)):
                md = a.obj["metadata"]
                key = (a.res.resource, md.get("namespace", ""), md["name"])
                if key in self.objs:
                    if isinstance(a, UpdateStatus):
                        self.objs[key]["status"] = copy.deepcopy(a.obj.get("status"))
                    else:
                        self.objs[key] = copy.deepcopy(a.obj)
            elif isinstance(a, Event):
                self.events.append(a)
