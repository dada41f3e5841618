"""`make bench-store`: the same load against a real etcd cluster and an etcd_raft cluster, in one run, as ratios.

Each backend is a 3-member cluster started through the launcher (same flags, same machine, loopback), measured with
one asyncio gRPC load generator speaking the etcd v3 protocol. Both clusters run for the whole benchmark and every
phase runs on one right after the other, so a change in the machine's load weighs on both. Metrics:
  seq put p50/p99        sequential puts from one client (ms)
  put throughput         64 concurrent clients, puts/s
  put CPU per op         member CPU (user+system, all members summed, from /proc/<pid>/stat) per put in the
                         throughput phase (us): steadier than puts/s when other work loads the machine
  lin get / ser get      64 concurrent clients, linearizable / serializable gets/s
  watch latency p50/p99  put -> watch event delivered (ms)
  failover median        SIGKILL the leader -> first successful write (s), median of N rounds; a write attempt
                         starts on each survivor every 50 ms and the earliest success counts
Results print as a table with ours/etcd ratios and are written to bench/results/store.json.
Targets (issue 2): write throughput >= 0.5x etcd, p99 <= 2x etcd, failover median <= etcd's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench.procstat import cpu_s
from etcd_raft.pb import rpc_pb2, rpc_pb2_grpc
from kemu.launcher import supervisor
from kemu.launcher.plan import ClusterConfig, etcd_members, plan
from kemu.launcher.ports import free_port_pairs

RESULTS = Path(__file__).resolve().parent / "results"
ATTEMPT_EVERY_S = 0.05         # failover: how often a new write attempt starts on each surviving member
ATTEMPT_TIMEOUT_S = 1.0


@dataclass
class Cluster:
    config: ClusterConfig
    procs: list[supervisor.Running]

    @property
    def endpoints(self) -> list[str]:
        return [f"127.0.0.1:{m.client_port}" for m in etcd_members(self.config)]


def start_cluster(real: bool, state_dir: Path, members: int) -> Cluster:
    config = ClusterConfig(state_dir=state_dir, etcd_members=members, real_etcd=real, store_only=True,
                           etcd_client_ports=free_port_pairs(members))
    specs = plan(config)
    procs = [supervisor.start(spec, state_dir) for spec in specs]
    try:
        supervisor.wait_healthy(list(zip(specs, procs, strict=True)), timeout_s=60)
    except BaseException:
        for proc in procs:     # a cluster that never came up must not outlive the run (it kept spinning on)
            supervisor.stop(proc, grace_s=2)
        raise
    return Cluster(config, procs)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _leader_index(stubs: list[rpc_pb2_grpc.MaintenanceStub]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for i, stub in enumerate(stubs):
            try:
                st = await stub.Status(rpc_pb2.StatusRequest(), timeout=1)
            except grpc.aio.AioRpcError:
                continue
            if st.leader and st.leader == st.header.member_id:
                return i
        await asyncio.sleep(0.05)
    raise RuntimeError("no leader")


async def _timed(n: int, op: Callable[[int], Awaitable[object]]) -> list[float]:
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        await op(i)
        lat.append((time.perf_counter() - t0) * 1000)
    return lat


async def _throughput(clients: int, duration_s: float, op: Callable[[int], Awaitable[object]]) -> float:
    rate, _ = await _throughput_count(clients, duration_s, op)
    return rate


async def _throughput_count(clients: int, duration_s: float,
                            op: Callable[[int], Awaitable[object]]) -> tuple[float, int]:
    """(ops per second, ops done) with `clients` concurrent workers for duration_s."""
    done = 0
    stop_at = time.monotonic() + duration_s

    async def worker(w: int) -> None:
        nonlocal done
        i = 0
        while time.monotonic() < stop_at:
            await op(w * 1_000_000 + i)
            i += 1
            done += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    return done / (time.monotonic() - t0), done


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of the given processes (all their threads), summed."""
    return sum(cpu_s(pid, children=False) for pid in pids)


@dataclass
class Target:
    """One backend's cluster as the load generator sees it (rebuilt after failover rounds)."""
    channels: list[grpc.aio.Channel]
    kvs: list[rpc_pb2_grpc.KVStub]
    leader: int
    pids: list[int]

    @property
    def follower(self) -> int:
        return (self.leader + 1) % len(self.kvs)


