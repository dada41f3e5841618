"""The MVCC key-value store: etcd's data model, applied deterministically (pure: no I/O, clocks or threads).

Every member applies the same committed commands in the same order and ends in the same state. Contracts:
- One global revision, starting at 1 (an empty etcd reports 1); a write command that changes something bumps it by
  exactly 1 (all puts/deletes of one txn share that main revision, with sub-revisions in op order); a command that
  changes nothing (a delete that matches nothing, a txn whose branch only reads) leaves it alone.
- Each key carries create_revision, mod_revision, version (1 on creation, +1 per put; a delete ends the generation)
  and lease; reads at any revision between the compaction revision and now see that revision's state.
- Invalid requests raise EtcdError before anything changes (a command is all or nothing).
- Leases here are the replicated part only (ids, granted TTLs, attached keys); when a lease expires is decided by
  the leader, which proposes the revoke.
- Not thread-safe: the server serializes apply, reads and watch draining under one lock.
"""

from __future__ import annotations

import bisect
import pickle
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from sortedcontainers import SortedDict

from etcd_raft.mvcc import errors
from etcd_raft.mvcc.changes import DELETE, PUT, Change
from etcd_raft.mvcc.history import Entry, KeyHistory
from etcd_raft.mvcc.ranges import KeyRange, key_range, overlaps
from etcd_raft.mvcc.watch import WatchHub
from etcd_raft.pb import kv_pb2, rpc_pb2

R = TypeVar("R")
Event = kv_pb2.Event
SortOrder = rpc_pb2.RangeRequest.SortOrder
SortTarget = rpc_pb2.RangeRequest.SortTarget
Compare = rpc_pb2.Compare


@dataclass
class Lease:
    ttl_s: int
    keys: set[bytes] = field(default_factory=set)


class _Write:
    """The writes of one command: they share main revision `main`, sub-revisions count up in op order."""

    def __init__(self, main: int) -> None:
        self.main = main
        self.sub = 0
        self.events: list[Change] = []

    def next_sub(self) -> int:
        self.sub += 1
        return self.sub - 1


