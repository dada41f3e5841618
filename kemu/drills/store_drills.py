"""Store drills: inject a fault into a running store cluster while clients write, then measure and judge.

A drill owns its cluster (store only; etcd_raft, or real etcd with --real-etcd; members on their own machines when
root). While it runs:
- an observer polls every member's Maintenance.Status (50 ms) and marks who each member believes is leader;
- a writer puts a fresh key every 20 ms (1 s deadline per request, failing over between members) and records every
  request's call/return time and outcome: ok, fail (refused before being applied), unknown (timed out: may or may
  not have been applied).
After a warm-up the fault is injected on the chosen victims, held, then healed (killed members are restarted on
the same data directory), and the writer keeps going until the cluster has recovered. Then every acknowledged key
is read back (linearizable): a missing one is a lost write.

Verdict: PASS when no acknowledged write is lost, writes work again after healing, and the cluster behaved as the
drill expects during the fault (a new leader while a majority survives; no writes without a majority).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Self

import grpc

from etcd_raft.checker import Op as HistoryOp
from etcd_raft.checker import check_history
from etcd_raft.pb import rpc_pb2, rpc_pb2_grpc
from kemu.drills.faults import KILL, PARTITION, PAUSE, Fault, MemberHandle
from kemu.drills.timeline import Op, Timeline, failed_requests, time_to_detect, time_to_new_leader, write_unavailability
from kemu.launcher import supervisor
from kemu.launcher.lifecycle import create_machines, destroy_machines
from kemu.launcher.plan import ClusterConfig, etcd_members, plan, timings
from kemu.launcher.plan import machines as plan_machines
from kemu.launcher.ports import free_port_pairs

WRITE_PERIOD_S = 0.02
KV_CLIENTS = 3
KV_KEYS = 4
KV_PERIOD_S = 0.01
WRITE_TIMEOUT_S = 1.0
OBSERVE_PERIOD_S = 0.05


DEFINITE_REFUSALS = ("etcdserver: no leader", "failed to connect", "Connection refused")


def refused(exc: grpc.RpcError) -> bool:
    """True only when the request certainly had no effect: the member said it has no leader (it sent nothing),
    or no connection was made. A request cut off mid-flight (socket closed, deadline) may have been committed."""
    details = exc.details() or ""
    return exc.code() == grpc.StatusCode.UNAVAILABLE and any(text in details for text in DEFINITE_REFUSALS)


@dataclass(frozen=True)
class DrillSpec:
    name: str
    fault: Fault
    victims: str                    # leader | follower | two | all
    hold_s: float
    majority_survives: bool         # False: writes must stop during the fault
    description: str


DRILLS = {d.name: d for d in [
    DrillSpec("kill-etcd-leader", KILL, "leader", 4.0, True, "SIGKILL the leader, restart it later"),
    DrillSpec("kill-etcd-member", KILL, "follower", 4.0, True, "SIGKILL one follower, restart it later"),
    DrillSpec("pause-etcd-leader", PAUSE, "leader", 4.0, True, "SIGSTOP the leader, SIGCONT later"),
    DrillSpec("partition-etcd-leader", PARTITION, "leader", 4.0, True, "cut the leader off from the other members"),
    DrillSpec("quorum-loss", KILL, "two", 4.0, False, "SIGKILL 2 of 3 members, then restart them"),
    DrillSpec("restart-everything", KILL, "all", 1.0, False, "SIGKILL every member, then start them all again"),
]}


@dataclass
class DrillResult:
    drill: str
    backend: str
    metrics: dict[str, float | int | None]
    checks: dict[str, bool]
    lost_keys: list[str]
    timeline: Timeline = field(repr=False)
    linearizability: str = ""
    history: list[HistoryOp] = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())


class _Cluster:
    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.specs = plan(config)
        self.procs: list[supervisor.Running] = []
        self.machines = {m.name: m for m in plan_machines(config)}
        self.members = etcd_members(config)
        self.channels = {m.name: grpc.insecure_channel(f"{m.host}:{m.client_port}") for m in self.members}
        self.names_by_id: dict[int, str] = {}

    def start(self) -> None:
        if self.machines:
            create_machines(self.config)
        self.procs = [supervisor.start(s, self.config.state_dir) for s in self.specs]
        supervisor.wait_healthy(list(zip(self.specs, self.procs, strict=True)), timeout_s=60)
        for m in self.members:
            st = self.status(m.name, timeout_s=5)
            assert st is not None
            self.names_by_id[st.header.member_id] = m.name

    def restart(self, names: list[str]) -> None:
        batch = []
        for i, spec in enumerate(self.specs):
            if spec.name in names:
                self.procs[i] = supervisor.start(spec, self.config.state_dir)
                batch.append((spec, self.procs[i]))
        supervisor.wait_healthy(batch, timeout_s=60)

    def handles(self) -> list[MemberHandle]:
        return [MemberHandle(m.name, f"{m.host}:{m.client_port}", p.pid, self.machines.get(m.name), m.host)
                for m, p in zip(self.members, self.procs, strict=True)]

    def status(self, name: str, timeout_s: float = 0.3) -> rpc_pb2.StatusResponse | None:
        try:
            return rpc_pb2_grpc.MaintenanceStub(self.channels[name]).Status(rpc_pb2.StatusRequest(),
                                                                           timeout=timeout_s)
        except grpc.RpcError:
            return None

    def kv(self, name: str) -> rpc_pb2_grpc.KVStub:
        return rpc_pb2_grpc.KVStub(self.channels[name])

    def close(self) -> None:
        for ch in self.channels.values():
            ch.close()
        for p in self.procs:
            supervisor.stop(p, grace_s=2)
        if self.machines:
            destroy_machines(self.config)


class _Workers:
    """Background worker threads of a drill: started on enter, stopped (and joined, bounded) on exit; ``now()`` is
    seconds since the drill's t0. Subclasses set ``t0``, ``stop`` and ``threads``."""

    t0: float
    stop: threading.Event
    threads: list[threading.Thread]

    def now(self) -> float:
        return time.monotonic() - self.t0

    def __enter__(self) -> Self:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)


