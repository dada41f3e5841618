"""The replicated log: pysyncobj's Raft, made safe and fast enough, behind a small asyncio interface.

This is the only module in the project that imports pysyncobj. What it changes in pysyncobj, and why:
- AppendEntries are rewritten by trim.plan_append before pysyncobj handles them, so a follower never truncates
  entries that match the leader's (pysyncobj drops them whenever its log is longer: DESIGN.md);
- durability: the journal (an mmap) is fdatasync'ed (which, unlike pysyncobj's msync, releases the GIL) before a
  follower acknowledges entries, and by the leader right after it sends them and before it counts itself in any
  commit (so every acknowledgement counted for a commit is on disk); term/vote are fsynced before any vote is
  answered; `fsync=False` (the --unsafe-no-fsync flag) skips both;
- latency: appendEntriesUseBatch=False, so a new command wakes the Raft thread instead of waiting for a tick;
  messages between members are plain pickles, not zlib streams (CPU, not bandwidth, is scarce on one machine);
- a cut-off leader steps down after ~1.5 election timeouts (leaderFallbackTimeout) instead of 30 s;
- a follower that sees its leader's connection close stands for election after 0.1-0.7 election timeouts
  instead of the full 1-2 (a dead leader process closes its connections; a partition still takes the timeout);
- a follower does not acknowledge a commit-index-only AppendEntries that tells it nothing new when it has just
  acknowledged the same position (halves the leader's incoming messages under load; heartbeats still answered);
- members ping each other, so an idle follower-to-follower connection is never found stale (and dropped, with the
  vote request it was to carry) just when the leader dies;
- snapshots are the state machine's own bytes (snapshot()/restore(), through a SyncObjConsumer: pysyncobj pickles
  consumers' _serialize() output), taken without fork (gRPC threads + fork do not mix).
Commands are applied on pysyncobj's thread; results reach asyncio callers through call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import zlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pysyncobj.journal
import pysyncobj.tcp_connection
from pysyncobj import _RAFT_STATE, FAIL_REASON, SyncObj, SyncObjConf, SyncObjConsumer, replicated
from pysyncobj.monotonic import monotonic as raft_clock

from etcd_raft.raftlog.acks import AckMemory
from etcd_raft.raftlog.batching import GroupCommit
from etcd_raft.raftlog.config import NoLeaderError, ProposalTimeout, RaftConfig, RaftStatus
from etcd_raft.raftlog.trim import plan_append

log = logging.getLogger("etcd_raft.raftlog")
BARRIER = b""      # the no-op command that read barriers propose
PING = {"type": "kemu_ping"}    # keeps idle member-to-member connections alive (never reaches pysyncobj's logic)
UNSAFE_BUFFER_S = 0.3
LEADER_GONE_ELECTION_S = (0.1, 0.7)   # election delay, in election timeouts, once the leader's connection closed
# Group commit window per member. One batch at a time: on this CPU-bound machine every Raft entry costs every member
# a journal fdatasync, messages and a tick, so fewer, larger entries win. Measured with 64 clients (3 s phases,
# load ~5 on 2 cores): window 2 -> 5.2 puts per entry, 445-487 us of member CPU per put; window 1 -> 7.5-10.6 puts
# per entry, 379-459 us per put, throughput equal or slightly higher. A lone proposal still goes out at once.
MAX_INFLIGHT_BATCHES = 1
# Under load a member's next batch lingers this long once the window frees (batching.py), when the previous batch
# held at least LINGER_MIN_BATCH proposals. Measured with 64 clients (load 6-11 on 2 cores, medians of 4-5 runs):
# against no linger, 4 ms cut member CPU per put by 5-7% and 8 ms by 11-15%, with equal or higher puts/s (8 ms vs
# 4 ms: 2279 vs 1949 and 2581 vs 2163, one run 2441 vs 2555). Sequential writers (batches of 1) never linger.
LINGER_S = 0.008
LINGER_MIN_BATCH = 4
# A follower leaves an entry-less AppendEntries unacknowledged when it acknowledged the same position this recently
# (half a default heartbeat interval: idle heartbeats are all answered).
ACK_QUIET_S = 0.05


def _durable_store_meta(self: Any, meta: dict[str, Any]) -> None:
    """pysyncobj's MetaStorer.storeMeta plus fsync: term and vote must be on disk before a vote is answered."""
    path = self.getPath()
    with open(path + ".tmp", "wb") as f:
        f.write(pysyncobj.journal.dumps(meta))
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)
    dir_fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _sync_journal(journal: Any) -> None:
    """Make the journal's mmap durable. pysyncobj's flush() is mmap.flush(), an msync that holds the GIL for the
    whole disk write and so stalls the event loop (most of the leader's GIL time under load). fdatasync on the
    mapped file writes the same dirty page-cache pages (Linux: msync(MS_SYNC) is an fsync of the range) and
    releases the GIL while the disk works."""
    mapped = getattr(getattr(journal, "_FileJournal__journalFile", None), "_ResizableFile__f", None)
    if mapped is None:           # another journal type (or a pysyncobj that renamed its internals): its own flush
        journal.flush()
        return
    os.fdatasync(mapped.fileno())