class Store:
    def __init__(self) -> None:
        self.revision = 1
        self.compact_revision = 0
        self._keys: SortedDict = SortedDict()            # bytes -> KeyHistory
        # main revision -> its Changes; revisions only grow, so a dict in insertion order plus the sorted list of
        # its keys (for bisect) does what a SortedDict did, for a fifth of the cost per write
        self._events: dict[int, list[Change]] = {}
        self._event_revs: list[int] = []
        self._leases: dict[int, Lease] = {}
        self._write: _Write | None = None
        self.watches = WatchHub(self)

    # ---------------------------------------------------------------- reads
    def _kv_at(self, hist: KeyHistory, rev: int | None) -> kv_pb2.KeyValue | None:
        return hist.latest() if rev is None else hist.at(rev)

    def _iter_range(self, kr: KeyRange, rev: int | None) -> Iterator[kv_pb2.KeyValue]:
        if kr.single:
            hist = self._keys.get(kr.start)
            kv = self._kv_at(hist, rev) if hist is not None else None
            if kv is not None:
                yield kv
            return
        for key in self._keys.irange(kr.start, kr.end, inclusive=(True, False)):
            kv = self._kv_at(self._keys[key], rev)
            if kv is not None:
                yield kv

    def _check_read_rev(self, rev: int) -> None:
        if rev > self.revision:
            raise errors.ErrFutureRev()
        if rev < self.compact_revision:
            raise errors.ErrCompacted()

    def range(self, req: rpc_pb2.RangeRequest) -> rpc_pb2.RangeResponse:
        rev: int | None = None
        if req.revision > 0:
            self._check_read_rev(req.revision)
            rev = req.revision
        kvs = list(self._iter_range(key_range(req.key, req.range_end), rev))
        resp = rpc_pb2.RangeResponse(count=len(kvs))
        resp.header.revision = self.revision
        kvs = [kv for kv in kvs if _passes_filters(kv, req)]
        order, target = req.sort_order, req.sort_target
        if order == SortOrder.NONE and target != SortTarget.KEY:
            order = SortOrder.ASCEND        # etcd: a sort target without an order means ascending
        if order != SortOrder.NONE:
            kvs.sort(key=_sort_key(target), reverse=order == SortOrder.DESCEND)
        if req.count_only:      # etcd: a count-only range returns no keys, so nothing is "more"
            return resp
        if req.limit > 0 and len(kvs) > req.limit:
            kvs, resp.more = kvs[: req.limit], True
        for kv in kvs:
            out = resp.kvs.add()
            out.CopyFrom(kv)
            if req.keys_only:
                out.value = b""
        return resp

    # ---------------------------------------------------------------- writes
    def _begin(self) -> _Write:
        assert self._write is None, "nested write command"
        self._write = _Write(self.revision + 1)
        return self._write

    def _end(self) -> int:
        w, self._write = self._write, None
        assert w is not None
        if w.events:
            self.revision = w.main
            self._events[w.main] = w.events
            self._event_revs.append(w.main)
            self.watches.notify(w.main, w.events)
        return self.revision

    def _put(self, w: _Write, req: rpc_pb2.PutRequest) -> rpc_pb2.PutResponse:
        hist = self._keys.get(req.key)
        prev = hist.latest() if hist is not None else None
        value, lease = req.value, req.lease
        if req.ignore_value:
            assert prev is not None
            value = prev.value
        if req.ignore_lease:
            assert prev is not None
            lease = prev.lease
        kv = kv_pb2.KeyValue(key=req.key, value=value, lease=lease, mod_revision=w.main,
                             create_revision=prev.create_revision if prev else w.main,
                             version=prev.version + 1 if prev else 1)
        if hist is None:
            hist = self._keys[req.key] = KeyHistory()
        hist.append(Entry(w.main, w.next_sub(), kv))
        if prev is not None and prev.lease and prev.lease != lease and prev.lease in self._leases:
            self._leases[prev.lease].keys.discard(req.key)
        if lease:
            self._leases[lease].keys.add(req.key)
        w.events.append(Change(PUT, kv, prev))
        resp = rpc_pb2.PutResponse()
        if req.prev_kv and prev is not None:
            resp.prev_kv.CopyFrom(prev)
        return resp

    def _delete(self, w: _Write, req: rpc_pb2.DeleteRangeRequest) -> rpc_pb2.DeleteRangeResponse:
        victims = list(self._iter_range(key_range(req.key, req.range_end), None))
        resp = rpc_pb2.DeleteRangeResponse(deleted=len(victims))
        for prev in victims:
            self._keys[prev.key].append(Entry(w.main, w.next_sub(), None))
            if prev.lease and prev.lease in self._leases:
                self._leases[prev.lease].keys.discard(prev.key)
            tomb = kv_pb2.KeyValue(key=prev.key, mod_revision=w.main)
            w.events.append(Change(DELETE, tomb, prev))
            if req.prev_kv:
                resp.prev_kvs.add().CopyFrom(prev)
        return resp

    def _check_put(self, req: rpc_pb2.PutRequest) -> None:
        if not req.key:
            raise errors.ErrEmptyKey()
        hist = self._keys.get(req.key)
        exists = hist is not None and hist.latest() is not None
        if req.ignore_value and req.value:
            raise errors.ErrValueProvided()
        if req.ignore_lease and req.lease:
            raise errors.ErrLeaseProvided()
        if (req.ignore_value or req.ignore_lease) and not exists:
            raise errors.ErrKeyNotFound()
        if req.lease and req.lease not in self._leases:
            raise errors.ErrLeaseNotFound()

    def _command(self, op: Callable[[_Write], R]) -> R:
        """Run one write command: its writes share the next main revision, committed (or not) at the end."""
        w = self._begin()
        try:
            resp = op(w)
        finally:
            rev = self._end()
        resp.header.revision = rev  # type: ignore[attr-defined]
        return resp

    def put(self, req: rpc_pb2.PutRequest) -> rpc_pb2.PutResponse:
        # _command inlined: the most frequent write
        self._check_put(req)
        w = self._begin()
        try:
            resp = self._put(w, req)
        finally:
            rev = self._end()
        resp.header.revision = rev
        return resp

    def delete_range(self, req: rpc_pb2.DeleteRangeRequest) -> rpc_pb2.DeleteRangeResponse:
        if not req.key:
            raise errors.ErrEmptyKey()
        return self._command(lambda w: self._delete(w, req))

    # ---------------------------------------------------------------- txn
    def _compare(self, cmp: rpc_pb2.Compare) -> bool:
        kr = key_range(cmp.key, cmp.range_end)
        kvs = list(self._iter_range(kr, None))
        if kr.single and not kvs:
            # a missing key compares as version/create/mod/lease 0; a value compare on it fails
            if cmp.target == Compare.VALUE:
                return False
            kvs = [kv_pb2.KeyValue(key=cmp.key)]
        return all(_compare_one(kv, cmp) for kv in kvs)

    def _check_ops(self, ops: list[rpc_pb2.RequestOp], depth_ops: list[int]) -> None:
        for op in ops:
            depth_ops[0] += 1
            kind = op.WhichOneof("request")
            if kind == "request_put":
                self._check_put(op.request_put)
            elif kind == "request_delete_range" and not op.request_delete_range.key:
                raise errors.ErrEmptyKey()
            elif kind == "request_range" and op.request_range.revision > 0:
                self._check_read_rev(op.request_range.revision)
            elif kind == "request_txn":
                self._check_ops(list(op.request_txn.success), depth_ops)
                self._check_ops(list(op.request_txn.failure), depth_ops)

    def txn(self, req: rpc_pb2.TxnRequest) -> rpc_pb2.TxnResponse:
        if len(req.compare) > errors.MAX_TXN_OPS or max(len(req.success), len(req.failure)) > errors.MAX_TXN_OPS:
            raise errors.ErrTooManyOps()
        for branch in (req.success, req.failure):
            _check_intervals(list(branch))
        counted = [0]
        self._check_ops(list(req.success) + list(req.failure), counted)
        w = self._begin()
        try:
            resp = self._txn(w, req)
        finally:
            rev = self._end()
        _set_header_revision(resp, rev)
        return resp

    def _txn(self, w: _Write, req: rpc_pb2.TxnRequest) -> rpc_pb2.TxnResponse:
        ok = all(self._compare(c) for c in req.compare)
        resp = rpc_pb2.TxnResponse(succeeded=ok)
        for op in req.success if ok else req.failure:
            out = resp.responses.add()
            kind = op.WhichOneof("request")
            if kind == "request_range":
                out.response_range.CopyFrom(self.range(op.request_range))
            elif kind == "request_put":
                out.response_put.CopyFrom(self._put(w, op.request_put))
            elif kind == "request_delete_range":
                out.response_delete_range.CopyFrom(self._delete(w, op.request_delete_range))
            elif kind == "request_txn":
                out.response_txn.CopyFrom(self._txn(w, op.request_txn))
        return resp

    def read_only_txn(self, req: rpc_pb2.TxnRequest) -> bool:
        """True when no branch can write: the server may serve it like a read (no proposal)."""
        return _read_only(list(req.success)) and _read_only(list(req.failure))

    # ---------------------------------------------------------------- compaction
    def compact(self, revision: int) -> rpc_pb2.CompactionResponse:
        if revision <= self.compact_revision:
            raise errors.ErrCompacted()
        if revision > self.revision:
            raise errors.ErrFutureRev()
        self.compact_revision = revision
        for key in list(self._keys):
            hist = self._keys[key]
            hist.compact(revision)
            if not hist:
                del self._keys[key]
        cut = bisect.bisect_left(self._event_revs, revision)
        for rev in self._event_revs[:cut]:
            del self._events[rev]
        del self._event_revs[:cut]
        self.watches.on_compact(revision)
        resp = rpc_pb2.CompactionResponse()
        resp.header.revision = self.revision
        return resp

    def events_between(self, start: int, end: int) -> Iterator[tuple[int, list[Change]]]:
        """(revision, events) for start <= revision <= end, from the uncompacted history."""
        revs = self._event_revs
        for i in range(bisect.bisect_left(revs, start), bisect.bisect_right(revs, end)):
            yield revs[i], self._events[revs[i]]

    # ---------------------------------------------------------------- leases
    def lease_grant(self, lease_id: int, ttl_s: int) -> rpc_pb2.LeaseGrantResponse:
        if lease_id in self._leases:
            raise errors.ErrLeaseExist()
        if ttl_s > errors.MAX_LEASE_TTL_S:
            raise errors.ErrLeaseTTLTooLarge()
        self._leases[lease_id] = Lease(ttl_s)
        resp = rpc_pb2.LeaseGrantResponse(ID=lease_id, TTL=ttl_s)
        resp.header.revision = self.revision
        return resp

    def lease_revoke(self, lease_id: int) -> rpc_pb2.LeaseRevokeResponse:
        lease = self._leases.get(lease_id)
        if lease is None:
            raise errors.ErrLeaseNotFound()
        w = self._begin()
        try:
            for key in sorted(lease.keys):
                self._delete(w, rpc_pb2.DeleteRangeRequest(key=key))
        finally:
            rev = self._end()
        del self._leases[lease_id]
        resp = rpc_pb2.LeaseRevokeResponse()
        resp.header.revision = rev
        return resp

    def lease_ids(self) -> list[int]:
        return sorted(self._leases)

    def lease_info(self, lease_id: int) -> tuple[int, list[bytes]]:
        lease = self._leases.get(lease_id)
        if lease is None:
            raise errors.ErrLeaseNotFound()
        return lease.ttl_s, sorted(lease.keys)

    # ---------------------------------------------------------------- snapshots and hashes
    def snapshot(self) -> bytes:
        keys = [(k, [(e.main, e.sub, e.kv.SerializeToString() if e.kv else None) for e in h.entries])
                for k, h in self._keys.items()]
        leases = [(i, lease.ttl_s, sorted(lease.keys)) for i, lease in sorted(self._leases.items())]
        events = [(rev, [c.to_bytes() for c in evs]) for rev, evs in self._events.items()]
        return zlib.compress(pickle.dumps((1, self.revision, self.compact_revision, keys, leases, events), 5))

    @classmethod
    def restore(cls, data: bytes) -> Store:
        fmt, revision, compact_rev, keys, leases, events = pickle.loads(zlib.decompress(data))
        if fmt != 1:
            raise ValueError(f"unknown snapshot format {fmt}")
        store = cls()
        store.revision, store.compact_revision = revision, compact_rev
        for key, entries in keys:
            hist = store._keys[key] = KeyHistory()
            for main, sub, raw in entries:
                hist.append(Entry(main, sub, kv_pb2.KeyValue.FromString(raw) if raw is not None else None))
        for lease_id, ttl, lease_keys in leases:
            store._leases[lease_id] = Lease(ttl, set(lease_keys))
        for rev, evs in sorted(events):
            store._events[rev] = [Change.from_bytes(raw) for raw in evs]
            store._event_revs.append(rev)
        return store

    def hash_kv(self, revision: int = 0) -> tuple[int, int]:
        rev = revision or self.revision
        h = 0
        for key, hist in self._keys.items():
            for e in hist.entries:
                if e.main <= rev:
                    h = zlib.crc32(key + b"%d/%d" % (e.main, e.sub) + (e.kv.value if e.kv else b"\xff"), h)
        return h, self.compact_revision

    def db_size_bytes(self) -> int:
        return 4096 + sum(len(k) + 48 + sum(len(e.kv.value) if e.kv else 0 for e in h.entries)
                          for k, h in self._keys.items())