class _Background(_Workers):
    """The observer, the availability writer and the KV clients; they append to one Timeline and one history
    (times relative to t0)."""

    def __init__(self, cluster: _Cluster, tl: Timeline, t0: float, seed: int = 1) -> None:
        self.cluster, self.tl, self.t0 = cluster, tl, t0
        self.stop = threading.Event()
        self.acked: list[str] = []
        self.history: list[HistoryOp] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._observe, daemon=True),
                        threading.Thread(target=self._write, daemon=True)]
        self.threads += [threading.Thread(target=self._kv_client, args=(i, random.Random(seed * 100 + i)),
                                          daemon=True) for i in range(KV_CLIENTS)]

    def _observe(self) -> None:
        last: dict[str, str | None] = {}
        while not self.stop.is_set():
            for m in self.cluster.members:
                st = self.cluster.status(m.name, timeout_s=0.2)
                if st is None:
                    continue
                view = self.cluster.names_by_id.get(st.leader) if st.leader else None
                if last.get(m.name, "?") != view:
                    last[m.name] = view
                    with self.lock:
                        self.tl.mark(self.now(), "leader" if view else "no_leader", view or m.name)
            self.stop.wait(OBSERVE_PERIOD_S)

    def _write(self) -> None:
        names = [m.name for m in self.cluster.members]
        target, seq = 0, 0
        while not self.stop.is_set():
            seq += 1
            key = f"drill/{seq:08d}"
            call = self.now()
            outcome = "unknown"
            try:
                self.cluster.kv(names[target]).Put(rpc_pb2.PutRequest(key=key.encode(), value=b"%d" % seq),
                                                   timeout=WRITE_TIMEOUT_S)
                outcome = "ok"
            except grpc.RpcError as exc:
                outcome = "fail" if refused(exc) else "unknown"
                target = (target + 1) % len(names)
            with self.lock:
                self.tl.ops.append(Op("store", "write", call, self.now(), outcome))
                if outcome == "ok":
                    self.acked.append(key)
            self.stop.wait(WRITE_PERIOD_S)

    def _kv_client(self, index: int, rng: random.Random) -> None:
        """Reads and writes a few shared keys (linearizable reads), for the linearizability check."""
        names = [m.name for m in self.cluster.members]
        target, seq = index % len(names), 0
        while not self.stop.is_set():
            seq += 1
            key = f"lin/k{rng.randrange(KV_KEYS)}"
            is_put = rng.random() < 0.5
            value = f"c{index}-{seq}" if is_put else None
            call = self.now()
            try:
                kv = self.cluster.kv(names[target])
                if is_put:
                    kv.Put(rpc_pb2.PutRequest(key=key.encode(), value=(value or "").encode()), timeout=WRITE_TIMEOUT_S)
                else:
                    resp = kv.Range(rpc_pb2.RangeRequest(key=key.encode()), timeout=WRITE_TIMEOUT_S)
                    value = resp.kvs[0].value.decode() if resp.kvs else None
                outcome = "ok"
            except grpc.RpcError as exc:
                outcome = "fail" if refused(exc) or not is_put else "unknown"
                target = (target + 1) % len(names)
            ret = self.now() if outcome == "ok" else math.inf
            with self.lock:
                self.history.append(HistoryOp(f"c{index}", "put" if is_put else "get", key, value, call, ret,
                                              outcome))
            self.stop.wait(KV_PERIOD_S)