class _PlainFrames:
    """What pysyncobj's connections see as `zlib`: messages go as plain pickles, neither deflated nor wrapped in a
    stored zlib stream. Members talk over loopback or a local bridge, where bytes are cheap and the CPU is not:
    deflate cost tens of microseconds per message on the Raft thread, and even a stored stream copies every
    message and checksums it on both ends. A zlib stream (a member of an older build) is still read: it starts
    with 0x78, a pickle of pysyncobj's protocol 2 with 0x80. All members of a cluster run one build, so what we
    send is read by our own decompress."""

    error = zlib.error

    @staticmethod
    def compress(data: bytes, level: int = -1) -> bytes:
        return data

    @staticmethod
    def decompress(data: bytes) -> bytes:
        return data if data[:1] == b"\x80" else zlib.decompress(data)


pysyncobj.tcp_connection.zlib = _PlainFrames  # type: ignore[assignment]


class _StateMachine(SyncObjConsumer):  # type: ignore[misc]
    """The state machine as pysyncobj sees it for snapshots: pysyncobj pickles what _serialize returns into its
    dump file (log compaction, and what a lagging follower receives) and hands it back to _deserialize."""

    def __init__(self, snapshot: Callable[[], bytes], restore: Callable[[bytes], None]) -> None:
        super().__init__()
        self._snapshot_fn, self._restore_fn = snapshot, restore

    def _serialize(self) -> bytes:
        return self._snapshot_fn()

    def _deserialize(self, data: bytes) -> None:
        self._restore_fn(data)


