"""`make bench-net`: Service rule programming time and request latency through a VIP vs direct pod IP.

Setup (root): `kemu up --nodes 2 --netns on --fast` on a free underlay subnet, torn down with `kemu down` at the end.

1. nft apply time (in a scratch network namespace the benchmark creates): the whole table for --services x
   --endpoints (default 100 x 10) as one transaction, and one incremental change on top of it (one endpoint added
   to one service), each through the `nft -f` command and through an in-process libnftables context (what the
   proxy uses: node_agent/proxy/libnft.py); --repeats each, median and max.
2. Programming through the proxy (node_agent.proxy on node-1 and node-2, as `kemu up` runs them):
   - burst: the Services and their EndpointSlices are created through the apiserver (16 in flight); the time is from
     the last create's response (every object present in the apiserver) until both nodes' tables hold every VIP;
   - cold start: node-1's proxy is SIGKILLed, its table deleted, and the same command started again; the time is
     from the start to the complete table (process start, list, one full transaction);
   - incremental: one endpoint is added to an EndpointSlice, --changes times, 0.3 s apart (isolated changes); from
     the update's response until the new endpoint's chain is in node-1's table. The proxy's own log gives the
     programming part of each pass.
3. Latency: a client pod on node-1; backends on node-1 and node-2 each run a small Python echo server inside the
   pod's network namespace (entered by the benchmark); each backend has a Service with that one endpoint. --requests
   TCP connect + 16-byte echo + close per target, VIP and pod IP alternating, p50/p99 in microseconds.

The markdown table prints with the load average (the machine is shared: numbers are under that load); JSON goes to
bench/results/net.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kemu.rest import Conflict, RestClient
from node_agent.dns.upstream import enter_netns
from node_agent.proxy import libnft
from node_agent.proxy.rules import TABLE, Endpoint, delta_script, desired, endpoint_chain, full_script, service_ports

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
NS = "default"

ECHO_SERVER = ("import socket\n"
               "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
               "s.bind(('0.0.0.0', 9000)); s.listen(128)\n"
               "while True:\n"
               "  c,_=s.accept(); c.sendall(c.recv(64)); c.close()\n")

CLIENT = ("import json,socket,sys,time\n"
          "targets=json.loads(sys.argv[1]); n=int(sys.argv[2]); out={k: [] for k in targets}\n"
          "for _ in range(n):\n"
          "  for k,(h,p) in targets.items():\n"
          "    t=time.perf_counter(); c=socket.create_connection((h,p),timeout=5); c.sendall(b'x'*16)\n"
          "    got=b''\n"
          "    while len(got)<16:\n"
          "      b=c.recv(64)\n"
          "      if not b: break\n"
          "      got+=b\n"
          "    c.close(); out[k].append((time.perf_counter()-t)*1e6)\n"
          "print(json.dumps(out))\n")


# ---- pure helpers ------------------------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_objects(services: int, endpoints: int, first_ip: int = 0) -> tuple[list[dict], list[dict]]:
    """Selectorless Services `bench-<i>` with fixed VIPs in 10.100.<i/250>.<i%250+1> and one EndpointSlice each of
    `endpoints` ready addresses in 10.200.<i>.x (nobody needs to answer: this measures programming)."""
    svcs, slices = [], []
    for i in range(services):
        name = f"bench-{i}"
        svcs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
                     "spec": {"clusterIP": vip(i), "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
        slices.append(endpoint_slice(name, [f"10.200.{i}.{first_ip + j + 1}" for j in range(endpoints)]))
    return svcs, slices


def vip(i: int) -> str:
    return f"10.100.{i // 250}.{i % 250 + 1}"


def endpoint_slice(service: str, ips: list[str]) -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": f"{service}-s", "namespace": NS, "labels": {"kubernetes.io/service-name": service}},
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values, 0.5) * 1000, 1), "max_ms": round(max(values) * 1000, 1),
            "n": len(values)}


def latency_row(name: str, vip_us: Sequence[float], direct_us: Sequence[float]) -> dict[str, Any]:
    return {"path": name, "vip_p50_us": round(percentile(vip_us, 0.5)), "vip_p99_us": round(percentile(vip_us, 0.99)),
            "direct_p50_us": round(percentile(direct_us, 0.5)), "direct_p99_us": round(percentile(direct_us, 0.99)),
            "n": len(vip_us)}


def render(result: dict[str, Any]) -> str:
    s, e = result["services"], result["endpoints"]
    rows = ["| measurement | p50 | max | n |", "|---|---|---|---|"]
    for key, label in [("nft_full", f"`nft -f` command, whole table ({s} services x {e} endpoints)"),
                       ("nft_delta", "`nft -f` command, one endpoint added (incremental transaction)"),
                       ("lib_full", "libnftables in-process, whole table"),
                       ("lib_delta", "libnftables in-process, one endpoint added (what the proxy does)"),
                       ("burst", f"{s} Services + {s} EndpointSlices created -> rules on both nodes"),
                       ("cold_start", "proxy started on an empty table -> complete table"),
                       ("incremental", "one endpoint added to a slice -> rule on node-1"),
                       ("proxy_nft_incremental", "  of which the proxy's programming pass (from its log)")]:
        if key in result:
            r = result[key]
            rows.append(f"| {label} | {r['p50_ms']} ms | {r['max_ms']} ms | {r['n']} |")
    rows += ["", "| TCP connect + echo + close | VIP p50 | VIP p99 | pod IP p50 | pod IP p99 | n |",
             "|---|---|---|---|---|---|"]
    for r in result.get("latency", []):
        rows.append(f"| {r['path']} | {r['vip_p50_us']} us | {r['vip_p99_us']} us | {r['direct_p50_us']} us | "
                    f"{r['direct_p99_us']} us | {r['n']} |")
    return "\n".join(rows)


# ---- I/O ---------------------------------------------------------------------------------------------------------

def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(argv: Sequence[str], stdin: str | None = None, timeout: float = 120) -> str:
    r = subprocess.run(list(argv), input=stdin, text=True, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}: {r.stderr.strip()[:2000]}")
    return r.stdout


def free_subnet() -> str:
    used = run(["ip", "-4", "-o", "addr"])
    for x in range(230, 250):
        if f"10.250.{x}." not in used:
            return f"10.250.{x}.0/24"
    raise RuntimeError("no free 10.250.x.0/24 subnet")


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.02) -> float:
    """Poll until check() holds; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(interval_s)
    raise TimeoutError(what)


