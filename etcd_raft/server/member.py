"""One etcd_raft member: the replicated state, the Raft log, lease timekeeping, and what the gRPC services need.

Reads: linearizable ranges pass a batched read barrier first (the no-op goes through the log), serializable ones
read the local state. Writes are proposals; their results come back from apply (responses or EtcdErrors). Every
response header carries cluster_id, member_id, revision and raft_term.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from etcd_raft.mvcc import EtcdError, errors
from etcd_raft.pb import internal_pb2, rpc_pb2, rpc_pb2_grpc
from etcd_raft.raftlog import NoLeaderError, ProposalTimeout, RaftConfig, ReplicatedLog
from etcd_raft.server.ids import cluster_id, host_port, member_id, parse_initial_cluster
from etcd_raft.server.leases import LeaseClock, min_ttl_s
from etcd_raft.server.state import MemberInfo, MemberState

log = logging.getLogger("etcd_raft")
VERSION = "3.4.0"          # the etcd API level we serve (etcdctl shows it in `endpoint status`)
REQUEST_TIMEOUT_S = 5.0
RESTORE_FILE = "restore.state"


class RpcFailure(Exception):
    """An error for the client, in etcd's form (gRPC code + etcd's message)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def from_etcd_error(exc: EtcdError) -> RpcFailure:
    return RpcFailure(getattr(grpc.StatusCode, exc.code), exc.message)


@dataclass(frozen=True)
class MemberConfig:
    name: str
    data_dir: Path
    listen_client_urls: list[str]
    advertise_client_urls: list[str]
    listen_peer_urls: list[str]
    initial_advertise_peer_urls: list[str]
    initial_cluster: str
    initial_cluster_state: str = "new"
    initial_cluster_token: str = "etcd-cluster"
    heartbeat_interval_ms: int = 100
    election_timeout_ms: int = 1000
    unsafe_no_fsync: bool = False
    snapshot_count: int = 10_000
    unsafe_ack_before_replication: bool = False
    progress_notify_interval_s: float = 600.0


