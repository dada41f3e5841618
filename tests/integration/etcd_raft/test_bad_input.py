"""Bad input gets etcd's own error (gRPC code and message), the same from etcd_raft as from real etcd 3.4."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from etcd_raft.pb import rpc_pb2 as r
from etcd_raft.pb import rpc_pb2_grpc
from tests.support.real_etcd import EtcdMember

pytestmark = pytest.mark.integration

Stubs = tuple[rpc_pb2_grpc.KVStub, rpc_pb2_grpc.LeaseStub]

CASES: list[tuple[str, Callable[[Stubs], object]]] = [
    ("empty key", lambda s: s[0].Put(r.PutRequest(key=b"", value=b"v"), timeout=5)),
    ("empty delete key", lambda s: s[0].DeleteRange(r.DeleteRangeRequest(key=b""), timeout=5)),
    ("request too large", lambda s: s[0].Put(r.PutRequest(key=b"big", value=b"x" * 1_600_000), timeout=10)),
    ("too many txn ops", lambda s: s[0].Txn(r.TxnRequest(success=[
        r.RequestOp(request_put=r.PutRequest(key=b"t%d" % i)) for i in range(200)]), timeout=5)),
    ("duplicate txn keys", lambda s: s[0].Txn(r.TxnRequest(success=[
        r.RequestOp(request_put=r.PutRequest(key=b"d")), r.RequestOp(request_put=r.PutRequest(key=b"d"))]),
        timeout=5)),
    ("unknown lease on put", lambda s: s[0].Put(r.PutRequest(key=b"k", lease=12345), timeout=5)),
    ("ignore_value on a missing key", lambda s: s[0].Put(r.PutRequest(key=b"nope", ignore_value=True), timeout=5)),
    ("future revision", lambda s: s[0].Range(r.RangeRequest(key=b"k", revision=10_000), timeout=5)),
    ("compact a future revision", lambda s: s[0].Compact(r.CompactionRequest(revision=10_000), timeout=5)),
    ("revoke an unknown lease", lambda s: s[1].LeaseRevoke(r.LeaseRevokeRequest(ID=999), timeout=5)),
]


def _error(members: list[EtcdMember], call: Callable[[Stubs], object]) -> tuple[str, str]:
    with grpc.insecure_channel(f"127.0.0.1:{members[0].client_port}",
                               options=[("grpc.max_send_message_length", 8 * 1024 * 1024)]) as ch:
        try:
            call((rpc_pb2_grpc.KVStub(ch), rpc_pb2_grpc.LeaseStub(ch)))
        except grpc.RpcError as exc:
            return exc.code().name, exc.details() or ""
    return "OK", ""


def test_errors_match_real_etcd(real_etcd: list[EtcdMember], raft_etcd: list[EtcdMember]) -> None:
    for name, call in CASES:
        theirs, ours = _error(real_etcd, call), _error(raft_etcd, call)
        assert theirs[0] != "OK", name
        assert ours == theirs, name


def test_messages_over_the_grpc_limit_are_refused_by_grpc(real_etcd: list[EtcdMember],
                                                         raft_etcd: list[EtcdMember]) -> None:
    def call(s: Stubs) -> object:
        return s[0].Put(r.PutRequest(key=b"huge", value=b"x" * (2 * 1024 * 1024)), timeout=10)

    # gRPC's own wording differs between Go and C-core; the code and the limit are the same
    assert _error(real_etcd, call)[0] == _error(raft_etcd, call)[0] == "RESOURCE_EXHAUSTED"
    assert "2097152" in _error(raft_etcd, call)[1]