def nft_apply_times(services: int, endpoints: int, repeats: int) -> dict[str, dict[str, float]]:
    ns = f"kemu-bn-{uuid.uuid4().hex[:6]}"
    run(["ip", "netns", "add", ns])
    try:
        svcs, slices = bench_objects(services, endpoints)
        base = desired(service_ports(svcs, slices))
        grown = desired(service_ports(svcs, [*slices[:-1], endpoint_slice(f"bench-{services - 1}", [
            *[f"10.200.{services - 1}.{j + 1}" for j in range(endpoints)], "10.200.255.1"])]))
        nft = ["nsenter", f"--net=/run/netns/{ns}", "nft", "-f", "-"]
        lib = _library_in(ns) if libnft.available() else None
        times: dict[str, list[float]] = {"nft_full": [], "nft_delta": [], "lib_full": [], "lib_delta": []}

        def timed(key: str, apply: Callable[[str], object], script: str) -> None:
            t = time.monotonic()
            apply(script)
            times[key].append(time.monotonic() - t)
        for _ in range(repeats):
            timed("nft_full", lambda text: run(nft, text), full_script(base))
            timed("nft_delta", lambda text: run(nft, text), delta_script(base, grown))
            run(nft, delta_script(grown, base))
            if lib is not None:
                timed("lib_full", lib.run, full_script(base))
                timed("lib_delta", lib.run, delta_script(base, grown))
                lib.run(delta_script(grown, base))
        if lib is not None:
            lib.close()
        return {k: summary_ms(v) for k, v in times.items() if v}
    finally:
        run(["ip", "netns", "del", ns])


def _library_in(netns: str) -> libnft.Nft:
    """A libnftables context bound to `netns` (its netlink socket is made by a thread that entered it)."""
    box: list[libnft.Nft] = []

    def make() -> None:
        enter_netns(f"/run/netns/{netns}")
        box.append(libnft.Nft())
    t = threading.Thread(target=make)
    t.start()
    t.join()
    return box[0]


