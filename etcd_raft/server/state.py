"""The replicated state machine of a member: the MVCC store plus cluster membership and alarms (deterministic).

apply(command) decodes one Proposal and returns the response message, or the EtcdError it raised (as a value:
an invalid request is a normal, replicated outcome). Callers hold `lock` around apply and around every read.
"""

from __future__ import annotations

import pickle
import threading
import zlib

from google.protobuf.message import Message

from etcd_raft.mvcc import EtcdError, Store
from etcd_raft.pb import internal_pb2, rpc_pb2

MemberInfo = internal_pb2.MemberInfo


class MemberState:
    def __init__(self, initial_members: list[MemberInfo]) -> None:
        self.lock = threading.RLock()
        self.store = Store()
        self.members: dict[int, MemberInfo] = {m.id: m for m in initial_members}
        self.alarms: set[tuple[int, int]] = set()        # (member id, alarm type)

    def apply_proposal(self, proposal: internal_pb2.Proposal, kind: str | None) -> Message | EtcdError:
        """Apply one decoded proposal (kind: its WhichOneof("request"), which the caller has read already)."""
        with self.lock:
            try:
                return self._apply(kind, proposal)
            except EtcdError as exc:
                return exc

    def _apply(self, kind: str | None, p: internal_pb2.Proposal) -> Message:
        store = self.store
        if kind == "put":             # the most frequent command, first
            return store.put(p.put)
        if kind == "delete_range":
            return store.delete_range(p.delete_range)
        if kind == "txn":
            return store.txn(p.txn)
        if kind == "compaction":
            return store.compact(p.compaction.revision)
        if kind == "lease_grant":
            return store.lease_grant(p.lease_grant.ID, p.lease_grant.TTL)
        if kind == "lease_revoke":
            return store.lease_revoke(p.lease_revoke.ID)
        if kind == "member":
            return self._member_change(p.member)
        if kind == "alarm":
            return self._alarm(p.alarm)
        raise ValueError(f"unknown proposal {kind!r}")

    def _member_change(self, change: internal_pb2.MemberChange) -> Message:
        m = change.member
        if change.op == internal_pb2.MemberChange.ADD:
            self.members[m.id] = m
        elif change.op == internal_pb2.MemberChange.REMOVE:
            self.members.pop(m.id, None)
        elif m.id in self.members:                      # PUBLISH: name and client URLs of a started member
            known = self.members[m.id]
            known.name = m.name
            del known.client_urls[:]
            known.client_urls.extend(m.client_urls)
        return rpc_pb2.MemberListResponse(members=[_to_member(x) for x in self.member_list()])

    def _alarm(self, req: rpc_pb2.AlarmRequest) -> Message:
        key = (req.memberID, int(req.alarm))
        if req.action == rpc_pb2.AlarmRequest.ACTIVATE and req.alarm != rpc_pb2.NONE:
            self.alarms.add(key)
        elif req.action == rpc_pb2.AlarmRequest.DEACTIVATE:
            self.alarms.discard(key)
        return self.alarm_response()

    def alarm_response(self) -> rpc_pb2.AlarmResponse:
        return rpc_pb2.AlarmResponse(alarms=[rpc_pb2.AlarmMember(memberID=m, alarm=a)  # type: ignore[arg-type]
                                             for m, a in sorted(self.alarms)])

    def member_list(self) -> list[MemberInfo]:
        return [self.members[i] for i in sorted(self.members)]

    def snapshot(self) -> bytes:
        with self.lock:
            members = [m.SerializeToString() for m in self.member_list()]
            return zlib.compress(pickle.dumps((1, self.store.snapshot(), members, sorted(self.alarms)), 5))

    def restore(self, data: bytes) -> None:
        fmt, store, members, alarms = pickle.loads(zlib.decompress(data))
        if fmt != 1:
            raise ValueError(f"unknown snapshot format {fmt}")
        with self.lock:
            restored = Store.restore(store)
            restored.watches = self.store.watches        # live watchers keep watching the restored store
            restored.watches.store = restored
            self.store = restored
            self.members = {m.id: m for m in (MemberInfo.FromString(raw) for raw in members)}
            self.alarms = {tuple(a) for a in alarms}  # type: ignore[misc]


def _to_member(m: MemberInfo) -> rpc_pb2.Member:
    return rpc_pb2.Member(ID=m.id, name=m.name, peerURLs=list(m.peer_urls), clientURLs=list(m.client_urls))


to_member = _to_member