class Member:
    def __init__(self, cfg: MemberConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        initial = parse_initial_cluster(cfg.initial_cluster)
        infos = [MemberInfo(id=member_id([url], cfg.initial_cluster_token), name=name, peer_urls=[url])
                 for name, url in initial]
        self.id = member_id(list(cfg.initial_advertise_peer_urls), cfg.initial_cluster_token)
        self.cluster_id = cluster_id([m.id for m in infos])
        self.state = MemberState(infos)
        restore_file = cfg.data_dir / RESTORE_FILE
        if restore_file.exists() and not (cfg.data_dir / "raft").exists():
            # a data dir made by `snapshot restore`: start from that state, with the new cluster's membership
            self.state.restore(restore_file.read_bytes())
            self.state.members = {m.id: m for m in infos}
            log.info("restored state at revision %d from %s", self.state.store.revision, restore_file)
        self.leases = LeaseClock(clock)
        self.election_timeout_s = cfg.election_timeout_ms / 1000
        self.min_ttl_s = min_ttl_s(self.election_timeout_s)
        self_peer = host_port(cfg.initial_advertise_peer_urls[0])
        peers = [host_port(url) for _, url in initial if host_port(url) != self_peer]
        self.raft = ReplicatedLog(
            RaftConfig(self_peer, peers, cfg.data_dir / "raft", cfg.heartbeat_interval_ms / 1000,
                       self.election_timeout_s, fsync=not cfg.unsafe_no_fsync,
                       snapshot_every_entries=cfg.snapshot_count,
                       unsafe_ack_before_replication=cfg.unsafe_ack_before_replication),
            self._apply, self.state.snapshot, self.state.restore)
        self._was_leader = False
        self.published = asyncio.Event()      # set once this member's publish is committed: ready to serve
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- state machine hook (raft thread)
    def _apply(self, command: bytes) -> object:
        proposal = internal_pb2.Proposal.FromString(command)
        kind = proposal.WhichOneof("request")
        result = self.state.apply_proposal(proposal, kind)
        if kind == "put":
            return result
        if kind == "lease_grant" and not isinstance(result, EtcdError):
            self.leases.granted(proposal.lease_grant.ID, proposal.lease_grant.TTL)
        elif kind == "lease_revoke":
            self.leases.forget(proposal.lease_revoke.ID)
        return result

    # ---------------------------------------------------------------- headers and status
    def header(self, revision: int | None = None) -> rpc_pb2.ResponseHeader:
        h = rpc_pb2.ResponseHeader()
        self._fill(h, revision)
        return h

    def stamp(self, resp: Any, revision: int | None = None) -> None:
        """Fill resp's header in place (revision: the given one, else the one apply set, else the current one)."""
        self._fill(resp.header, revision)

    def _fill(self, h: rpc_pb2.ResponseHeader, revision: int | None) -> None:
        h.cluster_id, h.member_id, h.raft_term = self.cluster_id, self.id, self.raft.term()
        if revision is not None:
            h.revision = revision
        elif not h.revision:
            # No state lock: reading the current revision (one attribute) is atomic under the GIL, and taking the
            # lock here made every response wait for (and hand the GIL back and forth with) the Raft thread's apply.
            h.revision = self.state.store.revision

    def leader_id(self) -> int:
        addr = self.raft.status().leader_addr
        if addr is None:
            return 0
        with self.state.lock:
            for m in self.state.members.values():
                if any(host_port(u) == addr for u in m.peer_urls):
                    return int(m.id)
        return 0

    def leader_client_url(self) -> str | None:
        addr = self.raft.status().leader_addr
        with self.state.lock:
            for m in self.state.members.values():
                if any(host_port(u) == addr for u in m.peer_urls) and m.client_urls:
                    return host_port(m.client_urls[0])
        return None

    async def wait_leader_client_url(self, timeout_s: float = REQUEST_TIMEOUT_S) -> str | None:
        """The leader's client URL, waiting (like etcd's waitLeader) while an election is under way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (url := self.leader_client_url()) is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return url

    async def leader_stub(self) -> rpc_pb2_grpc.LeaseStub | None:
        target = await self.wait_leader_client_url()
        if target is None:
            return None
        if target not in self._channels:
            self._channels[target] = grpc.aio.insecure_channel(target)
        return rpc_pb2_grpc.LeaseStub(self._channels[target])

    # ---------------------------------------------------------------- proposals and reads
    async def propose(self, proposal: internal_pb2.Proposal) -> object:
        data = proposal.SerializeToString()
        if len(data) > errors.MAX_REQUEST_BYTES:
            raise from_etcd_error(errors.ErrRequestTooLarge())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_TIMEOUT_S
        while True:
            try:
                result = await self.raft.propose(data, max(0.1, deadline - loop.time()))
                break
            except NoLeaderError as exc:
                # Not sent anywhere, so safe to retry: like etcd, wait for a leader until the request times out.
                if loop.time() + 0.05 >= deadline:
                    raise RpcFailure(grpc.StatusCode.UNAVAILABLE, exc.message) from None
                await asyncio.sleep(0.05)
            except ProposalTimeout as exc:
                raise RpcFailure(grpc.StatusCode.UNAVAILABLE, exc.message) from None
        if result is None and self.cfg.unsafe_ack_before_replication:
            return None
        if isinstance(result, EtcdError):
            raise from_etcd_error(result)
        return result

    async def barrier(self) -> None:
        try:
            await self.raft.read_barrier(REQUEST_TIMEOUT_S)
        except (NoLeaderError, ProposalTimeout, TimeoutError) as exc:
            message = getattr(exc, "message", "etcdserver: request timed out")
            raise RpcFailure(grpc.StatusCode.UNAVAILABLE, message) from None

    def read(self, fn: Callable[[], object]) -> object:
        with self.state.lock:
            try:
                return fn()
            except EtcdError as exc:
                raise from_etcd_error(exc) from None

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background task, keeping a reference until it ends; failures are logged, not lost."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.warning("background task failed: %s", t.exception())

        task.add_done_callback(done)

    def new_lease_id(self) -> int:
        return secrets.randbits(62) + 1

    # ---------------------------------------------------------------- background duties
    async def run_duties(self, stop: asyncio.Event) -> None:
        """Publish this member's name and client URLs once; as leader, expire leases. Runs until stop."""
        published = False
        while not stop.is_set():
            status = self.raft.status()
            if not published and status.leader_addr is not None:
                info = MemberInfo(id=self.id, name=self.cfg.name, client_urls=list(self.cfg.advertise_client_urls))
                try:
                    await self.propose(internal_pb2.Proposal(member=internal_pb2.MemberChange(
                        op=internal_pb2.MemberChange.PUBLISH, member=info)))
                    published = True
                    self.published.set()
                    log.info("published %s %s", self.cfg.name, list(self.cfg.advertise_client_urls))
                except RpcFailure:
                    pass
            if status.is_leader and not self._was_leader:
                with self.state.lock:
                    ttls = {i: self.state.store.lease_info(i)[0] for i in self.state.store.lease_ids()}
                self.leases.promote(ttls)
                log.info("became leader at term %d", status.term)
            self._was_leader = status.is_leader
            if status.is_leader:
                with self.state.lock:
                    known = set(self.state.store.lease_ids())
                for lease_id in self.leases.expired(known):
                    try:
                        await self.propose(internal_pb2.Proposal(lease_revoke=rpc_pb2.LeaseRevokeRequest(ID=lease_id)))
                    except RpcFailure:
                        break
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
            except TimeoutError:
                pass

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self.raft.close()
