"""`make bench-api`: apiserver latency and throughput on etcd_raft and on real etcd, side by side in one run.

For each backend: a 3-member store (through the launcher) and one `python -m apiserver` (HTTPS, static token).
Load is open-loop at fixed request rates (a request is sent on schedule whether or not earlier ones finished), so
latency includes queueing as a client would see it. Metrics:
  create / get @ R req/s     p50 / p99 latency (ms) and achieved rate, ConfigMaps in one namespace
  update @ R req/s           p50 / p99 of read-modify-write PUTs (mutating)
  list N pods                time to LIST all N pods (JSON), p50 of 3
  watch fan-out              W watchers on pods; per-event delivery latency create -> every watcher (p50/p99)
Results print as a table with etcd_raft/etcd ratios and are written to bench/results/api.json.
Target (issue 3): mutating p99 <= 50 ms at 100 req/s on etcd_raft.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.store import percentile, start_cluster
from kemu.launcher import supervisor
from kemu.launcher.ports import free_port_pairs

RESULTS = Path(__file__).resolve().parent / "results"
TOKEN = "bench-admin-token"


class ApiProc:
    def __init__(self, etcd_urls: list[str], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "tokens.csv").write_text(f'{TOKEN},admin,admin,"system:masters"\n')
        self.port = free_port_pairs(1)[0]
        self.log = open(workdir / "apiserver.log", "wb")  # noqa: SIM115 -- lives as long as the process
        self.proc = subprocess.Popen([sys.executable, "-m", "apiserver", "--etcd-servers", ",".join(etcd_urls),
                                      "--secure-port", str(self.port), "--cert-dir", str(workdir / "pki"),
                                      "--token-auth-file", str(workdir / "tokens.csv"), "-v", "0"],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca = workdir / "pki" / "ca.crt"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


async def wait_ready(api: ApiProc, session_factory: Callable[[], aiohttp.ClientSession]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            async with session_factory() as s, s.get(api.url + "/readyz") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("apiserver did not become ready")


async def open_loop(rate: float, duration_s: float, op: Callable[[int], Awaitable[None]]) -> tuple[list[float], float]:
    """Send op(i) every 1/rate s for duration_s; returns per-request latencies (ms) and the achieved rate."""
    lat: list[float] = []
    tasks = []
    start = time.perf_counter()
    n = int(rate * duration_s)

    async def one(i: int) -> None:
        t0 = time.perf_counter()
        await op(i)
        lat.append((time.perf_counter() - t0) * 1000)
    for i in range(n):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i)))
    await asyncio.gather(*tasks)
    return lat, n / (time.perf_counter() - start)


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v" * 64}}


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def measure(api: ApiProc, rate: float, duration_s: float, list_size: int, watchers: int,
                  watch_events: int) -> dict[str, float]:
    deadline = time.monotonic() + 60
    while not api.ca.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    ctx = ssl.create_default_context(cafile=str(api.ca))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=256), headers=headers)

    await wait_ready(api, session)
    out: dict[str, float] = {}
    base = api.url + "/api/v1/namespaces/default"
    async with session() as s:
        async def create(i: int) -> None:
            async with s.post(base + "/configmaps", json=cm(f"c{i}")) as r:
                assert r.status == 201, await r.text()
        lat, achieved = await open_loop(rate, duration_s, create)
        out |= {"create_p50_ms": percentile(lat, 0.5), "create_p99_ms": percentile(lat, 0.99),
                "create_rate": achieved}
        n_created = len(lat)

        async def get(i: int) -> None:
            async with s.get(base + f"/configmaps/c{i % n_created}") as r:
                assert r.status == 200
                await r.read()
        lat, achieved = await open_loop(rate, duration_s, get)
        out |= {"get_p50_ms": percentile(lat, 0.5), "get_p99_ms": percentile(lat, 0.99), "get_rate": achieved}

        async def update(i: int) -> None:
            name = f"c{i % n_created}"
            for _ in range(20):
                async with s.get(base + f"/configmaps/{name}") as r:
                    obj = await r.json()
                obj["data"]["n"] = str(i)
                async with s.put(base + f"/configmaps/{name}", json=obj) as r:
                    if r.status == 200:
                        return
                    assert r.status == 409, await r.text()
        lat, achieved = await open_loop(rate, duration_s, update)
        out |= {"update_p50_ms": percentile(lat, 0.5), "update_p99_ms": percentile(lat, 0.99),
                "update_rate": achieved}

        # the ServiceAccount admission needs the namespace's default ServiceAccount (the controller-manager's job;
        # it does not run in this benchmark)
        async with s.post(base + "/serviceaccounts", json={"apiVersion": "v1", "kind": "ServiceAccount",
                                                          "metadata": {"name": "default"}}) as r:
            assert r.status in (201, 409), await r.text()
        sem = asyncio.Semaphore(32)

        async def make_pod(i: int) -> None:
            async with sem, s.post(base + "/pods", json=pod(f"p{i}")) as r:
                assert r.status == 201, await r.text()
        t0 = time.perf_counter()
        await asyncio.gather(*(make_pod(i) for i in range(list_size)))
        out["pod_create_per_s"] = list_size / (time.perf_counter() - t0)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            async with s.get(base + "/pods") as r:
                body = await r.json()
            times.append((time.perf_counter() - t0) * 1000)
            assert len(body["items"]) == list_size
        out["list_ms"] = sorted(times)[1]

        # watch fan-out: every watcher records when it saw each new pod
        rv = body["metadata"]["resourceVersion"]
        seen: list[dict[str, float]] = [{} for _ in range(watchers)]

        async def watcher(k: int, ready: asyncio.Event) -> None:
            async with s.get(base + "/pods", params={"watch": "true", "resourceVersion": rv,
                                                     "timeoutSeconds": "120"}) as r:
                ready.set()
                async for line in r.content:
                    ev = json.loads(line)
                    name = ev["object"]["metadata"]["name"]
                    if name.startswith("w"):
                        seen[k][name] = time.perf_counter()
                        if len(seen[k]) >= watch_events:
                            return
        readies = [asyncio.Event() for _ in range(watchers)]
        wtasks = [asyncio.ensure_future(watcher(k, readies[k])) for k in range(watchers)]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 60)
        sent: dict[str, float] = {}
        for i in range(watch_events):
            name = f"w{i}"
            sent[name] = time.perf_counter()
            async with s.post(base + "/pods", json=pod(name)) as r:
                assert r.status == 201
            await asyncio.sleep(0.05)
        await asyncio.wait_for(asyncio.gather(*wtasks), 120)
        delays = [(seen[k][n] - sent[n]) * 1000 for k in range(watchers) for n in sent]
        out |= {"watch_p50_ms": percentile(delays, 0.5), "watch_p99_ms": percentile(delays, 0.99)}
    return out


def run_backend(real: bool, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kemu-bench-api-") as tmp:
        cluster = start_cluster(real, Path(tmp) / "store", 3)
        api = ApiProc([f"http://{e}" for e in cluster.endpoints], Path(tmp) / "apiserver")
        try:
            return asyncio.run(measure(api, args.rate, args.duration, args.list_size, args.watchers,
                                       args.watch_events))
        finally:
            api.stop()
            for p in cluster.procs:
                supervisor.stop(p)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--list-size", type=int, default=10000)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--watch-events", type=int, default=20)
    args = p.parse_args()
    results = {"etcd": run_backend(True, args), "etcd_raft": run_backend(False, args)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    print(f"{'metric':<22}{'etcd':>12}{'etcd_raft':>12}{'ratio':>8}")
    for k in results["etcd"]:
        a, b = results["etcd"][k], results["etcd_raft"][k]
        print(f"{k:<22}{a:>12.1f}{b:>12.1f}{(b / a if a else 0):>8.2f}")
    target = results["etcd_raft"]["update_p99_ms"]
    print(f"target mutating p99 <= 50 ms at {args.rate:.0f} req/s on etcd_raft: update p99 {target:.1f} ms, "
          f"create p99 {results['etcd_raft']['create_p99_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