def _victims(spec: DrillSpec, cluster: _Cluster) -> list[MemberHandle]:
    handles = cluster.handles()
    leader_name = None
    for _ in range(100):
        st = cluster.status(handles[0].name)
        leader_name = cluster.names_by_id.get(st.leader) if st and st.leader else None
        if leader_name:
            break
        time.sleep(0.05)
    leader = [h for h in handles if h.name == leader_name]
    followers = [h for h in handles if h.name != leader_name]
    return {"leader": leader, "follower": followers[:1], "two": (leader + followers)[:2], "all": handles}[spec.victims]


def _read_back(cluster: _Cluster, deadline_s: float = 30.0) -> set[str] | None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for m in cluster.members:
            try:
                resp = cluster.kv(m.name).Range(rpc_pb2.RangeRequest(key=b"drill/", range_end=b"drill0",
                                                                     keys_only=True), timeout=5)
                return {kv.key.decode() for kv in resp.kvs}
            except grpc.RpcError:
                continue
        time.sleep(0.2)
    return None


def run(name: str, state_dir: Path, real_etcd: bool = False, netns: bool = False,
        subnet: str = "10.250.210.0/24", log: bool = True, broken_store: bool = False) -> DrillResult:
    """broken_store (etcd_raft only, test-only): members acknowledge writes before replicating them, so the drill's
    checks must catch the loss -- the negative control that shows the drill can fail."""
    spec = DRILLS[name]
    # A fresh store every time: keys left by an earlier run would look like reads of values never written.
    shutil.rmtree(state_dir, ignore_errors=True)
    if broken_store and real_etcd:
        raise ValueError("--broken-store needs etcd_raft")
    config = ClusterConfig(state_dir=state_dir, etcd_members=3, real_etcd=real_etcd, store_only=True, fast=True,
                           etcd_client_ports=free_port_pairs(3), cluster_token=f"kemu-drill-{name}", netns=netns,
                           name=f"d{os.getpid() % 100000}", subnet=subnet,
                           extra_etcd_args=("--unsafe-ack-before-replication",) if broken_store else ())
    cluster = _Cluster(config)
    tl = Timeline()
    try:
        cluster.start()
        t0 = time.monotonic()
        with _Background(cluster, tl, t0) as bg:
            time.sleep(2.0)
            victims = _victims(spec, cluster)
            everyone = cluster.handles()
            old_leader = next((m.detail for m in reversed(tl.marks) if m.kind == "leader"), "")
            with bg.lock:
                tl.mark(bg.now(), "fault", f"{spec.fault.name} {','.join(v.name for v in victims)}")
            spec.fault.inject(victims, everyone)
            if log:
                print(f"  {bg.now():6.2f}s fault: {spec.description} ({', '.join(v.name for v in victims)})",
                      flush=True)
            time.sleep(spec.hold_s)
            with bg.lock:      # healing starts now: restarted members may serve before they report healthy
                tl.mark(bg.now(), "heal")
            if spec.fault.needs_restart:
                cluster.restart([v.name for v in victims])
            else:
                spec.fault.heal(victims, everyone)
            if log:
                print(f"  {bg.now():6.2f}s healed", flush=True)
            time.sleep(4.0)
        present = _read_back(cluster)
    finally:
        cluster.close()
    fault_t = tl.fault_time() or 0.0
    heal_t = next((m.t for m in tl.marks if m.kind == "heal"), fault_t)
    election_s = timings(config)["election_ms"] / 1000
    writes_after_heal = any(op.outcome == "ok" and op.call > heal_t for op in tl.ops)
    ok_during = [op for op in tl.ops if op.outcome == "ok" and fault_t + 2 * election_s < op.ret < heal_t]
    lost = sorted(set(bg.acked) - present) if present is not None else list(bg.acked)
    linearizable = check_history(bg.history)
    failed, total = failed_requests(tl, "store")
    metrics: dict[str, float | int | None] = {
        "time to detect (s)": time_to_detect(tl, old_leader) if spec.victims in ("leader", "two", "all") else None,
        "time to new leader (s)": time_to_new_leader(tl, old_leader) if spec.victims == "leader" else None,
        "write unavailability (s)": write_unavailability(tl, "store"),
        "requests failed": failed, "requests": total, "writes acknowledged": len(bg.acked), "writes lost": len(lost),
        "history operations checked": linearizable.operations,
    }
    checks = {
        "no acknowledged write lost": present is not None and not lost,
        "history linearizable": linearizable.ok is True,
        "writes work after healing": writes_after_heal,
        ("writes continued with a majority" if spec.majority_survives else "no writes without a majority"):
            bool(ok_during) if spec.majority_survives else not ok_during,
    }
    backend = ("etcd 3.4" if real_etcd else
               "etcd_raft (BROKEN: acks before replicating)" if broken_store else "etcd_raft")
    return DrillResult(name, backend, metrics, checks, lost, tl, linearizable.summary, bg.history)