def _passes_filters(kv: kv_pb2.KeyValue, req: rpc_pb2.RangeRequest) -> bool:
    return not ((req.min_mod_revision and kv.mod_revision < req.min_mod_revision)
                or (req.max_mod_revision and kv.mod_revision > req.max_mod_revision)
                or (req.min_create_revision and kv.create_revision < req.min_create_revision)
                or (req.max_create_revision and kv.create_revision > req.max_create_revision))


def _sort_key(target: int) -> Callable[[kv_pb2.KeyValue], bytes | int]:
    table: dict[int, Callable[[kv_pb2.KeyValue], bytes | int]] = {
            SortTarget.KEY: lambda kv: kv.key, SortTarget.VERSION: lambda kv: kv.version,
            SortTarget.CREATE: lambda kv: kv.create_revision, SortTarget.MOD: lambda kv: kv.mod_revision,
            SortTarget.VALUE: lambda kv: kv.value}
    return table[target]


def _compare_one(kv: kv_pb2.KeyValue, cmp: rpc_pb2.Compare) -> bool:
    target = cmp.target
    if target == Compare.VALUE:
        left: bytes | int = kv.value
        right: bytes | int = cmp.value
    else:
        field_name = {Compare.VERSION: "version", Compare.CREATE: "create_revision", Compare.MOD: "mod_revision",
                      Compare.LEASE: "lease"}[target]
        left, right = getattr(kv, field_name), getattr(cmp, field_name)
    result = cmp.result
    if result == Compare.EQUAL:
        return left == right
    if result == Compare.NOT_EQUAL:
        return left != right
    if result == Compare.GREATER:
        return left > right  # type: ignore[operator]
    return left < right  # type: ignore[operator]


