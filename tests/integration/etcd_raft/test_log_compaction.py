"""Raft log compaction through snapshots, and a member that was down catching up (from the log or a snapshot)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import grpc
import pytest

from etcd_raft.pb import rpc_pb2, rpc_pb2_grpc
from tests.support.etcd_raft_cluster import start_etcd_raft
from tests.support.procs import ProcessGroup, port_open, wait_for
from tests.support.real_etcd import ETCDCTL

pytestmark = pytest.mark.integration


def _kv(port: int) -> rpc_pb2_grpc.KVStub:
    return rpc_pb2_grpc.KVStub(grpc.insecure_channel(f"127.0.0.1:{port}"))


def test_snapshots_bound_the_log_and_a_lagging_member_catches_up(procs: ProcessGroup, tmp_path: Path) -> None:
    members = start_etcd_raft(procs, tmp_path / "d", extra_args=("--snapshot-count", "100"))
    lagging = members[2]
    procs.kill(lagging.name)
    writer = _kv(members[0].client_port)
    for i in range(600):
        writer.Put(rpc_pb2.PutRequest(key=b"k%04d" % i, value=b"v%d" % i), timeout=10)
    latest = writer.Range(rpc_pb2.RangeRequest(key=b"k0599"), timeout=10).header.revision
    raft_dir = tmp_path / "d" / members[0].name / "raft"
    assert (raft_dir / "raft.snapshot").exists()
    journal_entries = raft_dir / "raft.journal"
    assert journal_entries.stat().st_size < 600 * 200          # compacted: far less than every entry kept

    procs.restart(lagging.name)
    wait_for(lambda: port_open(lagging.client_port), timeout_s=30, what="restarted member")
    behind = _kv(lagging.client_port)
    wait_for(lambda: behind.Range(rpc_pb2.RangeRequest(key=b"k0599", serializable=True), timeout=2).kvs != [],
             timeout_s=30, what="catch-up")
    resp = behind.Range(rpc_pb2.RangeRequest(key=b"k", range_end=b"l", serializable=True, count_only=True), timeout=5)
    assert resp.count == 600 and resp.header.revision >= latest
    hashes = {_kv(m.client_port).Range(rpc_pb2.RangeRequest(key=b"k", range_end=b"l"), timeout=5).header.revision
              for m in members}
    assert len(hashes) == 1
    status = subprocess.run([ETCDCTL, f"--endpoints={','.join(f'127.0.0.1:{m.client_port}' for m in members)}",
                             "endpoint", "hashkv", "-w", "json"], capture_output=True, text=True, timeout=30,
                            env={"ETCDCTL_API": "3"})
    assert status.returncode == 0, status.stderr
    assert len({h["HashKV"]["hash"] for h in json.loads(status.stdout)}) == 1     # identical state everywhere
