"""The etcd v3 gRPC services of a member (KV, Watch, Lease, Cluster, Maintenance) over Member.

Every handler turns RpcFailure into the gRPC status etcd would send; anything else unexpected is a bug and becomes
INTERNAL with a short message (never a traceback to the client).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from etcd_raft.mvcc import EtcdError
from etcd_raft.mvcc.watch import Watcher
from etcd_raft.pb import internal_pb2, rpc_pb2, rpc_pb2_grpc
from etcd_raft.raftlog import ProposalTimeout
from etcd_raft.server import snapshot_file
from etcd_raft.server.ids import host_port
from etcd_raft.server.member import VERSION, Member, MemberInfo, RpcFailure
from etcd_raft.server.state import to_member

log = logging.getLogger("etcd_raft.rpc")
T = TypeVar("T")
SNAPSHOT_CHUNK = 32 * 1024


def rpc(handler: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            return await handler(self, request, context)
        except RpcFailure as exc:
            await context.abort(exc.code, exc.message)
        except EtcdError as exc:
            await context.abort(getattr(grpc.StatusCode, exc.code), exc.message)
        except (ValueError, TypeError) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"etcdserver: {exc}")
        raise AssertionError("unreachable")  # context.abort raises

    return wrapper


class KV(rpc_pb2_grpc.KVServicer):
    def __init__(self, member: Member) -> None:
        self.m = member

    @rpc
    async def Range(self, request: rpc_pb2.RangeRequest, context: Any) -> rpc_pb2.RangeResponse:
        if not request.serializable:
            await self.m.barrier()
        resp = self.m.read(lambda: self.m.state.store.range(request))
        self.m.stamp(resp)
        return resp  # type: ignore[return-value]

    async def _write(self, proposal: internal_pb2.Proposal, empty: Any) -> Any:
        resp = await self.m.propose(proposal)
        if resp is None:                       # test-only unsafe ack: nothing applied yet
            resp = empty
        self.m.stamp(resp)
        return resp

    @rpc
    async def Put(self, request: rpc_pb2.PutRequest, context: Any) -> rpc_pb2.PutResponse:
        return await self._write(internal_pb2.Proposal(put=request), rpc_pb2.PutResponse())  # type: ignore[no-any-return]

    @rpc
    async def DeleteRange(self, request: rpc_pb2.DeleteRangeRequest, context: Any) -> rpc_pb2.DeleteRangeResponse:
        return await self._write(internal_pb2.Proposal(delete_range=request),  # type: ignore[no-any-return]
                                 rpc_pb2.DeleteRangeResponse())

    @rpc
    async def Txn(self, request: rpc_pb2.TxnRequest, context: Any) -> rpc_pb2.TxnResponse:
        if self.m.state.store.read_only_txn(request):
            await self.m.barrier()
            resp = self.m.read(lambda: self.m.state.store.txn(request))
            self.m.stamp(resp)
            return resp  # type: ignore[return-value]
        return await self._write(internal_pb2.Proposal(txn=request), rpc_pb2.TxnResponse())  # type: ignore[no-any-return]

    @rpc
    async def Compact(self, request: rpc_pb2.CompactionRequest, context: Any) -> rpc_pb2.CompactionResponse:
        return await self._write(internal_pb2.Proposal(compaction=request),  # type: ignore[no-any-return]
                                 rpc_pb2.CompactionResponse())


class Watch(rpc_pb2_grpc.WatchServicer):
    def __init__(self, member: Member) -> None:
        self.m = member

    async def Watch(self, request_iterator: AsyncIterator[rpc_pb2.WatchRequest],
                    context: grpc.aio.ServicerContext) -> AsyncIterator[rpc_pb2.WatchResponse]:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        out: asyncio.Queue[rpc_pb2.WatchResponse] = asyncio.Queue()
        watchers: dict[int, Watcher] = {}
        next_id = 0
        reader_done = asyncio.Event()

        def ready() -> None:
            loop.call_soon_threadsafe(wake.set)

        async def read_requests() -> None:
            nonlocal next_id
            try:
                async for req in request_iterator:
                    kind = req.WhichOneof("request_union")
                    if kind == "create_request":
                        c = req.create_request
                        wid = c.watch_id if c.watch_id else next_id
                        if wid in watchers:
                            await out.put(rpc_pb2.WatchResponse(header=self.m.header(), watch_id=wid, created=True,
                                                                canceled=True,
                                                                cancel_reason="etcdserver: duplicate watch ID"))
                            continue
                        next_id = max(next_id, wid + 1)
                        with self.m.state.lock:
                            w = self.m.state.store.watches.create(c.key, c.range_end, c.start_revision, c.prev_kv,
                                                                  list(c.filters), c.progress_notify)
                        w.on_ready = ready
                        watchers[wid] = w
                        await out.put(rpc_pb2.WatchResponse(header=self.m.header(), watch_id=wid, created=True))
                        wake.set()
                    elif kind == "cancel_request":
                        wid = req.cancel_request.watch_id
                        gone = watchers.pop(wid, None)
                        if gone is not None:
                            with self.m.state.lock:
                                gone.cancel()
                        await out.put(rpc_pb2.WatchResponse(header=self.m.header(), watch_id=wid, canceled=True))
                    elif kind == "progress_request":
                        await out.put(rpc_pb2.WatchResponse(header=self.m.header(), watch_id=-1))
            finally:
                reader_done.set()
                wake.set()

        async def pump() -> None:
            last_sent = loop.time()
            while not reader_done.is_set() or any(w.has_pending for w in watchers.values()):
                try:
                    await asyncio.wait_for(wake.wait(), 1.0)
                except TimeoutError:
                    pass
                wake.clear()
                sent = False
                for wid, w in list(watchers.items()):
                    with self.m.state.lock:
                        batches = w.drain(256)
                        compacted = w.canceled and w.compact_revision > 0
                    if batches:      # like etcd: what is ready goes out together (a catch-up is one response)
                        events = [e for _, evs in batches for e in evs]
                        await out.put(rpc_pb2.WatchResponse(header=self.m.header(batches[-1][0]), watch_id=wid,
                                                            events=events))
                        sent = True
                    if compacted:
                        watchers.pop(wid, None)
                        await out.put(rpc_pb2.WatchResponse(
                            header=self.m.header(), watch_id=wid, canceled=True, compact_revision=w.compact_revision,
                            cancel_reason="etcdserver: mvcc: required revision has been compacted"))
                    elif w.has_pending:
                        wake.set()
                now = loop.time()
                if sent:
                    last_sent = now
                elif now - last_sent >= self.m.cfg.progress_notify_interval_s:
                    last_sent = now
                    for wid, w in watchers.items():
                        if w.progress_notify:
                            await out.put(rpc_pb2.WatchResponse(header=self.m.header(), watch_id=wid))
                if reader_done.is_set() and not any(w.has_pending for w in watchers.values()):
                    break
            await out.put(None)  # type: ignore[arg-type]

        tasks = [asyncio.ensure_future(read_requests()), asyncio.ensure_future(pump())]
        try:
            while True:
                resp = await out.get()
                if resp is None:
                    break
                yield resp
        finally:
            for t in tasks:
                t.cancel()
            with self.m.state.lock:
                for w in watchers.values():
                    w.cancel()


class Lease(rpc_pb2_grpc.LeaseServicer):
    def __init__(self, member: Member) -> None:
        self.m = member

    @rpc
    async def LeaseGrant(self, request: rpc_pb2.LeaseGrantRequest, context: Any) -> rpc_pb2.LeaseGrantResponse:
        grant = rpc_pb2.LeaseGrantRequest(ID=request.ID or self.m.new_lease_id(),
                                          TTL=max(request.TTL, self.m.min_ttl_s))
        resp = await self.m.propose(internal_pb2.Proposal(lease_grant=grant))
        if resp is None:
            resp = rpc_pb2.LeaseGrantResponse(ID=grant.ID, TTL=grant.TTL)
        self.m.stamp(resp)
        return resp  # type: ignore[return-value]

    @rpc
    async def LeaseRevoke(self, request: rpc_pb2.LeaseRevokeRequest, context: Any) -> rpc_pb2.LeaseRevokeResponse:
        resp = await self.m.propose(internal_pb2.Proposal(lease_revoke=request)) or rpc_pb2.LeaseRevokeResponse()
        self.m.stamp(resp)
        return resp  # type: ignore[return-value]

    async def _keep_alive_once(self, lease_id: int) -> rpc_pb2.LeaseKeepAliveResponse:
        if not self.m.raft.status().is_leader:
            stub = await self.m.leader_stub()
            if stub is None:
                raise RpcFailure(grpc.StatusCode.UNAVAILABLE, "etcdserver: no leader")

            async def one() -> AsyncIterator[rpc_pb2.LeaseKeepAliveRequest]:
                yield rpc_pb2.LeaseKeepAliveRequest(ID=lease_id)

            async for resp in stub.LeaseKeepAlive(one(), timeout=5):
                return resp  # type: ignore[no-any-return]
            raise RpcFailure(grpc.StatusCode.UNAVAILABLE, "etcdserver: no leader")
        with self.m.state.lock:
            try:
                ttl, _ = self.m.state.store.lease_info(lease_id)
            except EtcdError:
                return rpc_pb2.LeaseKeepAliveResponse(header=self.m.header(), ID=lease_id, TTL=0)
        self.m.leases.keep_alive(lease_id, ttl)
        return rpc_pb2.LeaseKeepAliveResponse(header=self.m.header(), ID=lease_id, TTL=ttl)

    async def LeaseKeepAlive(self, request_iterator: AsyncIterator[rpc_pb2.LeaseKeepAliveRequest],
                             context: grpc.aio.ServicerContext) -> AsyncIterator[rpc_pb2.LeaseKeepAliveResponse]:
        async for req in request_iterator:
            try:
                yield await self._keep_alive_once(req.ID)
            except RpcFailure as exc:
                await context.abort(exc.code, exc.message)

    @rpc
    async def LeaseTimeToLive(self, request: rpc_pb2.LeaseTimeToLiveRequest,
                              context: Any) -> rpc_pb2.LeaseTimeToLiveResponse:
        if not self.m.raft.status().is_leader and (stub := await self.m.leader_stub()) is not None:
            return await stub.LeaseTimeToLive(request, timeout=5)  # type: ignore[no-any-return]
        with self.m.state.lock:
            try:
                granted, keys = self.m.state.store.lease_info(request.ID)
            except EtcdError:
                return rpc_pb2.LeaseTimeToLiveResponse(header=self.m.header(), ID=request.ID, TTL=-1)
        return rpc_pb2.LeaseTimeToLiveResponse(header=self.m.header(), ID=request.ID, grantedTTL=granted,
                                               TTL=self.m.leases.remaining_s(request.ID, granted),
                                               keys=keys if request.keys else [])

    @rpc
    async def LeaseLeases(self, request: rpc_pb2.LeaseLeasesRequest, context: Any) -> rpc_pb2.LeaseLeasesResponse:
        ids = self.m.read(lambda: self.m.state.store.lease_ids())
        return rpc_pb2.LeaseLeasesResponse(header=self.m.header(),
                                           leases=[rpc_pb2.LeaseStatus(ID=i) for i in ids])  # type: ignore[attr-defined]


class Cluster(rpc_pb2_grpc.ClusterServicer):
    def __init__(self, member: Member) -> None:
        self.m = member

    def _members(self) -> list[rpc_pb2.Member]:
        with self.m.state.lock:
            return [to_member(x) for x in self.m.state.member_list()]

    @rpc
    async def MemberList(self, request: rpc_pb2.MemberListRequest, context: Any) -> rpc_pb2.MemberListResponse:
        if request.linearizable:
            await self.m.barrier()
        return rpc_pb2.MemberListResponse(header=self.m.header(), members=self._members())

    @rpc
    async def MemberAdd(self, request: rpc_pb2.MemberAddRequest, context: Any) -> rpc_pb2.MemberAddResponse:
        from etcd_raft.server.ids import member_id

        if request.isLearner:
            raise RpcFailure(grpc.StatusCode.UNIMPLEMENTED, "etcdserver: learner members are not supported")
        if not request.peerURLs:
            raise RpcFailure(grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: member peer URLs are not provided")
        with self.m.state.lock:
            taken = {host_port(u) for m in self.m.state.members.values() for u in m.peer_urls}
        if any(host_port(u) in taken for u in request.peerURLs):
            raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists")
        info = MemberInfo(id=member_id(list(request.peerURLs), self.m.cfg.initial_cluster_token),
                          peer_urls=list(request.peerURLs))
        await self.m.propose(internal_pb2.Proposal(member=internal_pb2.MemberChange(
            op=internal_pb2.MemberChange.ADD, member=info)))
        # pysyncobj counts the new member in the quorum as soon as the change is appended, so the change commits
        # only once the new member runs -- which the caller starts after this reply. etcd answers MemberAdd once
        # the change is committed under the old configuration; we answer once it is proposed (same client view).
        self.m.spawn(self._raft_change(self.m.raft.add_member, host_port(request.peerURLs[0])))
        log.info("member added: %x %s", info.id, list(request.peerURLs))
        return rpc_pb2.MemberAddResponse(header=self.m.header(), member=to_member(info), members=self._members())

    @rpc
    async def MemberRemove(self, request: rpc_pb2.MemberRemoveRequest, context: Any) -> rpc_pb2.MemberRemoveResponse:
        with self.m.state.lock:
            info = self.m.state.members.get(request.ID)
        if info is None:
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, "etcdserver: member not found")
        target = host_port(info.peer_urls[0])
        status = self.m.raft.status()
        if status.leader_addr == target:
            # pysyncobj cannot remove its own leader (etcd can): the leader hands over first, and the removal
            # is then done through the new leader.
            if status.is_leader:
                try:
                    await self.m.raft.transfer_leadership(3 * self.m.election_timeout_s)
                except ProposalTimeout:
                    raise RpcFailure(grpc.StatusCode.UNAVAILABLE, "etcdserver: leader changed") from None
            url = self.m.leader_client_url()
            if url is None or url == host_port(self.m.cfg.advertise_client_urls[0]):
                raise RpcFailure(grpc.StatusCode.UNAVAILABLE, "etcdserver: leader changed")
            async with grpc.aio.insecure_channel(url) as channel:
                return await rpc_pb2_grpc.ClusterStub(channel).MemberRemove(  # type: ignore[no-any-return]
                    request, timeout=10)
        await self._raft_change(self.m.raft.remove_member, target)
        await self.m.propose(internal_pb2.Proposal(member=internal_pb2.MemberChange(
            op=internal_pb2.MemberChange.REMOVE, member=info)))
        log.info("member removed: %x", request.ID)
        return rpc_pb2.MemberRemoveResponse(header=self.m.header(), members=self._members())

    async def _raft_change(self, change: Callable[[str, float], Awaitable[None]], addr: str) -> None:
        try:
            await change(addr, 10.0)
        except Exception as exc:
            raise RpcFailure(grpc.StatusCode.UNAVAILABLE, "etcdserver: unhealthy cluster") from exc

    @rpc
    async def MemberUpdate(self, request: rpc_pb2.MemberUpdateRequest, context: Any) -> rpc_pb2.MemberUpdateResponse:
        raise RpcFailure(grpc.StatusCode.UNIMPLEMENTED, "etcdserver: member update is not supported")

    @rpc
    async def MemberPromote(self, request: rpc_pb2.MemberPromoteRequest,
                            context: Any) -> rpc_pb2.MemberPromoteResponse:
        raise RpcFailure(grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: can only promote a learner member")


class Maintenance(rpc_pb2_grpc.MaintenanceServicer):
    def __init__(self, member: Member) -> None:
        self.m = member

    @rpc
    async def Status(self, request: rpc_pb2.StatusRequest, context: Any) -> rpc_pb2.StatusResponse:
        st = self.m.raft.status()
        with self.m.state.lock:
            size = self.m.state.store.db_size_bytes()
            alarms = [rpc_pb2.AlarmType.Name(a) for _, a in sorted(self.m.state.alarms)]
        return rpc_pb2.StatusResponse(header=self.m.header(), version=VERSION, dbSize=size, dbSizeInUse=size,
                                      leader=self.m.leader_id(), raftIndex=st.commit_index, raftTerm=st.term,
                                      raftAppliedIndex=st.applied_index,
                                      errors=[f"memberID:{self.m.id} alarm:{a}" for a in alarms])

    @rpc
    async def Alarm(self, request: rpc_pb2.AlarmRequest, context: Any) -> rpc_pb2.AlarmResponse:
        if request.action == rpc_pb2.AlarmRequest.GET:
            with self.m.state.lock:
                resp = self.m.state.alarm_response()
        else:
            resp = await self.m.propose(internal_pb2.Proposal(alarm=request))  # type: ignore[assignment]
        resp.header.CopyFrom(self.m.header())
        return resp

    @rpc
    async def Defragment(self, request: rpc_pb2.DefragmentRequest, context: Any) -> rpc_pb2.DefragmentResponse:
        return rpc_pb2.DefragmentResponse(header=self.m.header())   # nothing to defragment in memory

    @rpc
    async def Hash(self, request: rpc_pb2.HashRequest, context: Any) -> rpc_pb2.HashResponse:
        with self.m.state.lock:
            h, _ = self.m.state.store.hash_kv(0)
        return rpc_pb2.HashResponse(header=self.m.header(), hash=h)

    @rpc
    async def HashKV(self, request: rpc_pb2.HashKVRequest, context: Any) -> rpc_pb2.HashKVResponse:
        with self.m.state.lock:
            h, compact = self.m.state.store.hash_kv(request.revision)
            rev = request.revision or self.m.state.store.revision
        return rpc_pb2.HashKVResponse(header=self.m.header(), hash=h, compact_revision=compact, hash_revision=rev)

    async def Snapshot(self, request: rpc_pb2.SnapshotRequest,
                       context: grpc.aio.ServicerContext) -> AsyncIterator[rpc_pb2.SnapshotResponse]:
        blob = snapshot_file.encode(self.m.state.snapshot())
        header = self.m.header()
        for start in range(0, len(blob), SNAPSHOT_CHUNK):
            chunk = blob[start: start + SNAPSHOT_CHUNK]
            yield rpc_pb2.SnapshotResponse(header=header, blob=chunk, version=VERSION,
                                           remaining_bytes=len(blob) - start - len(chunk))

    @rpc
    async def MoveLeader(self, request: rpc_pb2.MoveLeaderRequest, context: Any) -> rpc_pb2.MoveLeaderResponse:
        raise RpcFailure(grpc.StatusCode.UNIMPLEMENTED, "etcdserver: move leader is not supported")


def add_services(server: grpc.aio.Server, member: Member) -> None:
    rpc_pb2_grpc.add_KVServicer_to_server(KV(member), server)
    rpc_pb2_grpc.add_WatchServicer_to_server(Watch(member), server)
    rpc_pb2_grpc.add_LeaseServicer_to_server(Lease(member), server)
    rpc_pb2_grpc.add_ClusterServicer_to_server(Cluster(member), server)
    rpc_pb2_grpc.add_MaintenanceServicer_to_server(Maintenance(member), server)
