from __future__ import annotations

import pytest

from etcd_raft.mvcc import Store, errors
from etcd_raft.pb import kv_pb2
from etcd_raft.pb import rpc_pb2 as r

pytestmark = pytest.mark.unit


def put(s: Store, key: bytes, value: bytes = b"v", **kw: object) -> r.PutResponse:
    return s.put(r.PutRequest(key=key, value=value, **kw))  # type: ignore[arg-type]


def get(s: Store, key: bytes, end: bytes = b"", **kw: object) -> r.RangeResponse:
    return s.range(r.RangeRequest(key=key, range_end=end, **kw))  # type: ignore[arg-type]


def test_revisions_and_generations() -> None:
    s = Store()
    assert s.revision == 1
    assert put(s, b"k").header.revision == 2
    put(s, b"k", b"v2")
    kv = get(s, b"k").kvs[0]
    assert (kv.create_revision, kv.mod_revision, kv.version, kv.value) == (2, 3, 2, b"v2")
    s.delete_range(r.DeleteRangeRequest(key=b"k"))
    put(s, b"k", b"v3")
    kv = get(s, b"k").kvs[0]
    assert (kv.create_revision, kv.mod_revision, kv.version) == (5, 5, 1)
    assert get(s, b"k", revision=3).kvs[0].value == b"v2"
    assert not get(s, b"k", revision=4).kvs
    assert s.delete_range(r.DeleteRangeRequest(key=b"nothing")).header.revision == 5   # no change, no bump


@pytest.mark.parametrize(("req", "keys", "more", "count"), [
    (r.RangeRequest(key=b"a", range_end=b"c"), [b"a", b"b"], False, 2),
    (r.RangeRequest(key=b"a", range_end=b"\0", limit=2), [b"a", b"b"], True, 3),
    (r.RangeRequest(key=b"\0", range_end=b"\0"), [b"a", b"b", b"c"], False, 3),
    (r.RangeRequest(key=b"a", range_end=b"\0", sort_order=r.RangeRequest.DESCEND), [b"c", b"b", b"a"], False, 3),
    (r.RangeRequest(key=b"a", range_end=b"\0", sort_target=r.RangeRequest.MOD), [b"a", b"b", b"c"], False, 3),
    (r.RangeRequest(key=b"a", range_end=b"\0", min_mod_revision=3), [b"b", b"c"], False, 3),
    (r.RangeRequest(key=b"a", range_end=b"\0", count_only=True), [], False, 3),
])
def test_range_options(req: r.RangeRequest, keys: list[bytes], more: bool, count: int) -> None:
    s = Store()
    for k in (b"a", b"b", b"c"):
        put(s, k, k * 2)
    resp = s.range(req)
    assert [kv.key for kv in resp.kvs] == keys and resp.more == more and resp.count == count


def test_keys_only_and_future_and_compacted_reads() -> None:
    s = Store()
    put(s, b"a", b"x")
    put(s, b"a", b"y")
    assert get(s, b"a", keys_only=True).kvs[0].value == b""
    with pytest.raises(errors.ErrFutureRev):
        get(s, b"a", revision=99)
    s.compact(3)
    assert get(s, b"a", revision=3).kvs[0].value == b"y"     # the compaction revision itself stays readable
    with pytest.raises(errors.ErrCompacted):
        get(s, b"a", revision=2)
    with pytest.raises(errors.ErrCompacted):
        s.compact(3)
    with pytest.raises(errors.ErrFutureRev):
        s.compact(10)


@pytest.mark.parametrize(("kw", "err"), [
    ({"ignore_value": True}, errors.ErrKeyNotFound),
    ({"ignore_lease": True}, errors.ErrKeyNotFound),
    ({"lease": 7}, errors.ErrLeaseNotFound),
])
def test_put_errors_change_nothing(kw: dict[str, object], err: type[errors.EtcdError]) -> None:
    s = Store()
    with pytest.raises(err):
        put(s, b"missing", b"" if "ignore_value" in kw else b"v", **kw)
    assert s.revision == 1


def test_put_prev_kv_and_ignore_value() -> None:
    s = Store()
    put(s, b"k", b"old")
    resp = put(s, b"k", b"", ignore_value=True, prev_kv=True)
    assert resp.prev_kv.value == b"old" and get(s, b"k").kvs[0].value == b"old"


def _cmp(key: bytes, target: int, result: int, **value: object) -> r.Compare:
    return r.Compare(key=key, target=target, result=result, **value)  # type: ignore[arg-type]


