"""`make bench-node`: pod create -> Running on one node, for 1, 10 and 30 concurrent pods.

Setup (as root, everything torn down by PID at the end): an etcd_raft cluster (or real etcd with ``--real-etcd``)
through the launcher, one ``python -m apiserver`` (HTTPS, static token), one CRI runtime ``python -m node_agent.cri``
and one node agent ``python -m node_agent``. With ``--pod-network`` (the default, as ``kemu up``) the runtime runs
in a network namespace the benchmark creates and gives every sandbox a veth on a bridge there; the kubelet stays on
loopback (it reaches the runtime over its unix socket). The namespace's ``default`` ServiceAccount and
``kube-root-ca.crt`` ConfigMap are created first (no controller-manager runs).

For each N: N busybox pods (``spec.nodeName`` set, ``sleep`` command) are created concurrently; a pod's latency is
from its create's response to the first watch event carrying ``status.phase == Running`` (the kubelet's status
write, as any client sees it). Then the pods are deleted (grace 1 s) and the round ends when every DELETED event has
arrived. Each N runs ``--rounds`` times; the percentiles are over all pods of all rounds.

Runtime share: the kubelet's ``kubelet_runtime_operations_duration_seconds`` histogram (its /metrics, the real
kubelet's metric) is read before and after each N; the share is the summed duration of the start-path CRI calls
(RunPodSandbox, PodSandboxStatus, CreateContainer, StartContainer, ImageStatus, PullImage) over the summed
create -> Running latencies. Memory: RSS and peak RSS (VmHWM) of the node agent and the runtime process, and the
summed PSS of the runtime's per-pod processes (sandbox holders, container shims, the containers) while the pods
run. CPU: seconds used per pod (create, run, delete) by each component, reaped children included.

The table prints as markdown with the machine's load average; JSON goes to bench/results/node.json.
Target (issue 4): p99 <= 1 s for 30 pods.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.api import TOKEN, ApiProc
from bench.procstat import cpu_s
from bench.store import percentile, start_cluster
from kemu.launcher import supervisor
from kemu.launcher.ports import free_port_pairs

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
NS = "default"
START_OPS = ("run_podsandbox", "podsandbox_status", "create_container", "start_container", "image_status",
             "pull_image")
RUNTIME_METRIC = "kubelet_runtime_operations_duration_seconds"


# ---- pure helpers ------------------------------------------------------------------------------------------------

def parse_op_sums(text: str, metric: str = RUNTIME_METRIC) -> dict[str, tuple[float, int]]:
    """From Prometheus text: operation_type -> (sum of seconds, count) of a histogram's _sum/_count series."""
    out: dict[str, list[float]] = {}
    for line in text.splitlines():
        if not line.startswith(metric) or line.startswith("#"):
            continue
        name, _, rest = line.partition("{")
        labels, _, value = rest.rpartition("}")
        kind = name[len(metric):]
        if kind not in ("_sum", "_count"):
            continue
        op = ""
        for part in labels.split(","):
            k, _, v = part.partition("=")
            if k.strip() == "operation_type":
                op = v.strip().strip('"')
        slot = out.setdefault(op, [0.0, 0.0])
        slot[0 if kind == "_sum" else 1] = float(value.split()[0])
    return {k: (v[0], int(v[1])) for k, v in out.items()}


def op_delta(before: Mapping[str, tuple[float, int]], after: Mapping[str, tuple[float, int]]
             ) -> dict[str, tuple[float, int]]:
    """Per-operation (seconds, calls) spent between two scrapes."""
    return {op: (s - before.get(op, (0.0, 0))[0], c - before.get(op, (0.0, 0))[1])
            for op, (s, c) in after.items() if c - before.get(op, (0.0, 0))[1] > 0}


