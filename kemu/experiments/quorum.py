"""`kemu experiment quorum`: what a Raft cluster of 1, 3, 5 members can still do with k members lost.

The experiment owns its own store cluster (etcd_raft, or Debian's etcd with --real-etcd: same protocol, same
procedure). It starts ONE member, grows the cluster live to 3 and then 5 with MemberAdd (each new member started
with --initial-cluster-state existing), and at each size kills k members (the leader first, SIGKILL) and asks the
survivors, with a bounded deadline per request, whether writes, linearizable reads and serializable reads work, and
how long the election took. Killed members are restarted (same data dir) before the next k. At the end it shrinks
the cluster back 5 -> 3 -> 1 with MemberRemove and checks that writes still work. The survivors of a kill are exactly
what the minority side of a partition sees: stale serializable reads, no writes, no linearizable reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc

from etcd_raft.pb import rpc_pb2, rpc_pb2_grpc
from kemu.experiments.quorum_model import Observation, PartitionObservation, markdown_table, partition_table
from kemu.launcher import machines, supervisor
from kemu.launcher.lifecycle import create_machines, destroy_machines
from kemu.launcher.plan import ClusterConfig, EtcdMemberPlan, etcd_members, etcd_spec
from kemu.launcher.plan import machines as plan_machines_for
from kemu.launcher.ports import free_port_pairs

T = TypeVar("T")


@dataclass
class Member:
    plan: EtcdMemberPlan
    proc: supervisor.Running | None = None
    member_id: int = 0

    @property
    def endpoint(self) -> str:
        return f"{self.plan.host}:{self.plan.client_port}"


@dataclass
class Experiment:
    config: ClusterConfig
    request_timeout_s: float
    members: list[Member] = field(default_factory=list)
    channels: dict[str, grpc.Channel] = field(default_factory=dict)
    write_seq: int = 0
    last_value: bytes = b""
    victims_log: list[list[str]] = field(default_factory=list)

    # ---- plumbing ----
    def _channel(self, m: Member) -> grpc.Channel:
        if m.endpoint not in self.channels:
            self.channels[m.endpoint] = grpc.insecure_channel(m.endpoint)
        return self.channels[m.endpoint]

    def _kv(self, m: Member) -> rpc_pb2_grpc.KVStub:
        return rpc_pb2_grpc.KVStub(self._channel(m))

    def _status(self, m: Member, timeout_s: float = 0.5) -> rpc_pb2.StatusResponse | None:
        try:
            return rpc_pb2_grpc.MaintenanceStub(self._channel(m)).Status(rpc_pb2.StatusRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return None

    def _initial_cluster(self) -> str:
        return ",".join(f"{m.plan.name}={m.plan.peer_url}" for m in self.members)

    def _start(self, m: Member, state: str) -> None:
        spec = etcd_spec(self.config, m.plan, self._initial_cluster(), cluster_state=state)
        m.proc = supervisor.start(spec, self.config.state_dir)
        supervisor.wait_healthy([(spec, m.proc)], timeout_s=60)

    def _restart(self, members: list[Member]) -> None:
        """Start several members together: with a majority down, none of them can serve until enough are back."""
        batch = []
        for m in members:
            spec = etcd_spec(self.config, m.plan, self._initial_cluster(), cluster_state="existing")
            m.proc = supervisor.start(spec, self.config.state_dir)
            batch.append((spec, m.proc))
        supervisor.wait_healthy(batch, timeout_s=60)

    def _alive(self) -> list[Member]:
        return [m for m in self.members if m.proc is not None and supervisor.alive(m.proc)]

    def leader(self, among: list[Member] | None = None, timeout_s: float = 30.0) -> Member | None:
        """The member that the (given) live members agree is leader, polled until timeout_s."""
        pool = among if among is not None else self._alive()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for m in pool:
                st = self._status(m)
                if st is not None and st.leader and st.leader == st.header.member_id:
                    m.member_id = st.header.member_id
                    return m
            time.sleep(0.02)
        return None

    # ---- membership ----
    def start_first(self, plan: EtcdMemberPlan) -> None:
        self.members = [Member(plan)]
        self._start(self.members[0], "new")

    def add(self, plan: EtcdMemberPlan) -> None:
        leader = self.leader()
        if leader is None:
            raise RuntimeError("no leader to add a member through")
        resp = self._reconfigure(lambda: rpc_pb2_grpc.ClusterStub(self._channel(leader)).MemberAdd(
            rpc_pb2.MemberAddRequest(peerURLs=[plan.peer_url]), timeout=10))
        member = Member(plan, member_id=resp.member.ID)
        self.members.append(member)
        self._start(member, "existing")
        self.wait_converged()

    def _reconfigure(self, call: Callable[[], T], timeout_s: float = 30.0) -> T:
        """etcd refuses membership changes with "etcdserver: unhealthy cluster" until every member has been
        connected for a while (its strict reconfiguration check, e.g. right after a member joined or a partition
        healed); retry that, and nothing else."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return call()
            except grpc.RpcError as exc:
                if "unhealthy cluster" not in (exc.details() or "") or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def remove(self, member: Member) -> None:
        leader = self.leader()
        if leader is None:
            raise RuntimeError("no leader to remove a member through")
        member_id = self._id_of(member)
        # Never through the member being removed: a leader that removes itself stops before it answers
        # (real etcd: "etcdserver: server stopped"); any other member forwards the change to the leader.
        via = leader if leader is not member else next(m for m in self._alive() if m is not member)
        self._reconfigure(lambda: rpc_pb2_grpc.ClusterStub(self._channel(via)).MemberRemove(
            rpc_pb2.MemberRemoveRequest(ID=member_id), timeout=10))
        self.members.remove(member)
        if member.proc is not None:
            supervisor.stop(member.proc, grace_s=2)
        self.wait_converged()

    def _id_of(self, member: Member) -> int:
        st = self._status(member, timeout_s=2)
        if st is None:
            raise RuntimeError(f"{member.plan.name} does not answer Status")
        return int(st.header.member_id)

    def wait_converged(self, timeout_s: float = 60.0) -> None:
        """Every member is up and a write goes through (the cluster is whole again)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self._alive()) == len(self.members) and self.leader(timeout_s=1) and self.try_write()[0]:
                return
            time.sleep(0.1)
        raise RuntimeError("cluster did not converge")

    # ---- probes ----
    def try_write(self, among: list[Member] | None = None) -> tuple[bool, str]:
        self.write_seq += 1
        value = b"v%d" % self.write_seq
        error = ""
        for m in among if among is not None else self._alive():
            try:
                self._kv(m).Put(rpc_pb2.PutRequest(key=b"quorum/probe", value=value), timeout=self.request_timeout_s)
                self.last_value = value
                return True, ""
            except grpc.RpcError as exc:
                error = f"{exc.code().name}: {exc.details()}"
        return False, error

    def try_read(self, among: list[Member], serializable: bool) -> tuple[bool, bytes | None]:
        for m in among:
            try:
                resp = self._kv(m).Range(rpc_pb2.RangeRequest(key=b"quorum/probe", serializable=serializable),
                                         timeout=self.request_timeout_s)
                return True, resp.kvs[0].value if resp.kvs else None
            except grpc.RpcError:
                continue
        return False, None

    def observe(self, lost: int) -> Observation:
        n = len(self.members)
        ok, _ = self.try_write()
        assert ok, "the whole cluster must accept writes before a kill"
        leader = self.leader()
        assert leader is not None
        victims = [leader, *[m for m in self.members if m is not leader][: lost - 1]] if lost else []
        t_kill = time.monotonic()
        for v in victims:
            assert v.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(v.proc.pid, signal.SIGKILL)
        survivors = [m for m in self.members if m not in victims]
        election_s = None
        if victims:
            new_leader = self.leader(among=survivors, timeout_s=3 * self.request_timeout_s)
            election_s = time.monotonic() - t_kill if new_leader is not None else None
        writes, write_error = self.try_write(survivors)
        lin, _ = self.try_read(survivors, serializable=False)
        ser, value = self.try_read(survivors, serializable=True)
        self.victims_log.append([v.plan.name for v in victims])
        obs = Observation(n, lost, bool(victims), writes, lin, ser, value == self.last_value, election_s,
                          "" if writes else write_error)
        self._restart(victims)
        self.wait_converged()
        return obs

    def observe_partition(self) -> list[PartitionObservation]:
        """Cut the leader off from the other members (not from clients), probe both sides, heal, check catch-up."""
        n = len(self.members)
        leader = self.leader()
        assert leader is not None and self.try_write()[0]
        others = [m for m in self.members if m is not leader]
        machine = self._machine_of(leader)
        t_cut = time.monotonic()
        machines.partition(machine, [m.plan.host for m in others])
        try:
            new_leader = self.leader(among=others, timeout_s=3 * self.request_timeout_s + 5)
            election_s = time.monotonic() - t_cut if new_leader is not None else None
            maj_writes, _ = self.try_write(others)          # the majority moves on: the minority now lags
            maj_lin, _ = self.try_read(others, serializable=False)
            # read the majority's own state from its new leader, which has applied that write
            maj_ser, maj_value = self.try_read([new_leader] if new_leader else others, serializable=True)
            min_writes, _ = self.try_write([leader])
            min_lin, _ = self.try_read([leader], serializable=False)
            min_ser, min_value = self.try_read([leader], serializable=True)
            latest = self.last_value      # the last write either side acknowledged during the partition
        finally:
            machines.heal(machine)
        deadline = time.monotonic() + 30
        caught_up = False
        while time.monotonic() < deadline and not caught_up:
            caught_up = self.try_read([leader], serializable=True)[1] == latest
            time.sleep(0.1)
        self.wait_converged()
        return [
            PartitionObservation(n, "minority", 1, min_writes, min_lin, min_ser,
                                 min_ser and min_value != latest, None, caught_up),
            PartitionObservation(n, "majority", n - 1, maj_writes, maj_lin, maj_ser,
                                 maj_ser and maj_value != latest, election_s, True),
        ]

    def _machine_of(self, member: Member) -> machines.Machine:
        found = [m for m in plan_machines_for(self.config) if m.name == member.plan.name]
        if not found:
            raise RuntimeError("partitions need machines (run as root with network namespaces)")
        return found[0]

    def close(self) -> None:
        for ch in self.channels.values():
            ch.close()
        for m in self.members:
            if m.proc is not None:
                supervisor.stop(m.proc, grace_s=2)


@dataclass(frozen=True)
class QuorumResult:
    rows: list[Observation]
    shrink_ok: bool
    backend: str
    partitions: list[PartitionObservation] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (self.shrink_ok and all(r.matches for r in self.rows) and all(p.matches for p in self.partitions)
                and all(p.caught_up_after_heal for p in self.partitions))


def run(state_dir: Path, sizes: tuple[int, ...] = (1, 3, 5), real_etcd: bool = False, fast: bool = True,
        request_timeout_s: float = 2.0, log: bool = True, netns: bool = False,
        subnet: str = "10.250.200.0/24") -> QuorumResult:
    """Run the experiment. With netns (root) every member is its own machine and each size > 1 also gets a real
    partition row pair (the old leader cut off from the others)."""
    biggest = max(sizes)
    config = ClusterConfig(state_dir=state_dir, etcd_members=biggest, real_etcd=real_etcd, store_only=True, fast=fast,
                           etcd_client_ports=free_port_pairs(5), cluster_token="kemu-quorum", netns=netns,
                           name=f"q{os.getpid() % 100000}", subnet=subnet)
    plans = etcd_members(config)
    exp = Experiment(config, request_timeout_s)
    rows: list[Observation] = []
    partitions: list[PartitionObservation] = []
    shrink_ok = False
    try:
        if netns:
            create_machines(config)
        exp.start_first(plans[0])
        exp.wait_converged()
        for size in sorted(sizes):
            while len(exp.members) < size:
                exp.add(plans[len(exp.members)])
                if log:
                    print(f"  grew to {len(exp.members)} members", flush=True)
            for lost in range(size):
                row = exp.observe(lost)
                rows.append(row)
                if log:
                    print(f"  n={size} lost={lost} killed={exp.victims_log[-1]}: writes={row.writes} "
                          f"lin={row.linearizable_reads} "
                          f"ser={row.serializable_reads} election={row.election_s}", flush=True)
            if netns and size > 1:
                partitions.extend(exp.observe_partition())
                if log:
                    print(f"  n={size} partition: " + "; ".join(
                        f"{p.side} writes={p.writes} ser={p.serializable_reads} stale={p.serializable_stale}"
                        for p in partitions[-2:]), flush=True)
        while len(exp.members) > 1:
            exp.remove(exp.members[-1])
            if log:
                print(f"  shrank to {len(exp.members)} members", flush=True)
        shrink_ok = exp.try_write()[0]
    finally:
        exp.close()
        if netns:
            destroy_machines(config)
    return QuorumResult(rows, shrink_ok, "etcd 3.4" if real_etcd else "etcd_raft", partitions)


def write_report(result: QuorumResult, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "quorum.md"
    parts = (f"## Partition: the old leader cut off from the other members\n\n{partition_table(result.partitions)}\n\n"
             if result.partitions else "")
    md.write_text(f"# Quorum experiment ({result.backend})\n\n{markdown_table(result.rows)}\n\n{parts}"
                  f"Shrink 5 -> 3 -> 1 with MemberRemove, then a write: {'ok' if result.shrink_ok else 'FAILED'}.\n"
                  f"Verdict: {'PASS' if result.passed else 'FAIL'}\n")
    js = out_dir / "quorum.json"
    js.write_text(json.dumps({"backend": result.backend, "shrink_ok": result.shrink_ok, "passed": result.passed,
                              "rows": [asdict(r) | {"matches": r.matches} for r in result.rows],
                              "partitions": [asdict(p) | {"matches": p.matches} for p in result.partitions]},
                             indent=2))
    png = out_dir / "quorum.png"
    _plot(result, png)
    return [md, js, png]


def _plot(result: QuorumResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r.members for r in result.rows})
    fig, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.2), squeeze=False)
    for ax, n in zip(axes[0], sizes, strict=True):
        rows = [r for r in result.rows if r.members == n]
        lost = [r.lost for r in rows]
        ax.step(lost, [int(r.writes) for r in rows], where="mid", label="writes / linearizable reads", lw=2)
        ax.step(lost, [int(r.serializable_reads) + 0.04 for r in rows], where="mid", label="serializable reads",
                lw=2, ls="--")
        ax.axvline(n - (n // 2 + 1) + 0.5, color="grey", ls=":", label="quorum boundary")
        ax.set_title(f"{n} member(s), quorum {n // 2 + 1}")
        ax.set_xlabel("members lost")
        ax.set_yticks([0, 1], ["no", "yes"])
        ax.set_xticks(lost)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"What still works ({result.backend})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
