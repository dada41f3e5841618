"""Differential test of the pure MVCC store against the reference: the same seeded random operations go to a real
etcd 3.4 member (over gRPC) and to etcd_raft.mvcc.Store; every response (minus the header's member identity and
raft term) and every error (gRPC code + message) must be identical."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message

from etcd_raft.mvcc import EtcdError, Store
from etcd_raft.pb import rpc_pb2 as r
from etcd_raft.pb import rpc_pb2_grpc
from tests.support.procs import ProcessGroup
from tests.support.real_etcd import start_real_etcd

pytestmark = pytest.mark.integration

KEYS = [b"a", b"a/1", b"a/2", b"b", b"b/x", b"c"]


def _strip(msg: Message) -> Message:
    out = type(msg)()
    out.CopyFrom(msg)
    if out.HasField("header"):                          # type: ignore[attr-defined]
        out.header.cluster_id = out.header.member_id = out.header.raft_term = 0   # type: ignore[attr-defined]
    return out


def _random_range(rng: random.Random, rev: int) -> r.RangeRequest:
    key = rng.choice(KEYS)
    req = r.RangeRequest(key=key)
    shape = rng.random()
    if shape < 0.3:
        req.range_end = key[:-1] + bytes([key[-1] + 1])        # prefix
    elif shape < 0.5:
        req.range_end = b"\0"
    if rng.random() < 0.3:
        req.limit = rng.randint(1, 3)
    if rng.random() < 0.3:
        req.revision = rng.randint(1, rev + 2)                 # sometimes compacted or future
    if rng.random() < 0.2:
        req.sort_order = rng.choice([1, 2])
        req.sort_target = rng.choice([0, 1, 2, 3, 4])
    req.keys_only = rng.random() < 0.1
    req.count_only = rng.random() < 0.1
    if rng.random() < 0.1:
        req.min_mod_revision = rng.randint(1, rev)
    return req


def _random_op(rng: random.Random, rev: int) -> tuple[str, Message]:
    roll = rng.random()
    if roll < 0.35:
        return "Put", r.PutRequest(key=rng.choice(KEYS), value=b"%d" % rng.randint(0, 9), prev_kv=rng.random() < 0.5,
                                   ignore_value=rng.random() < 0.05)
    if roll < 0.45:
        key = rng.choice(KEYS)
        end = rng.choice([b"", b"\0", key + b"0"])
        return "DeleteRange", r.DeleteRangeRequest(key=key, range_end=end, prev_kv=rng.random() < 0.5)
    if roll < 0.75:
        return "Range", _random_range(rng, rev)
    if roll < 0.97:
        key = rng.choice(KEYS)
        target = rng.choice([r.Compare.VERSION, r.Compare.CREATE, r.Compare.MOD, r.Compare.VALUE])
        cmp = r.Compare(key=key, target=target, result=rng.choice([0, 1, 2, 3]))
        if target == r.Compare.VALUE:
            cmp.value = b"%d" % rng.randint(0, 9)
        else:
            setattr(cmp, {0: "version", 1: "create_revision", 2: "mod_revision"}[target], rng.randint(0, rev))
        ops = [r.RequestOp(request_put=r.PutRequest(key=rng.choice(KEYS), value=b"t")),
               r.RequestOp(request_range=r.RangeRequest(key=key))]
        if rng.random() < 0.2:
            ops.append(r.RequestOp(request_put=r.PutRequest(key=ops[0].request_put.key)))   # duplicate key
        return "Txn", r.TxnRequest(compare=[cmp], success=ops, failure=[r.RequestOp(
            request_delete_range=r.DeleteRangeRequest(key=rng.choice(KEYS)))])
    return "Compact", r.CompactionRequest(revision=max(1, rev - rng.randint(0, 5)))


def _ours(store: Store, method: str) -> Callable[[Message], Message]:
    return {"Put": store.put, "DeleteRange": store.delete_range, "Range": store.range, "Txn": store.txn,
            "Compact": lambda req: store.compact(req.revision)}[method]  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_match_real_etcd(procs: ProcessGroup, tmp_path: Path, seed: int) -> None:
    [member] = start_real_etcd(procs, tmp_path / "etcd", size=1, prefix=f"diff{seed}-")
    kv = rpc_pb2_grpc.KVStub(grpc.insecure_channel(member.client_url.removeprefix("http://")))
    store, rng = Store(), random.Random(seed)
    for step in range(400):
        method, req = _random_op(rng, store.revision)
        try:
            theirs: Message | tuple[str, str] = _strip(getattr(kv, method)(req, timeout=5))
        except grpc.RpcError as exc:
            theirs = (exc.code().name, exc.details() or "")
        try:
            ours: Message | tuple[str, str] = _strip(_ours(store, method)(req))
        except EtcdError as exc:
            ours = (exc.code, exc.message)
        assert ours == theirs, f"step {step} {method}({req})"