def runtime_share(delta: Mapping[str, tuple[float, int]], latencies_s: Sequence[float],
                  ops: Sequence[str] = START_OPS) -> float:
    """Summed start-path CRI time over summed create -> Running time (0 when nothing was measured)."""
    total = sum(latencies_s)
    return sum(delta.get(op, (0.0, 0))[0] for op in ops) / total if total > 0 else 0.0


@dataclass
class Row:
    pods: int
    latencies_s: list[float]
    share: float
    per_op_ms: dict[str, float] = field(default_factory=dict)  # mean ms per call
    agent_rss_mb: float = 0.0
    agent_peak_mb: float = 0.0
    runtime_rss_mb: float = 0.0
    runtime_peak_mb: float = 0.0
    helpers_rss_mb: float = 0.0
    cpu_ms_per_pod: dict[str, float] = field(default_factory=dict)  # by component, children included

    def summary(self) -> dict[str, float]:
        lat = self.latencies_s
        return {"pods": self.pods, "samples": len(lat), "p50_s": percentile(lat, 0.5), "p99_s": percentile(lat, 0.99),
                "max_s": max(lat), "runtime_share": self.share, "agent_rss_mb": self.agent_rss_mb,
                "agent_peak_mb": self.agent_peak_mb, "runtime_rss_mb": self.runtime_rss_mb,
                "runtime_peak_mb": self.runtime_peak_mb, "helpers_rss_mb": self.helpers_rss_mb}