def test_txn_compare_missing_keys_nested_and_one_revision() -> None:
    s = Store()
    create = r.TxnRequest(compare=[_cmp(b"k", r.Compare.CREATE, r.Compare.EQUAL, create_revision=0)],
                          success=[r.RequestOp(request_put=r.PutRequest(key=b"k", value=b"1")),
                                   r.RequestOp(request_put=r.PutRequest(key=b"j", value=b"2")),
                                   r.RequestOp(request_range=r.RangeRequest(key=b"k"))],
                          failure=[r.RequestOp(request_range=r.RangeRequest(key=b"k"))])
    first = s.txn(create)
    assert first.succeeded and first.header.revision == 2
    assert first.responses[2].response_range.kvs[0].value == b"1"        # reads see the txn's own writes
    second = s.txn(create)
    assert not second.succeeded and s.revision == 2                       # read-only branch: no bump
    assert not s.txn(r.TxnRequest(compare=[_cmp(b"x", r.Compare.VALUE, r.Compare.EQUAL, value=b"")])).succeeded
    nested = r.TxnRequest(success=[r.RequestOp(request_txn=r.TxnRequest(
        compare=[_cmp(b"k", r.Compare.MOD, r.Compare.EQUAL, mod_revision=2)],
        success=[r.RequestOp(request_delete_range=r.DeleteRangeRequest(key=b"k"))]))])
    assert s.txn(nested).responses[0].response_txn.succeeded and s.revision == 3


def test_txn_duplicate_keys() -> None:
    s = Store()
    dup = r.TxnRequest(success=[r.RequestOp(request_put=r.PutRequest(key=b"a")),
                                r.RequestOp(request_delete_range=r.DeleteRangeRequest(key=b"a", range_end=b"b"))])
    with pytest.raises(errors.ErrDuplicateKey):
        s.txn(dup)
    assert s.revision == 1


def test_leases_attach_detach_revoke() -> None:
    s = Store()
    s.lease_grant(5, 10)
    with pytest.raises(errors.ErrLeaseExist):
        s.lease_grant(5, 10)
    put(s, b"a", lease=5)
    put(s, b"b", lease=5)
    put(s, b"b")                                   # re-put without the lease detaches it
    assert s.lease_info(5) == (10, [b"a"])
    rev = s.lease_revoke(5).header.revision
    assert rev == s.revision and not get(s, b"a").kvs and get(s, b"b").kvs
    with pytest.raises(errors.ErrLeaseNotFound):
        s.lease_info(5)


def test_snapshot_round_trip_keeps_history_and_hash() -> None:
    s = Store()
    s.lease_grant(1, 30)
    for i in range(20):
        put(s, b"k%d" % (i % 5), b"%d" % i, lease=1 if i % 2 else 0)
    s.compact(10)
    t = Store.restore(s.snapshot())
    assert (t.revision, t.compact_revision, t.hash_kv(), t.lease_ids()) == (
        s.revision, s.compact_revision, s.hash_kv(), s.lease_ids())
    assert t.range(r.RangeRequest(key=b"k0", revision=15)) == s.range(r.RangeRequest(key=b"k0", revision=15))


def test_watch_history_live_filters_and_slow_watcher() -> None:
    s = Store()
    s.watches.buffer_revisions = 3
    put(s, b"w1", b"a")
    past = s.watches.create(b"w", b"x", start_revision=2, prev_kv=True)
    live = s.watches.create(b"w", b"x", filters=[0])              # NOPUT
    for i in range(10):
        put(s, b"w%d" % i, b"b")
    s.delete_range(r.DeleteRangeRequest(key=b"w1"))
    got = []
    while past.has_pending:
        got += past.drain(max_revisions=4)
    assert [rev for rev, _ in got] == list(range(2, 14))         # no gaps, no duplicates, across overflow
    assert got[-1][1][0].type == kv_pb2.Event.DELETE and got[-1][1][0].prev_kv.value == b"b"
    assert [(rev, [e.type for e in evs]) for rev, evs in live.drain()] == [(13, [kv_pb2.Event.DELETE])]


def test_watch_from_compacted_revision_is_canceled() -> None:
    s = Store()
    for i in range(5):
        put(s, b"k", b"%d" % i)
    s.compact(4)
    w = s.watches.create(b"k", start_revision=2)
    assert w.canceled and w.compact_revision == 4
    slow = s.watches.create(b"k", start_revision=4)
    assert [rev for rev, _ in slow.drain()] == [4, 5, 6]