async def connect(cluster: Cluster) -> Target:
    channels = [grpc.aio.insecure_channel(ep) for ep in cluster.endpoints]
    leader = await _leader_index([rpc_pb2_grpc.MaintenanceStub(ch) for ch in channels])
    return Target(channels, [rpc_pb2_grpc.KVStub(ch) for ch in channels], leader, [p.pid for p in cluster.procs])


async def seq_put(t: Target, args: argparse.Namespace) -> dict[str, float]:
    kv = t.kvs[t.follower]      # clients usually land on a follower; measure that path for both backends
    value = b"x" * args.value_size
    lat = await _timed(args.seq_ops, lambda i: kv.Put(rpc_pb2.PutRequest(key=b"seq/%d" % i, value=value), timeout=10))
    return {"seq put p50 (ms)": percentile(lat, 0.5), "seq put p99 (ms)": percentile(lat, 0.99)}


async def put_throughput(t: Target, args: argparse.Namespace) -> dict[str, float]:
    value = b"x" * args.value_size

    def put_any(i: int) -> Awaitable[object]:
        return t.kvs[i % len(t.kvs)].Put(rpc_pb2.PutRequest(key=b"tp/%d" % (i % 1000), value=value), timeout=10)

    cpu0 = cpu_seconds(t.pids)
    rate, done = await _throughput_count(args.clients, args.duration, put_any)
    cpu = cpu_seconds(t.pids) - cpu0
    return {f"put throughput (/s, {args.clients} clients)": rate,
            "put CPU per op (us, all members)": cpu / max(1, done) * 1e6}


def _get_any(t: Target, serializable: bool) -> Callable[[int], Awaitable[object]]:
    return lambda i: t.kvs[i % len(t.kvs)].Range(
        rpc_pb2.RangeRequest(key=b"tp/%d" % (i % 1000), serializable=serializable), timeout=10)


async def lin_get(t: Target, args: argparse.Namespace) -> dict[str, float]:
    return {"linearizable get (/s)": await _throughput(args.clients, args.duration, _get_any(t, False))}


async def ser_get(t: Target, args: argparse.Namespace) -> dict[str, float]:
    return {"serializable get (/s)": await _throughput(args.clients, args.duration, _get_any(t, True))}


async def watch_latency(t: Target, args: argparse.Namespace) -> dict[str, float]:
    lat = await _watch_latency(t.channels[t.follower], t.kvs[t.leader], args.watch_ops)
    return {"put->watch p50 (ms)": percentile(lat, 0.5), "put->watch p99 (ms)": percentile(lat, 0.99)}


PHASES = [seq_put, put_throughput, lin_get, ser_get, watch_latency]


async def measure(clusters: dict[str, Cluster], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Every phase runs on each backend back to back (the order alternating between phases), so a change in the
    machine's load during the run weighs on both alike; the idle cluster only exchanges heartbeats meanwhile."""
    targets = {name: await connect(cluster) for name, cluster in clusters.items()}
    out: dict[str, dict[str, float]] = {name: {} for name in clusters}
    names = list(clusters)
    for n, phase in enumerate(PHASES):
        for name in names if n % 2 == 0 else names[::-1]:
            print(f"  {phase.__name__} on {name} ...", flush=True)
            out[name].update(await phase(targets[name], args))
    for t in targets.values():
        for ch in t.channels:
            await ch.close()
    rounds: dict[str, list[float]] = {name: [] for name in clusters}
    for r in range(args.failover_rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            print(f"  failover round {r + 1} on {name} ...", flush=True)
            rounds[name].append(await failover_round(clusters[name]))
    for name in names:
        out[name]["failover median (s)"] = statistics.median(rounds[name])
    return out


async def _watch_latency(watch_channel: grpc.aio.Channel, kv: rpc_pb2_grpc.KVStub, n: int) -> list[float]:
    stub = rpc_pb2_grpc.WatchStub(watch_channel)
    requests: asyncio.Queue[rpc_pb2.WatchRequest | None] = asyncio.Queue()
    await requests.put(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"wl/", range_end=b"wl0")))

    async def gen():  # type: ignore[no-untyped-def]
        while (req := await requests.get()) is not None:
            yield req

    call = stub.Watch(gen())
    first = await call.read()
    assert first.created
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        await kv.Put(rpc_pb2.PutRequest(key=b"wl/%d" % i, value=b"v"), timeout=10)
        while True:
            resp = await asyncio.wait_for(call.read(), 10)
            if resp.events:
                break
        lat.append((time.perf_counter() - t0) * 1000)
    await requests.put(None)
    call.cancel()
    return lat