def render_table(rows: Sequence[Row]) -> str:
    head = ("| pods | p50 (s) | p99 (s) | max (s) | runtime share | agent RSS / peak (MB) | runtime RSS / peak (MB) "
            "| per-pod processes PSS (MB) |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        s = r.summary()
        lines.append(f"| {r.pods} | {s['p50_s']:.3f} | {s['p99_s']:.3f} | {s['max_s']:.3f} | {s['runtime_share']:.0%} "
                     f"| {s['agent_rss_mb']:.0f} / {s['agent_peak_mb']:.0f} "
                     f"| {s['runtime_rss_mb']:.0f} / {s['runtime_peak_mb']:.0f} | {s['helpers_rss_mb']:.0f} |")
    return "\n".join(lines)


def proc_mem_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB; zeros when it is gone."""
    rss = hwm = 0.0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, hwm


def descendants(root: int) -> list[int]:
    """PIDs of every process below ``root`` (by parent PID), children before grandchildren."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out: list[int] = []
    todo = [root]
    while todo:
        kids = children.get(todo.pop(0), [])
        out += kids
        todo += kids
    return out


def pss_mb(pid: int) -> float:
    """Proportional set size (shared pages split among their users) in MB; 0 when gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ---- processes ---------------------------------------------------------------------------------------------------

class Node:
    """One CRI runtime (optionally in its own network namespace with a pod network) and one node agent."""

    def __init__(self, workdir: Path, api: ApiProc, pod_network: bool, name: str = "bench-node") -> None:
        self.name = name
        self.workdir = workdir
        self.sockdir = Path(tempfile.mkdtemp(prefix="kemu-bn-", dir="/tmp"))  # unix socket paths: <= 107 bytes
        self.sock = self.sockdir / "cri.sock"
        self.netns = f"kemu-bn-{os.getpid()}" if pod_network else ""
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []
        self.root = workdir / "runtime"
        py = sys.executable
        subprocess.run([py, "-m", "node_agent.runtime.images", "build", "busybox", "--root", str(self.root)],
                       cwd=REPO, check=True, timeout=300, capture_output=True)
        prefix: list[str] = []
        net: list[str] = []
        if self.netns:
            subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
            prefix = ["nsenter", f"--net=/run/netns/{self.netns}", "--"]
            net = ["--pod-network-bridge", "kemu-cbr0", "--pod-cidr", "10.244.1.0/24"]
        self.runtime = self._start("runtime", [*prefix, py, "-m", "node_agent.cri", "--socket", str(self.sock),
                                               "--root", str(self.root), *net])
        deadline = time.monotonic() + 60
        while not self.sock.exists():
            if time.monotonic() > deadline or self.runtime.poll() is not None:
                raise RuntimeError(f"the CRI runtime did not start (see {workdir / 'runtime.log'})")
            time.sleep(0.1)
        token = workdir / "token"
        token.write_text(TOKEN)
        self.port = free_port_pairs(1)[0]
        self.agent = self._start("node-agent", [py, "-m", "node_agent", "--node-name", name, "--apiserver", api.url,
                                                "--token-file", str(token), "--ca-file", str(api.ca),
                                                "--cri-socket", str(self.sock), "--root-dir", str(workdir / "kubelet"),
                                                "--address", "127.0.0.1", "--port", str(self.port),
                                                "--capacity", "cpu=8,memory=16Gi,pods=110",
                                                "--pod-cidr", "10.244.1.0/24"])

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 -- lives as long as the process
        self.logs.append(log)
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
                             start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.procs.append(p)
        return p

    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        for log in self.logs:
            log.close()
        # what pods the benchmark left (normally none): a fresh runtime over the same root adopts and removes them
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], check=False, capture_output=True)
        shutil.rmtree(self.sockdir, ignore_errors=True)


# ---- measurement -------------------------------------------------------------------------------------------------

def pod_manifest(name: str, node: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench-node"}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                     "command": ["sleep", "3600"]}]}}


class Bench:
    def __init__(self, api: ApiProc, node: Node, timeout_s: float, store_pids: Sequence[int] = ()) -> None:
        self.components = {"store": list(store_pids), "apiserver": [api.proc.pid], "node agent": [node.agent.pid],
                           "runtime": [node.runtime.pid]}
        self.api = api
        self.node = node
        self.timeout_s = timeout_s
        self.base = api.url + f"/api/v1/namespaces/{NS}"

    async def run(self, sizes: Sequence[int], rounds: int, warmup: bool) -> list[Row]:
        ctx = ssl.create_default_context(cafile=str(self.api.ca))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        conn = aiohttp.TCPConnector(ssl=ctx, limit=256)
        async with aiohttp.ClientSession(connector=conn, headers=headers) as s, aiohttp.ClientSession() as plain:
            self.s, self.plain = s, plain
            await self._prepare()
            if warmup:
                await self._round(1, "warm")
            rows = []
            for n in sizes:
                before = await self._metrics()
                cpu0 = self._cpu()
                lat: list[float] = []
                mem: dict[str, float] = {}
                for r in range(rounds):
                    lat += await self._round(n, f"r{r}n{n}", mem)
                after = await self._metrics()
                cpu1 = self._cpu()
                delta = op_delta(before, after)
                row = Row(n, lat, runtime_share(delta, lat),
                          {op: s_ / c * 1000 for op, (s_, c) in delta.items() if c}, **mem,
                          cpu_ms_per_pod={k: (cpu1[k] - cpu0[k]) * 1000 / len(lat) for k in cpu0})
                rows.append(row)
                print(f"  {n:>3} pods: p50 {row.summary()['p50_s']:.3f} s  p99 {row.summary()['p99_s']:.3f} s  "
                      f"runtime share {row.share:.0%}", flush=True)
            return rows

    def _cpu(self) -> dict[str, float]:
        out = {k: sum(cpu_s(p) for p in pids) for k, pids in self.components.items()}
        out["runtime's own"] = cpu_s(self.node.runtime.pid, children=False)
        # the runtime's fork server (if any) reaps the shims and holders it forked: their CPU is in its cutime
        for pid in descendants(self.node.runtime.pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"node_agent.runtime.forkserver" in f.read():
                        out["runtime"] += cpu_s(pid)
            except OSError:
                continue
        return out

    async def _metrics(self) -> dict[str, tuple[float, int]]:
        try:
            async with self.plain.get(self.node.metrics_url()) as r:
                if r.status != 200:
                    return {}
                return parse_op_sums(await r.text())
        except aiohttp.ClientError:
            return {}

    async def _post(self, path: str, body: dict[str, Any], ok: tuple[int, ...] = (201,)) -> dict[str, Any]:
        async with self.s.post(self.base + path, json=body) as r:
            text = await r.text()
            if r.status not in ok:
                raise RuntimeError(f"POST {path}: {r.status} {text[:300]}")
            return dict(json.loads(text))

    async def _prepare(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            try:
                async with self.s.get(self.api.url + f"/api/v1/nodes/{self.node.name}") as r:
                    if r.status == 200:
                        conds = (await r.json()).get("status", {}).get("conditions") or []
                        if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                            break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the node did not turn Ready")
            await asyncio.sleep(0.3)
        await self._post("/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                              "metadata": {"name": "default"}}, (201, 409))
        await self._post("/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "kube-root-ca.crt"},
                                         "data": {"ca.crt": self.api.ca.read_text()}}, (201, 409))

    async def _round(self, n: int, tag: str, mem: dict[str, float] | None = None) -> list[float]:
        names = [f"bn-{tag}-{i}" for i in range(n)]
        async with self.s.get(self.base + "/pods", params={"labelSelector": "app=bench-node"}) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        created: dict[str, float] = {}
        running: dict[str, float] = {}
        gone: set[str] = set()
        all_running = asyncio.Event()
        all_gone = asyncio.Event()

        async def watch() -> None:
            params = {"watch": "true", "resourceVersion": rv, "labelSelector": "app=bench-node",
                      "timeoutSeconds": str(int(self.timeout_s * 2 + 60))}
            async with self.s.get(self.base + "/pods", params=params,
                                  timeout=aiohttp.ClientTimeout(total=None)) as r:
                async for line in r.content:
                    if not line.strip():
                        continue
                    ev = json.loads(line)
                    obj = ev.get("object") or {}
                    name = (obj.get("metadata") or {}).get("name")
                    if name not in names:
                        continue
                    if ev["type"] == "DELETED":
                        gone.add(name)
                        if len(gone) == n:
                            all_gone.set()
                            return
                    elif (obj.get("status") or {}).get("phase") == "Running" and name not in running:
                        running[name] = time.perf_counter()
                        if len(running) == n:
                            all_running.set()
        watcher = asyncio.ensure_future(watch())
        await asyncio.sleep(0.05)  # let the watch register before the first create

        async def create(name: str) -> None:
            await self._post("/pods", pod_manifest(name, self.node.name))
            created[name] = time.perf_counter()
        try:
            await asyncio.gather(*(create(x) for x in names))
            await asyncio.wait_for(all_running.wait(), self.timeout_s)
            if mem is not None:
                self._sample_memory(mem)

            async def delete(name: str) -> None:
                async with self.s.delete(self.base + f"/pods/{name}") as r:
                    if r.status not in (200, 202, 404):
                        raise RuntimeError(f"DELETE {name}: {r.status} {await r.text()}")
            await asyncio.gather(*(delete(x) for x in names))
            await asyncio.wait_for(all_gone.wait(), self.timeout_s + 30)
        finally:
            watcher.cancel()
        return [max(0.0, running[x] - created[x]) for x in names]

    def _sample_memory(self, mem: dict[str, float]) -> None:
        a_rss, a_hwm = proc_mem_mb(self.node.agent.pid)
        r_rss, r_hwm = proc_mem_mb(self.node.runtime.pid)
        # the runtime's per-pod processes: sandbox holders, container shims and the containers themselves
        helpers = sum(pss_mb(p) for p in descendants(self.node.runtime.pid))
        mem.update(agent_rss_mb=max(mem.get("agent_rss_mb", 0.0), a_rss), agent_peak_mb=a_hwm,
                   runtime_rss_mb=max(mem.get("runtime_rss_mb", 0.0), r_rss), runtime_peak_mb=r_hwm,
                   helpers_rss_mb=max(mem.get("helpers_rss_mb", 0.0), helpers))


def wait_api(api: ApiProc, timeout_s: float = 90.0) -> None:
    """Until the apiserver answers /readyz over HTTPS with its CA (the node agent needs both at start)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if api.proc.poll() is not None:
            raise RuntimeError("the apiserver exited (see its log)")
        if api.ca.exists():
            try:
                ctx = ssl.create_default_context(cafile=str(api.ca))
                with urllib.request.urlopen(api.url + "/readyz", timeout=2, context=ctx) as r:
                    if r.status == 200:
                        return
            except (OSError, ssl.SSLError):
                pass
        time.sleep(0.2)
    raise TimeoutError("the apiserver did not become ready")


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,10,30", help="pod counts, comma separated")
    p.add_argument("--rounds", type=int, default=3, help="rounds per size (percentiles over all pods)")
    p.add_argument("--members", type=int, default=3, help="store members")
    p.add_argument("--real-etcd", action="store_true", help="Debian's etcd instead of etcd_raft")
    p.add_argument("--no-pod-network", dest="pod_network", action="store_false",
                   help="sandboxes with loopback only (no netns/bridge/veth)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a round may take to get all pods Running")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    p.add_argument("--out", default=str(RESULTS / "node.json"))
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench-node needs root (namespaces, cgroups)", file=sys.stderr)
        return 2
    sizes = [int(x) for x in args.sizes.split(",") if x]
    tmp = Path(tempfile.mkdtemp(prefix="kemu-bench-node-"))
    cluster = None
    api = None
    node = None
    load_before = loadavg()
    try:
        cluster = start_cluster(args.real_etcd, tmp / "store", args.members)
        api = ApiProc([f"http://{e}" for e in cluster.endpoints], tmp / "apiserver")
        wait_api(api)
        node = Node(tmp / "node", api, args.pod_network)
        t0 = time.monotonic()
        bench = Bench(api, node, args.timeout, [p.pid for p in cluster.procs])
        rows = asyncio.run(bench.run(sizes, args.rounds, warmup=True))
        elapsed = time.monotonic() - t0
    finally:
        if node is not None:
            node.stop()
        if api is not None:
            api.stop()
        for proc in cluster.procs if cluster is not None else []:
            supervisor.stop(proc)
        if args.keep:
            print(f"work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    load_after = loadavg()
    store = "etcd" if args.real_etcd else "etcd_raft"
    cmd = "make bench-node" + (f" BENCH_ARGS='{' '.join(sys.argv[1:] if argv is None else argv)}'"
                               if (sys.argv[1:] if argv is None else argv) else "")
    print()
    print(f"`{cmd}` -- {store} x{args.members}, pod network {'on' if args.pod_network else 'off'}, "
          f"{args.rounds} rounds per size, load average {load_before} (before) / {load_after} (after), "
          f"{os.cpu_count()} cores, {elapsed:.0f} s")
    print()
    print(render_table(rows))
    print()
    ops = sorted({op for r in rows for op in r.per_op_ms})
    print("mean CRI call (ms), by pods: " + "; ".join(
        f"{r.pods}: " + ", ".join(f"{op} {r.per_op_ms[op]:.0f}" for op in ops if op in r.per_op_ms) for r in rows))
    print("CPU ms per pod (create, run, delete; children included), by pods: " + "; ".join(
        f"{r.pods}: " + ", ".join(f"{k} {v:.0f}" for k, v in r.cpu_ms_per_pod.items()) for r in rows))
    worst = next((r for r in rows if r.pods == 30), None)
    if worst is not None:
        p99 = worst.summary()["p99_s"]
        print(f"target p99 <= 1 s for 30 pods: {p99:.3f} s -> {'met' if p99 <= 1.0 else 'NOT met'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "store": store, "load_before": load_before,
                               "load_after": load_after, "rows": [dict(r.summary(), per_op_ms=r.per_op_ms,
                                                                  cpu_ms_per_pod=r.cpu_ms_per_pod)
                                                                  for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