class Cluster:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.state = work / "state"
        self.name = "bn" + uuid.uuid4().hex[:6]
        self.subnet = free_subnet()

    def kemu(self, *args: str) -> str:
        return run([sys.executable, "-m", "kemu", "--cluster", self.name, "--state-dir", str(self.state), *args],
                   timeout=300)

    def up(self) -> None:
        self.kemu("up", "--nodes", "2", "--netns", "on", "--subnet", self.subnet, "--fast")
        machines = json.loads((self.state / "machines.json").read_text())["machines"]
        self.netns = {m["name"]: m["netns"] for m in machines}

    def down(self) -> None:
        self.kemu("down")

    def table(self, node: str) -> str:
        try:
            return run(["nsenter", f"--net=/run/netns/{self.netns[node]}", "nft", "list", "map", "ip", TABLE,
                        "service_ips"], timeout=30)
        except RuntimeError:
            return ""

    def process(self, name: str) -> dict[str, Any]:
        record = json.loads((self.state / "state.json").read_text())["processes"]
        return dict(next(p for p in record if p["name"] == name))

    def sandbox_netns(self, node: str, pod: str) -> str:
        for rec in (self.state / "nodes" / node / "runtime" / "sandboxes").glob("*/sandbox.json"):
            data = json.loads(rec.read_text())
            if data.get("name") == pod and data.get("namespace") == NS and data.get("state") == "ready":
                return f"/proc/{data['holder_pid']}/ns/net"
        raise RuntimeError(f"no ready sandbox for {pod} on {node}")


def _complete(c: Cluster, node: str, services: int) -> Callable[[], bool]:
    def check() -> bool:
        text = c.table(node)
        return all(f"{vip(i)} . tcp . 80" in text for i in range(services))
    return check


def _has_vip(c: Cluster, node: str, element: str) -> Callable[[], bool]:
    return lambda: element in c.table(node)


def _has_chain(c: Cluster, node: str, chain: str) -> Callable[[], bool]:
    argv = ["nsenter", f"--net=/run/netns/{c.netns[node]}", "nft", "list", "chain", "ip", TABLE, chain]
    return lambda: subprocess.run(argv, capture_output=True, timeout=30).returncode == 0


async def create_all(client: RestClient, objs: list[tuple[str, dict]]) -> None:
    sem = asyncio.Semaphore(16)

    async def one(path: str, body: dict) -> None:
        async with sem:
            try:
                await client.request("POST", path, body)
            except Conflict:
                pass
    async with client:
        await asyncio.gather(*(one(p, b) for p, b in objs))