class _Raft(SyncObj):  # type: ignore[misc]
    _SyncObj__raftElectionDeadline: float       # pysyncobj's, on its own clock (raft_clock)

    def __init__(self, config: RaftConfig, apply: Callable[[bytes], object], snapshot: Callable[[], bytes],
                 restore: Callable[[bytes], None]) -> None:
        self._kemu_apply = apply
        self._kemu_fsync = config.fsync
        self._kemu_hold = False
        self._kemu_empty_append = False        # handling an AppendEntries that carries no entries
        self._kemu_acks = AckMemory(ACK_QUIET_S)
        self._kemu_dirty = True
        self._kemu_defer_send = self._kemu_send_pending = False
        self._kemu_next_ping = 0.0
        self._kemu_rng = random.Random(config.seed)
        self._kemu_election_timeout_s = config.election_timeout_s
        config.data_dir.mkdir(parents=True, exist_ok=True)
        et = config.election_timeout_s
        conf = SyncObjConf(
            appendEntriesUseBatch=False, dynamicMembershipChange=True,
            journalFile=str(config.data_dir / "raft.journal"), fullDumpFile=str(config.data_dir / "raft.snapshot"),
            raftMinTimeout=et, raftMaxTimeout=2 * et, appendEntriesPeriod=config.heartbeat_interval_s,
            leaderFallbackTimeout=1.5 * et, connectionTimeout=self._connection_timeout_s(et), connectionRetryTime=0.2,
            logCompactionMinEntries=config.snapshot_every_entries, logCompactionMinTime=60, useFork=False,
            commandsWaitLeader=False,
        )
        # Attributes set before SyncObj.__init__ count as its own and stay out of snapshots; the state machine's
        # bytes travel through the consumer.
        super().__init__(config.self_addr, list(config.peer_addrs), conf,
                         consumers=[_StateMachine(snapshot, restore)])
        self._track_appends()

    @staticmethod
    def _connection_timeout_s(election_timeout_s: float) -> float:
        return max(1.0, 2 * election_timeout_s)

    # -- liveness of follower-to-follower connections
    def _onTick(self, timeToWait: float = 0.0) -> None:
        # pysyncobj drops a connection that has read nothing for connectionTimeout, and checks that only when it
        # next sends. Followers exchange nothing while a leader is alive, so after a leader dies the first vote
        # request between them found a stale connection and was dropped with it (never resent: the election
        # failed and a second one ran, ~1.5 s lost per failover). Pings between members keep every connection read.
        now = time.monotonic()
        if now >= self._kemu_next_ping:
            self._kemu_next_ping = now + self._SyncObj__conf.connectionTimeout / 4
            leader = self._SyncObj__raftLeader
            if leader is not self._SyncObj__selfNode:
                for node in self._SyncObj__otherNodes:
                    if node is not leader:     # the leader's link carries heartbeats already
                        self._SyncObj__transport.send(node, PING)
        SyncObj._onTick(self, timeToWait)

    # -- a leader whose connection closed is most likely dead
    def _SyncObj__onNodeDisconnected(self, node: Any) -> None:
        was_connected = node in self._SyncObj__connectedNodes     # not a failed reconnect attempt
        self._kemu_acks.forget(node)
        SyncObj._SyncObj__onNodeDisconnected(self, node)
        # A leader process that dies (crash, SIGKILL, stop) closes its connections, and the followers see that at
        # once; waiting out the full election timeout after that only prolongs the outage. A follower then
        # stands for election after a short random delay (spread so the survivors rarely split the vote). If the
        # leader is in fact alive, it reconnects and its next heartbeat pushes the deadline back out; silence
        # without a closed connection (a partition, a frozen machine) still takes the normal timeout. One draw per
        # lost connection: failed reconnects report disconnects too, and taking the minimum of many draws would
        # bunch the survivors at the lower bound (split votes).
        if was_connected and node == self._SyncObj__raftLeader and self._SyncObj__raftState == _RAFT_STATE.FOLLOWER:
            soon = raft_clock() + self._kemu_rng.uniform(*LEADER_GONE_ELECTION_S) * self._kemu_election_timeout_s
            self._SyncObj__raftElectionDeadline = min(self._SyncObj__raftElectionDeadline, soon)

    # -- state machine (pysyncobj calls these on its own thread)
    @replicated  # type: ignore[misc]
    def _kemu_command(self, command: bytes) -> object:
        return None if command == BARRIER else self._kemu_apply(command)

    @replicated  # type: ignore[misc]
    def _kemu_batch(self, commands: list[bytes]) -> list[object]:
        return [None if c == BARRIER else self._kemu_apply(c) for c in commands]

    # -- the truncation fix
    def _SyncObj__onMessageReceived(self, node: Any, message: dict[str, Any]) -> None:
        if message.get("type") == PING["type"]:
            return
        if (message.get("type") == "append_entries" and "prevLogIdx" in message and "transmission" not in message
                and message.get("term", -1) >= self.raftCurrentTerm):
            local = [(e[1], e[2]) for e in SyncObj._SyncObj__getEntries(self, message["prevLogIdx"])]
            entries = message.get("entries", [])
            plan = plan_append(local, message["prevLogIdx"], message["prevLogTerm"],
                               [(e[1], e[2]) for e in entries])
            if plan.skip or plan.hold:
                message = {**message, "prevLogIdx": plan.prev_idx, "prevLogTerm": plan.prev_term,
                           "entries": entries[plan.skip:]}
                self._kemu_hold = plan.hold
            self._kemu_empty_append = not entries
        try:
            SyncObj._SyncObj__onMessageReceived(self, node, message)
        finally:
            self._kemu_hold = self._kemu_empty_append = False

    def _SyncObj__getEntries(self, fromIDx: int, count: int | None = None,
                             maxSizeBytes: int | None = None) -> list[Any]:
        if self._kemu_hold:      # show pysyncobj only prevLogIdx: nothing to truncate or roll back
            count = 1
        return SyncObj._SyncObj__getEntries(self, fromIDx, count, maxSizeBytes)  # type: ignore[no-any-return]

    # -- durability
    def _track_appends(self) -> None:
        """Mark the journal dirty on every append/truncate, so a flush happens only when there is news."""
        journal = self._SyncObj__raftLog
        self._kemu_dirty = True
        for name in ("add", "deleteEntriesFrom", "deleteEntriesTo", "clear"):
            original = getattr(journal, name)

            def marked(*args: Any, _original: Callable[..., Any] = original) -> Any:
                self._kemu_dirty = True
                return _original(*args)

            setattr(journal, name, marked)

    def _flush_journal(self) -> None:
        if self._kemu_fsync and self._kemu_dirty:
            self._kemu_dirty = False
            _sync_journal(self._SyncObj__raftLog)

    def _SyncObj__sendNextNodeIdx(self, node: Any, reset: bool = False, nextNodeIdx: int | None = None,
                                  success: bool = False) -> None:
        # An acknowledgement of an entry-less AppendEntries (a new commit index) that repeats what this follower
        # just told the leader is left out (acks.py); never while new entries still wait to be made durable.
        now = time.monotonic()
        term = self.raftCurrentTerm
        if (success and not reset and nextNodeIdx is not None and self._kemu_empty_append
                and not (self._kemu_fsync and self._kemu_dirty)
                and self._kemu_acks.redundant(node, term, nextNodeIdx, now)):
            return
        self._flush_journal()
        SyncObj._SyncObj__sendNextNodeIdx(self, node, reset, nextNodeIdx, success)
        self._kemu_acks.sent(node, term, nextNodeIdx, success, reset, now)

    def _SyncObj__sendAppendEntries(self) -> None:
        if self._kemu_defer_send:          # inside _checkCommandsToApply: one send after the whole queue
            self._kemu_send_pending = True
            return
        # Send first, then make the new entries durable: the followers' network and disk work overlaps the
        # leader's own fsync. Still safe: the leader counts itself in a commit only when this thread next
        # computes commits, and that runs after this fsync returns, as does handling any follower's ack.
        SyncObj._SyncObj__sendAppendEntries(self)
        self._flush_journal()

    def _checkCommandsToApply(self) -> None:
        # With appendEntriesUseBatch=False pysyncobj sends AppendEntries (and we flush the journal) after every
        # queued command; draining the queue first and sending once keeps the latency and cuts the work.
        self._kemu_defer_send, self._kemu_send_pending = True, False
        try:
            SyncObj._checkCommandsToApply(self)
        finally:
            self._kemu_defer_send = False
        if self._kemu_send_pending:
            self._SyncObj__sendAppendEntries()