def write_report(result: DrillResult, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"drill-{result.drill}"
    verdict = "PASS" if result.passed else "FAIL"
    lines = [f"# Drill {result.drill} on {result.backend}: {verdict}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {'-' if v is None else (f'{v:.2f}' if isinstance(v, float) else v)} |"
              for k, v in result.metrics.items()]
    lines += ["", "| check | result |", "|---|---|"]
    lines += [f"| {k} | {'ok' if v else 'FAILED'} |" for k, v in result.checks.items()]
    lines += ["", f"Linearizability checker: {result.linearizability}"]
    lines += ["", "## Timeline", ""] + [f"- {m.t:7.3f}s {m.kind} {m.detail}" for m in result.timeline.marks]
    md = base.with_suffix(".md")
    md.write_text("\n".join(lines) + "\n")
    js = base.with_suffix(".json")
    js.write_text(json.dumps({"drill": result.drill, "backend": result.backend, "verdict": verdict,
                              "metrics": result.metrics, "checks": result.checks, "lost_keys": result.lost_keys,
                              "linearizability": result.linearizability,
                              "marks": [asdict(m) for m in result.timeline.marks],
                              "ops": [asdict(o) for o in result.timeline.ops],
                              "history": [asdict(o) for o in result.history]}, indent=1))
    png = base.with_suffix(".png")
    _plot(result, png)
    return [md, js, png]


def _plot(result: DrillResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.2))
    colors = {"ok": "tab:green", "fail": "tab:red", "unknown": "tab:orange"}
    for outcome, color in colors.items():
        ops = [o for o in result.timeline.ops if o.outcome == outcome]
        ax.scatter([o.call for o in ops], [(o.ret - o.call) * 1000 for o in ops], s=6, c=color,
                   label=f"write {outcome}")
    for m in result.timeline.marks:
        if m.kind in ("fault", "heal"):
            ax.axvline(m.t, color="black" if m.kind == "fault" else "grey", ls="--")
            ax.text(m.t, ax.get_ylim()[1] * 0.9, f" {m.kind}", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("write latency (ms)")
    ax.set_title(f"{result.drill} on {result.backend}: {'PASS' if result.passed else 'FAIL'}")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