def _read_only(ops: list[rpc_pb2.RequestOp]) -> bool:
    for op in ops:
        kind = op.WhichOneof("request")
        if kind in ("request_put", "request_delete_range"):
            return False
        if kind == "request_txn" and not (_read_only(list(op.request_txn.success))
                                          and _read_only(list(op.request_txn.failure))):
            return False
    return True


def _intervals(ops: list[rpc_pb2.RequestOp]) -> tuple[list[KeyRange], set[bytes]]:
    """etcd's checkIntervals: the delete ranges and put keys of one branch; a key put twice, or put and deleted,
    in the same branch (nested txns included) is a duplicate."""
    dels: list[KeyRange] = []
    puts: set[bytes] = set()
    for op in ops:
        kind = op.WhichOneof("request")
        if kind == "request_put":
            if op.request_put.key in puts:
                raise errors.ErrDuplicateKey()
            puts.add(op.request_put.key)
        elif kind == "request_delete_range":
            dels.append(key_range(op.request_delete_range.key, op.request_delete_range.range_end))
        elif kind == "request_txn":
            for branch in (op.request_txn.success, op.request_txn.failure):
                sub_dels, sub_puts = _intervals(list(branch))
                if puts & sub_puts:
                    raise errors.ErrDuplicateKey()
                dels.extend(sub_dels)
                puts |= sub_puts
    for kr in dels:
        if any(kr.contains(k) for k in puts):
            raise errors.ErrDuplicateKey()
    return dels, puts


def _check_intervals(ops: list[rpc_pb2.RequestOp]) -> None:
    _intervals(ops)


def _set_header_revision(resp: rpc_pb2.TxnResponse, rev: int) -> None:
    resp.header.revision = rev
    for r in resp.responses:
        kind = r.WhichOneof("response")
        if kind == "response_txn":
            _set_header_revision(r.response_txn, rev)
        elif kind is not None:
            getattr(r, kind).header.revision = rev


__all__ = ["Event", "Store", "overlaps"]