class ReplicatedLog:
    """A member's replicated log. apply(command) runs once per committed entry, in log order, on the Raft thread;
    its return value goes back to the proposer. Call the async methods from one asyncio loop."""

    def __init__(self, config: RaftConfig, apply: Callable[[bytes], object], snapshot: Callable[[], bytes],
                 restore: Callable[[bytes], None]) -> None:
        if config.fsync:
            pysyncobj.journal.MetaStorer.storeMeta = _durable_store_meta
        self.config = config
        self._raft = _Raft(config, apply, snapshot, restore)
        self._barrier_inflight: asyncio.Future[None] | None = None
        self._barrier_next: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._batcher: GroupCommit | None = None      # made on first use, on the caller's loop
        self._loop: asyncio.AbstractEventLoop | None = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def propose(self, command: bytes, timeout_s: float) -> object:
        loop = asyncio.get_running_loop()
        if self.config.unsafe_ack_before_replication and command != BARRIER:
            # Test-only fault (the drills' broken store): acknowledge now, hand the command to Raft only later,
            # as a store that buffers writes before replicating them would. A leader crash loses what is buffered.
            loop.call_later(UNSAFE_BUFFER_S, lambda: self._raft._kemu_command(command, callback=lambda r, e: None))
            return None
        if self._batcher is None:
            self._loop = loop
            self._batcher = GroupCommit(loop, self._submit_batch, _settle, ProposalTimeout, MAX_INFLIGHT_BATCHES,
                                        LINGER_S, LINGER_MIN_BATCH)
        # Concurrent proposals share Raft entries (see batching.py); a lone one goes out at once.
        return await self._batcher.add(command, timeout_s)

    def _submit_batch(self, commands: list[bytes], done: Callable[[list[object] | None, int], None]) -> None:
        """GroupCommit's way into Raft: one entry per batch; the answer comes back on this loop in one wake-up."""
        loop = self._loop
        assert loop is not None
        if len(commands) == 1:
            self._raft._kemu_command(commands[0], callback=lambda result, error: loop.call_soon_threadsafe(
                done, [result], error))
        else:
            self._raft._kemu_batch(commands, callback=lambda results, error: loop.call_soon_threadsafe(
                done, results, error))

    async def read_barrier(self, timeout_s: float) -> None:
        """Returns once this member has applied every entry committed before the call: a no-op goes through the
        log. Batched: callers that arrive while one barrier is in flight share the next one (not the in-flight
        one, which may have been ordered before their call)."""
        loop = asyncio.get_running_loop()
        if self._barrier_inflight is None:
            self._barrier_inflight = loop.create_future()
            self._spawn(self._run_barrier(self._barrier_inflight, timeout_s))
            mine = self._barrier_inflight
        else:
            if self._barrier_next is None:
                self._barrier_next = loop.create_future()
            mine = self._barrier_next
        await asyncio.wait_for(asyncio.shield(mine), timeout_s + 0.5)

    async def _run_barrier(self, fut: asyncio.Future[None], timeout_s: float) -> None:
        try:
            await self.propose(BARRIER, timeout_s)
            fut.set_result(None)
        except Exception as exc:
            fut.set_exception(exc)
            fut.exception()      # mark retrieved for waiters that already timed out
        finally:
            self._barrier_inflight = None
            if self._barrier_next is not None:
                nxt, self._barrier_next = self._barrier_next, None
                self._barrier_inflight = nxt
                self._spawn(self._run_barrier(nxt, timeout_s))

    def term(self) -> int:
        """The current term alone (cheap: every response header carries it)."""
        return int(self._raft.raftCurrentTerm)

    def status(self) -> RaftStatus:
        raft = self._raft
        leader = raft._getLeader()
        return RaftStatus(self.config.self_addr, bool(raft._isLeader()), leader.address if leader else None,
                          int(raft.raftCurrentTerm), int(raft.raftCommitIndex), int(raft.raftLastApplied),
                          sorted([self.config.self_addr] + [n.address for n in raft.otherNodes]),
                          bool(raft.hasQuorum))

    async def add_member(self, addr: str, timeout_s: float) -> None:
        await self._change(self._raft.addNodeToCluster, addr, timeout_s)

    async def remove_member(self, addr: str, timeout_s: float) -> None:
        await self._change(self._raft.removeNodeFromCluster, addr, timeout_s)

    async def _change(self, method: Callable[..., None], addr: str, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[object] = loop.create_future()
        method(addr, callback=lambda result, error: loop.call_soon_threadsafe(_settle, done, result, error))
        try:
            await asyncio.wait_for(done, timeout_s)
        except TimeoutError:
            raise ProposalTimeout() from None

    async def transfer_leadership(self, timeout_s: float) -> None:
        """Ask this leader to hand over to another member; returns once someone else leads."""
        self._raft.transferLeadership()
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            status = self.status()
            if status.leader_addr is not None and status.leader_addr != self.config.self_addr:
                return
            await asyncio.sleep(0.05)
        raise ProposalTimeout()

    def close(self) -> None:
        self._raft.destroy()


def _settle(fut: asyncio.Future[object], result: object, error: int) -> None:
    if fut.done():
        return
    if error == FAIL_REASON.SUCCESS:
        fut.set_result(result)
    elif error == FAIL_REASON.MISSING_LEADER:
        fut.set_exception(NoLeaderError())
    else:
        fut.set_exception(ProposalTimeout())


def data_files(data_dir: Path) -> list[Path]:
    return [data_dir / "raft.journal", data_dir / "raft.snapshot"]
