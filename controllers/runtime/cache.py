"""The informer's local cache: objects by key with secondary indexes (pure, no I/O).

Keys are ``namespace/name`` (``name`` for cluster-scoped objects), as client-go's MetaNamespaceKeyFunc.
An index function maps an object to zero or more index values; ``by_index(name, value)`` returns the objects
currently carrying that value. ``apply`` folds one watch event in and returns (old, new) for handlers;
``replace`` folds a full relist in and returns the synthetic events a relist implies (adds, updates of changed
resourceVersions, and deletes of keys that vanished), so handlers see every transition even across a 410.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], list[str]]
Event = tuple[str, Obj | None, Obj | None]  # (ADDED|MODIFIED|DELETED, old, new)
ObjList = list[Obj]  # Cache.list shadows the builtin inside the class
EventList = list[Event]


def object_key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name', '')}" if ns else str(meta.get("name", ""))


def split_key(key: str) -> tuple[str, str]:
    """``ns/name`` -> (ns, name); ``name`` -> ("", name)."""
    if "/" in key:
        ns, name = key.split("/", 1)
        return ns, name
    return "", key


def index_namespace(obj: Obj) -> list[str]:
    ns = (obj.get("metadata") or {}).get("namespace")
    return [ns] if ns else []


def index_owner_uid(obj: Obj) -> list[str]:
    return [str(r["uid"]) for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("uid")]


def index_node_name(obj: Obj) -> list[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return [node] if node else []


DEFAULT_INDEXERS: dict[str, IndexFunc] = {
    "namespace": index_namespace, "owner": index_owner_uid, "nodeName": index_node_name,
}


class Cache:
    def __init__(self, indexers: dict[str, IndexFunc] | None = None) -> None:
        self.indexers = dict(DEFAULT_INDEXERS if indexers is None else indexers)
        self.items: dict[str, Obj] = {}
        self.indexes: dict[str, dict[str, set[str]]] = {n: {} for n in self.indexers}

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: str) -> Obj | None:
        return self.items.get(key)

    def list(self) -> list[Obj]:
        return list(self.items.values())

    def keys(self) -> Iterable[str]:
        return self.items.keys()

    def by_index(self, index: str, value: str) -> ObjList:
        keys = self.indexes[index].get(value, set())
        return [self.items[k] for k in sorted(keys)]

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, fn in self.indexers.items():
            for v in fn(obj):
                s = self.indexes[name].get(v)
                if s is not None:
                    s.discard(key)
                    if not s:
                        del self.indexes[name][v]

    def _index(self, key: str, obj: Obj) -> None:
        for name, fn in self.indexers.items():
            for v in fn(obj):
                self.indexes[name].setdefault(v, set()).add(key)

    def upsert(self, obj: Obj) -> Obj | None:
        key = object_key(obj)
        old = self.items.get(key)
        if old is not None:
            self._unindex(key, old)
        self.items[key] = obj
        self._index(key, obj)
        return old

    def remove(self, key: str) -> Obj | None:
        old = self.items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def apply(self, typ: str, obj: Obj) -> Event | None:
        """Fold a watch event in; None for events that change nothing (BOOKMARK, deletes of unknown keys)."""
        if typ in ("ADDED", "MODIFIED"):
            old = self.upsert(obj)
            return ("ADDED" if old is None else "MODIFIED", old, obj)
        if typ == "DELETED":
            old = self.remove(object_key(obj))
            return ("DELETED", old or obj, None)
        return None

    def replace(self, objs: ObjList) -> EventList:
        events: EventList = []
        fresh = {object_key(o): o for o in objs}
        for key in [k for k in self.items if k not in fresh]:
            old = self.remove(key)
            events.append(("DELETED", old, None))
        for key, obj in fresh.items():
            old = self.items.get(key)
            self.upsert(obj)
            if old is None:
                events.append(("ADDED", None, obj))
            elif _rv(old) != _rv(obj):
                events.append(("MODIFIED", old, obj))
        return events


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