def programming(c: Cluster, client: RestClient, services: int, endpoints: int, changes: int,
                procs: list[subprocess.Popen[bytes]], spacing_s: float = 0.3) -> dict[str, Any]:
    svcs, slices = bench_objects(services, endpoints)
    objs = [(f"/api/v1/namespaces/{NS}/services", s) for s in svcs]
    objs += [(f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices", s) for s in slices]
    t0 = time.monotonic()
    asyncio.run(create_all(client, objs))
    acked = time.monotonic()
    done = max(wait_until(_complete(c, node, services), 120, f"all VIPs on {node}") for node in ("node-1", "node-2"))
    out: dict[str, Any] = {"burst": summary_ms([done - acked]), "burst_from_first_create_s": round(done - t0, 2)}
    # cold start: node-1's proxy from nothing
    proxy = c.process("node-1-proxy")
    os.kill(proxy["pid"], signal.SIGKILL)
    time.sleep(0.5)
    run(["nsenter", f"--net=/run/netns/{c.netns['node-1']}", "nft", "delete", "table", "ip", TABLE])
    log = c.work / "node-1-proxy.log"
    with open(log, "ab") as f:
        started = time.monotonic()
        procs.append(subprocess.Popen(proxy["argv"], stdout=f, stderr=subprocess.STDOUT, cwd=REPO,
                                      start_new_session=True))
    ready = wait_until(_complete(c, "node-1", services), 120, "cold start table", 0.05)
    out["cold_start"] = summary_ms([ready - started])
    # incremental: one more endpoint in one slice, `changes` times
    times = []
    for k in range(changes):
        i = k % services
        new_ip = f"10.200.{i}.{endpoints + 1 + k // services}"
        body = endpoint_slice(f"bench-{i}", [*[f"10.200.{i}.{j + 1}" for j in range(endpoints)], new_ip])
        path = f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices/bench-{i}-s"
        time.sleep(spacing_s)     # an isolated change, not one queued behind the previous pass's --resync-delay
        current = asyncio.run(_get(client, path))
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        asyncio.run(_put(client, path, body))
        [sp] = service_ports(bench_objects(i + 1, 0)[0][i:], [body])
        t = time.monotonic()
        seen = wait_until(_has_chain(c, "node-1", endpoint_chain(sp, Endpoint(new_ip, 8080))), 60,
                          f"endpoint {new_ip} programmed")
        times.append(seen - t)
    out["incremental"] = summary_ms(times)
    passes = [float(m) / 1000 for m in re.findall(r"\(delta, \d+ lines\) in ([\d.]+) ms", log.read_text())]
    if passes:
        out["proxy_nft_incremental"] = summary_ms(passes[-changes:])
    return out


async def _get(client: RestClient, path: str) -> dict[str, Any]:
    async with client:
        return dict(await client.request("GET", path))


async def _put(client: RestClient, path: str, body: dict) -> None:
    async with client:
        await client.request("PUT", path, body)


def latency(c: Cluster, requests: int) -> list[dict[str, Any]]:
    pods = [("bench-client", "node-1"), ("bench-backend-1", "node-1"), ("bench-backend-2", "node-2")]
    for name, node in pods:
        spec = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"bench": name}},
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox",
                                                             "command": ["sleep", "36000"]}]}}
        run(["kubectl", "--kubeconfig", str(c.state / "kubeconfig"), "apply", "-f", "-"], json.dumps(spec))
    for backend in ("bench-backend-1", "bench-backend-2"):
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": backend},
               "spec": {"selector": {"bench": backend}, "ports": [{"port": 9000, "targetPort": 9000}]}}
        run(["kubectl", "--kubeconfig", str(c.state / "kubeconfig"), "apply", "-f", "-"], json.dumps(svc))
    run(["kubectl", "--kubeconfig", str(c.state / "kubeconfig"), "wait", "--for=condition=Ready", "--timeout=120s",
         *[f"pod/{n}" for n, _ in pods]])
    servers = [subprocess.Popen(["nsenter", f"--net={c.sandbox_netns(node, name)}", sys.executable, "-c",
                                 ECHO_SERVER], start_new_session=True)
               for name, node in pods[1:]]
    try:
        time.sleep(1.0)
        targets: dict[str, tuple[str, int]] = {}
        for backend in ("bench-backend-1", "bench-backend-2"):
            kc = ["kubectl", "--kubeconfig", str(c.state / "kubeconfig"), "get"]
            targets[f"{backend}/vip"] = (run([*kc, "svc", backend, "-o", "jsonpath={.spec.clusterIP}"]), 9000)
            targets[f"{backend}/pod"] = (run([*kc, "pod", backend, "-o", "jsonpath={.status.podIP}"]), 9000)
        for backend in ("bench-backend-1", "bench-backend-2"):
            host = targets[f"{backend}/vip"][0]
            wait_until(_has_vip(c, "node-1", f"{host} . tcp . 9000"), 60, f"{backend} programmed", 0.2)
        client_ns = c.sandbox_netns("node-1", "bench-client")
        out = json.loads(run(["nsenter", f"--net={client_ns}", sys.executable, "-c", CLIENT, json.dumps(targets),
                              str(requests)], timeout=600))
        return [latency_row("same node (client and backend on node-1)", out["bench-backend-1/vip"],
                            out["bench-backend-1/pod"]),
                latency_row("across nodes (client node-1, backend node-2)", out["bench-backend-2/vip"],
                            out["bench-backend-2/pod"])]
    finally:
        for s in servers:
            os.killpg(s.pid, signal.SIGKILL)
            s.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--services", type=int, default=100)
    p.add_argument("--endpoints", type=int, default=10, help="endpoints per service")
    p.add_argument("--repeats", type=int, default=5, help="nft apply repetitions")
    p.add_argument("--changes", type=int, default=10, help="incremental endpoint changes through the proxy")
    p.add_argument("--requests", type=int, default=500, help="connections per latency target")
    p.add_argument("--out", default=str(RESULTS / "net.json"))
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench-net needs root (network namespaces, nftables)", file=sys.stderr)
        return 2
    load_before = loadavg()
    t_start = time.monotonic()
    result: dict[str, Any] = {"services": args.services, "endpoints": args.endpoints}
    result |= nft_apply_times(args.services, args.endpoints, args.repeats)
    work = Path(tempfile.mkdtemp(prefix="kemu-bench-net-"))
    c = Cluster(work)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        c.up()
        client = RestClient.from_kubeconfig(str(c.state / "kubeconfig"))
        result |= programming(c, client, args.services, args.endpoints, args.changes, procs)
        result["latency"] = latency(c, args.requests)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        try:
            c.down()
        except RuntimeError as e:
            print(f"kemu down: {e}", file=sys.stderr)
    result["load_before"], result["load_after"] = load_before, loadavg()
    result["elapsed_s"] = round(time.monotonic() - t_start, 1)
    cmd = "make bench-net" + (f" BENCH_ARGS='{' '.join(argv or sys.argv[1:])}'" if (argv or sys.argv[1:]) else "")
    print(f"\n`{cmd}` -- kemu up --nodes 2 (netns), load average {load_before} (before) / {result['load_after']} "
          f"(after), {os.cpu_count()} cores, {result['elapsed_s']} s\n")
    print(render(result))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
