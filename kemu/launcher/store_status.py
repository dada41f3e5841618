"""What `kemu status` shows about a running cluster's store: each member's view via Maintenance.Status
(the same RPC `etcdctl endpoint status` uses). Talks etcd's protocol, so it works on etcd_raft and real etcd."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from etcd_raft.pb import rpc_pb2, rpc_pb2_grpc


@dataclass(frozen=True)
class MemberStatus:
    endpoint: str
    member_id: int = 0
    leader_id: int = 0
    term: int = 0
    commit_index: int = 0
    applied_index: int = 0
    revision: int = 0
    db_size: int = 0
    version: str = ""
    error: str = ""

    @property
    def is_leader(self) -> bool:
        return not self.error and self.member_id != 0 and self.member_id == self.leader_id


def member_status(endpoint: str, timeout_s: float = 1.0) -> MemberStatus:
    target = endpoint.removeprefix("http://").removeprefix("https://")
    with grpc.insecure_channel(target) as channel:
        try:
            st = rpc_pb2_grpc.MaintenanceStub(channel).Status(rpc_pb2.StatusRequest(), timeout=timeout_s)
        except grpc.RpcError as exc:
            return MemberStatus(endpoint, error=f"{exc.code().name}: {exc.details()}")
    return MemberStatus(endpoint, st.header.member_id, st.leader, st.raftTerm, st.raftIndex, st.raftAppliedIndex,
                        st.header.revision, st.dbSize, st.version)


def table(rows: list[MemberStatus]) -> str:
    head = f"  {'ENDPOINT':<28} {'ID':>16} {'LEADER':>6} {'TERM':>5} {'COMMIT':>7} {'APPLIED':>7} {'REV':>6} VERSION"
    lines = [head]
    for r in rows:
        if r.error:
            lines.append(f"  {r.endpoint:<28} {'-':>16} {'-':>6} {'-':>5} {'-':>7} {'-':>7} {'-':>6} {r.error}")
        else:
            lines.append(f"  {r.endpoint:<28} {r.member_id:>16x} {'*' if r.is_leader else '':>6} {r.term:>5} "
                         f"{r.commit_index:>7} {r.applied_index:>7} {r.revision:>6} {r.version}")
    return "\n".join(lines)
