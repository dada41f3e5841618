"""The etcd3 mapping of API objects (DESIGN "Key semantics"): the only module of the apiserver that talks to etcd.

Objects are stored as JSON without ``metadata.resourceVersion``; on the way out it is set to the key's
``mod_revision``. A list's resourceVersion is the etcd header revision. Create is ``Txn(create_revision == 0)``,
update and delete are ``Txn(mod_revision == rv)``, so concurrent apiservers on one store stay consistent; failed
preconditions come back as typed errors carrying the current object.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from etcd_raft.client import EVENT_DELETE, Compacted, EtcdClient, EtcdError, KeyValue, Unavailable, prefix_end


class StorageError(Exception):
    pass


class KeyNotFound(StorageError):
    pass


class KeyExists(StorageError):
    pass


class PreconditionFailed(StorageError):
    """The object changed since ``expected_rv``; ``current`` is what is stored now (None if deleted)."""

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("resource version mismatch")
        self.current = current


class Expired(StorageError):
    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"required revision {requested} has been compacted (oldest available {compacted})")
        self.requested = requested
        self.compacted = compacted


class StoreUnavailable(StorageError):
    pass


@dataclass
class ListResult:
    items: list[dict[str, Any]]
    revision: int
    next_key: bytes | None     # where the next page starts (None: this was the last page)
    remaining: int             # objects after this page (meaningful only when next_key is set)


@dataclass
class WatchEvent:
    type: str                   # ADDED, MODIFIED, DELETED, or PROGRESS (a store progress notification: no object)
    obj: dict[str, Any] | None  # for DELETED: the last state, with resourceVersion = the deletion revision
    prev: dict[str, Any] | None
    revision: int


def decode(kv: KeyValue, revision: int | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = orjson.loads(kv.value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision if revision is not None else kv.mod_revision)
    return obj


def encode(obj: dict[str, Any]) -> bytes:
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}}
    return orjson.dumps(obj)


def encode_continue(next_key: bytes, revision: int, prefix: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": revision, "start": next_key.decode()[len(prefix):]}
    return base64.urlsafe_b64encode(orjson.dumps(token)).decode()


def decode_continue(token: str, prefix: str) -> tuple[bytes, int]:
    """(start key, revision) of a continue token; ValueError when it is not one of ours."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(data.get("rv"), int):
            raise ValueError("bad version")
        start = str(data["start"])
        if start.startswith("/") or ".." in start.split("/"):
            raise ValueError("bad start")
        return (prefix + start).encode(), int(data["rv"])
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError) as e:
        raise ValueError(f"continue key is not valid: {e}") from None


class Storage:
    def __init__(self, client: EtcdClient) -> None:
        self.client = client

    async def _guard(self, coro: Any) -> Any:
        try:
            return await coro
        except Unavailable as e:
            raise StoreUnavailable(e.message) from None
        except Compacted as e:
            raise Expired(0, e.compact_revision) from None
        except EtcdError as e:
            raise StorageError(e.message) from None

    async def revision(self) -> int:
        resp = await self._guard(self.client.range(b"/registry/", prefix_end(b"/registry/"), count_only=True))
        return int(resp.header.revision)

    async def get(self, key: str) -> dict[str, Any]:
        kv = await self._guard(self.client.get(key.encode()))
        if kv is None:
            raise KeyNotFound(key)
        return decode(kv)

    async def create(self, key: str, obj: dict[str, Any], lease: int = 0) -> dict[str, Any]:
        k = key.encode()
        c = self.client
        resp = await self._guard(c.txn([c.cmp_create_revision(k, 0)], [c.op_put(k, encode(obj), lease)]))
        if not resp.succeeded:
            raise KeyExists(key)
        return _with_rv(obj, resp.header.revision)

    async def update(self, key: str, obj: dict[str, Any], expected_rv: int) -> dict[str, Any]:
        k = key.encode()
        c = self.client
        resp = await self._guard(c.txn([c.cmp_mod_revision(k, expected_rv)], [c.op_put(k, encode(obj))],
                                       [c.op_get(k)]))
        if not resp.succeeded:
            kvs = resp.responses[0].response_range.kvs
            if not kvs:
                raise KeyNotFound(key)
            raise PreconditionFailed(decode(kvs[0]))
        return _with_rv(obj, resp.header.revision)

    async def delete(self, key: str, expected_rv: int) -> dict[str, Any]:
        """Delete if unchanged since ``expected_rv``; returns the last state with the deletion revision."""
        k = key.encode()
        c = self.client
        resp = await self._guard(c.txn([c.cmp_mod_revision(k, expected_rv)], [c.op_delete(k, prev_kv=True)],
                                       [c.op_get(k)]))
        if not resp.succeeded:
            kvs = resp.responses[0].response_range.kvs
            if not kvs:
                raise KeyNotFound(key)
            raise PreconditionFailed(decode(kvs[0]))
        prev = resp.responses[0].response_delete_range.prev_kvs
        if not prev:
            raise KeyNotFound(key)
        return decode(prev[0], resp.header.revision)

    async def list(self, prefix: str, *, limit: int = 0, start: bytes | None = None, revision: int = 0,
                   serializable: bool = False) -> ListResult:
        p = prefix.encode()
        end = prefix_end(p)
        try:
            resp = await self._guard(self.client.range(start or p, end, limit=limit + 1 if limit else 0,
                                                       revision=revision, serializable=serializable))
        except Expired as e:
            raise Expired(revision, e.compacted) from None
        kvs = list(resp.kvs)
        rev = revision or int(resp.header.revision)
        next_key = None
        remaining = 0
        if limit and len(kvs) > limit:
            kvs = kvs[:limit]
            next_key = kvs[-1].key + b"\x00"
            remaining = int(resp.count) - len(kvs)
        return ListResult([decode(kv) for kv in kvs], rev, next_key, max(remaining, 1) if next_key else 0)

    async def watch(self, prefix: str, from_rv: int, progress_notify: bool = False) -> AsyncIterator[WatchEvent]:
        """Events strictly after ``from_rv`` (0: from now). Raises Expired if ``from_rv`` is compacted."""
        p = prefix.encode()
        try:
            async for resp in self.client.watch(p, prefix_end(p), start_revision=from_rv + 1 if from_rv else 0,
                                                prev_kv=True, progress_notify=progress_notify):
                if not resp.events:
                    yield WatchEvent("PROGRESS", None, None, int(resp.header.revision))
                    continue
                for ev in resp.events:
                    rev = ev.kv.mod_revision
                    prev = decode(ev.prev_kv) if ev.HasField("prev_kv") and ev.prev_kv.value else None
                    if ev.type == EVENT_DELETE:
                        if prev is None:
                            continue
                        prev["metadata"]["resourceVersion"] = str(rev)
                        yield WatchEvent("DELETED", prev, None, rev)
                    else:
                        yield WatchEvent("ADDED" if ev.kv.version == 1 else "MODIFIED", decode(ev.kv), prev, rev)
        except Compacted as e:
            raise Expired(from_rv, e.compact_revision) from None
        except Unavailable as e:
            raise StoreUnavailable(e.message) from None

    async def compact(self, revision: int) -> None:
        try:
            await self.client.compact(revision)
        except Compacted:
            pass
        except EtcdError as e:
            raise StorageError(e.message) from None


def _with_rv(obj: dict[str, Any], rev: int) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta["resourceVersion"] = str(rev)
    return {**obj, "metadata": meta}