async def _first_write(kvs: list[rpc_pb2_grpc.KVStub], t0: float, limit_s: float = 30.0) -> float:
    """Seconds from t0 to the first successful put on any of kvs. A new attempt goes to every member each
    ATTEMPT_EVERY_S, each waiting up to ATTEMPT_TIMEOUT_S, and the earliest completion counts: a server that holds a
    request until it has a leader (etcd) and one that fails fast (ours, at times) are timed alike, to within
    ATTEMPT_EVERY_S, rather than in steps of a client timeout."""
    first: float | None = None
    won = asyncio.Event()
    attempts: set[asyncio.Task[None]] = set()

    async def attempt(kv: rpc_pb2_grpc.KVStub) -> None:
        nonlocal first
        try:
            await kv.Put(rpc_pb2.PutRequest(key=b"failover", value=b"v"), timeout=ATTEMPT_TIMEOUT_S)
        except grpc.aio.AioRpcError:
            return
        if first is None:
            first = time.monotonic() - t0
            won.set()

    try:
        while not won.is_set() and time.monotonic() - t0 < limit_s:
            for kv in kvs:
                task = asyncio.ensure_future(attempt(kv))
                attempts.add(task)
                task.add_done_callback(attempts.discard)
            try:
                await asyncio.wait_for(won.wait(), ATTEMPT_EVERY_S)
            except TimeoutError:
                pass
    finally:
        for task in list(attempts):
            task.cancel()
        await asyncio.gather(*attempts, return_exceptions=True)
    return first if first is not None else limit_s


async def failover_round(cluster: Cluster) -> float:
    """SIGKILL the leader, time until a write succeeds on a surviving member; restart the member."""
    channels = [grpc.aio.insecure_channel(ep) for ep in cluster.endpoints]
    maint = [rpc_pb2_grpc.MaintenanceStub(ch) for ch in channels]
    kvs = [rpc_pb2_grpc.KVStub(ch) for ch in channels]
    leader = await _leader_index(maint)
    victim = cluster.procs[leader]
    t0 = time.monotonic()
    os.killpg(victim.pid, signal.SIGKILL)
    took = await _first_write([kv for i, kv in enumerate(kvs) if i != leader], t0)
    spec = plan(cluster.config)[leader]
    cluster.procs[leader] = supervisor.start(spec, cluster.config.state_dir)
    supervisor.wait_healthy([(spec, cluster.procs[leader])], timeout_s=60)
    for ch in channels:
        await ch.close()
    await asyncio.sleep(1.0)
    return took


def table(etcd: dict[str, float], ours: dict[str, float]) -> str:
    lines = [f"| {'metric':<34} | {'etcd 3.4':>10} | {'etcd_raft':>10} | {'ours/etcd':>9} |",
             f"|{'-' * 36}|{'-' * 12}|{'-' * 12}|{'-' * 11}|"]
    for key in etcd:
        ratio = ours[key] / etcd[key] if etcd[key] else float("nan")
        lines.append(f"| {key:<34} | {etcd[key]:>10.2f} | {ours[key]:>10.2f} | {ratio:>9.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seq-ops", type=int, default=500)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per throughput phase")
    parser.add_argument("--watch-ops", type=int, default=200)
    parser.add_argument("--value-size", type=int, default=256)
    parser.add_argument("--failover-rounds", type=int, default=5)
    parser.add_argument("--only-etcd", action="store_true", help="measure only the reference (harness check)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kemu-bench-") as tmp:
        clusters: dict[str, Cluster] = {}
        try:
            for name in ["etcd"] if args.only_etcd else ["etcd", "etcd_raft"]:
                clusters[name] = start_cluster(name == "etcd", Path(tmp) / name, 3)
            print("measuring etcd and etcd_raft, phase by phase ...", flush=True)
            results = asyncio.run(measure(clusters, args))
        finally:
            for cluster in clusters.values():
                for proc in cluster.procs:
                    supervisor.stop(proc, grace_s=2)
    etcd = results["etcd"]
    ours = results.get("etcd_raft", etcd)
    load_after = os.getloadavg()
    print(table(etcd, ours))
    print(f"load average (1/5/15 min): {_fmt_load(load_before)} before, {_fmt_load(load_after)} after "
          f"({os.cpu_count()} CPUs)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store.json").write_text(json.dumps({"etcd": etcd, "etcd_raft": ours, "args": vars(args),
                                                    "load_before": load_before, "load_after": load_after},
                                                   indent=2))


def _fmt_load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    main()
