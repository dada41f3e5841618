"""Reproduce (or rule out) issue 6's gap: new Service connections failing right after a node's proxy restarts.

    .venv/bin/python tools/proxy_restart_repro.py [--cycles 20] [--load 2] [--as-test] [--prior] [--churn]
        [--no-restart] [--out DIR]

What it found (issue 6): restarts alone never failed (0/30 cycles, 0/20 under load). The e2e failures (6 of 50
module runs under load, 17-24 s each) were the pod bridge's MAC moving: the test's new `longconn` pod's veth sorted
below the bridge's MAC (the lowest port MAC, as Linux picks it), so the client pod's cached gateway MAC became
another port's and everything it sent via the gateway (its DNS queries to the node) was dropped until ARP caught up.
`--churn` adds/deletes a pod on node-1 each cycle and prints when the bridge's MAC moves (it must not, since the pod
network pins it: kemu/netdev.py bridge_mac()).

Brings up `kemu up --nodes 2 --netns on` once (a free 10.250.x.0/24 subnet), applies the e2e networking module's
objects (tests/e2e/networking/test_services.py), then runs N bounded cycles of: SIGKILL node-1's proxy, start it
again with the launcher's argv (``--as-test``: plus the e2e test's ``--verify-interval 2 --upstream-dns``), wait
for its first "programmed N services" line, then at once probe from the `client` pod on node-1:
- ``dns``: one A lookup of web.default.svc.cluster.local at node-1's DNS address, from the pod's network namespace;
- ``ip``: 5 new TCP connections to the web VIP:80 from the pod's network namespace (busybox nc -w 3);
- ``name``: 5 new TCP connections to web.default.svc.cluster.local:80 through `kubectl exec` (the pod's own
  resolv.conf, as the e2e test does).
A probe that fails is retried every second (at most 60 s) to measure the outage; the first failure of a run leaves
`nft list ruleset`, `conntrack -L`, the sysctls and the proxy log of node-1 under --out. ``--load K`` runs K
busy-loop processes for the whole run (a loaded CI machine), killed by PID at the end. Prints one line per cycle and
a summary; exit status 1 when any cycle failed. Every loop is bounded; `kemu down` runs at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.networking.test_services import _list, _objects, udp_dns_objects  # noqa: E402
from tests.support.kemu_cli import run_kemu  # noqa: E402
from tests.support.net import free_subnet  # noqa: E402

NAME = "web.default.svc.cluster.local"


class Run:
    def __init__(self, out: Path, as_test: bool, prior: bool = False) -> None:
        self.out = out
        self.prior = prior
        self.as_test = as_test
        self.state = out / "state"
        self.cluster = "r" + uuid.uuid4().hex[:6]
        self.subnet = free_subnet()
        self.env = {**os.environ, "KUBECONFIG": str(self.state / "kubeconfig")}
        self.proxy_pid = 0
        self.proxy_argv: list[str] = []
        self.netns = ""
        self.dns_address = ""
        self.pod_pid = 0
        self.upstream: subprocess.Popen[bytes] | None = None

    def kubectl(self, *args: str, timeout: float = 60, check: bool = True) -> str:
        r = subprocess.run(["kubectl", "--cache-dir", str(self.out / "kc"), *args], capture_output=True, text=True,
                           timeout=timeout, env=self.env)
        if check and r.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {r.stdout}{r.stderr}")
        return r.stdout

    def up(self) -> None:
        r = run_kemu(self.state, self.cluster, "up", "--nodes", "2", "--netns", "on", "--subnet", self.subnet, "--fast")
        if r.returncode != 0:
            raise RuntimeError(r.stdout + r.stderr)
        machines = json.loads((self.state / "machines.json").read_text())["machines"]
        node1 = next(m for m in machines if m["name"] == "node-1")
        self.netns, self.dns_address = node1["netns"], node1["address"]
        record = json.loads((self.state / "state.json").read_text())["processes"]
        proxy = next(p for p in record if p["name"] == "node-1-proxy")
        self.proxy_pid, self.proxy_argv = proxy["pid"], list(proxy["argv"])
        subprocess.run(["kubectl", "--cache-dir", str(self.out / "kc"), "apply", "-f", "-"], input=_list(_objects()),
                       text=True, check=True, capture_output=True, timeout=60, env=self.env)
        self.kubectl("wait", "--for=condition=Available", "deployment/web", "--timeout=180s", timeout=200)
        self.kubectl("wait", "--for=condition=Ready", "pod/client", "--timeout=180s", timeout=200)
        self.vip = self.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
        self.pod_pid = self._client_pid()
        if self.prior:
            self._prior_state()
        if self.as_test:
            # the e2e test's upstream: a resolver on the host side of the underlay (answers nothing of interest)
            port = 20000 + os.getpid() % 20000
            self.upstream = subprocess.Popen([sys.executable, "-c", _UPSTREAM, self.subnet.rsplit(".", 1)[0] + ".1",
                                              str(port)], start_new_session=True)
            self.proxy_argv += ["--verify-interval", "2", "--upstream-dns",
                                f"{self.subnet.rsplit('.', 1)[0]}.1:{port}"]

    def _prior_state(self) -> None:
        """What the e2e module's earlier tests leave behind: an unready web pod, a ClientIP-affinity Service on the
        same pods, a selectorless UDP Service whose endpoints are the nodes' DNS servers, a long-lived connection
        from node-1 through the echo VIP to node-2."""
        web = json.loads(self.kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
        self.kubectl("exec", web[0]["metadata"]["name"], "--", "rm", "/tmp/ready")
        machines = json.loads((self.state / "machines.json").read_text())["machines"]
        addresses = [m["address"] for m in machines if m["name"].startswith("node-")]
        objs: list[dict] = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sticky"},
                             "spec": {"selector": {"app": "web"}, "sessionAffinity": "ClientIP",
                                      "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
                            *udp_dns_objects(addresses)]
        subprocess.run(["kubectl", "--cache-dir", str(self.out / "kc"), "apply", "-f", "-"], input=_list(objs),
                       text=True, check=True, capture_output=True, timeout=60, env=self.env)
        self.kubectl("run", "longconn", "--image=busybox", "--restart=Never",
                     "--overrides", json.dumps({"spec": {"nodeName": "node-1"}}), "--", "sh", "-c",
                     "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); echo $i; sleep 0.1; done | "
                     "nc echo.default.svc.cluster.local 7000")
        for _ in range(60):
            if self.probe_name(3) == 3 and self.kubectl("logs", "longconn", check=False).strip():
                return
            time.sleep(1)
        raise RuntimeError("prior state not serving")

    def _client_pid(self) -> int:
        """The client pod's `sleep 3600` (the only one on the machine started by this cluster's client pod)."""
        for _ in range(60):
            out = subprocess.run(["pgrep", "-f", "-x", "sleep 3600"], capture_output=True, text=True).stdout.split()
            for pid in out:
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net") and self._in_cluster(
                            int(pid)):
                        return int(pid)
            time.sleep(1)
        raise RuntimeError("client pod process not found")

    def _in_cluster(self, pid: int) -> bool:
        ip = json.loads(self.kubectl("get", "pod", "client", "-o", "json"))["status"]["podIP"]
        r = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "-4", "-o", "addr"], capture_output=True,
                           text=True, timeout=10)
        return f" {ip}/" in r.stdout

    def down(self) -> None:
        if self.upstream is not None:
            os.killpg(self.upstream.pid, signal.SIGKILL)
            self.upstream.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proxy_pid, signal.SIGKILL)
        r = run_kemu(self.state, self.cluster, "down")
        print("kemu down:", r.returncode, (r.stdout + r.stderr)[-300:])

    # --- one cycle ---------------------------------------------------------------------------------------------
    def churn(self, cycle: int) -> None:
        """A new pod on node-1 (a new port on node-1's bridge) and the previous one deleted (its port removed)."""
        name = f"churn-{cycle}"
        self.kubectl("run", name, "--image=busybox", "--restart=Never",
                     "--overrides", json.dumps({"spec": {"nodeName": "node-1"}}), "--", "sleep", "3600")
        self.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=90s", timeout=100)
        if cycle:
            self.kubectl("delete", "pod", f"churn-{cycle - 1}", "--wait=false")

    def bridge_mac(self) -> str:
        r = subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}", "ip", "-br", "link", "show", "kemu-cbr0"],
                           capture_output=True, text=True, timeout=10)
        return (r.stdout.split() or ["", "", "?"])[2]

    def restart_proxy(self, cycle: int) -> tuple[float, str]:
        os.kill(self.proxy_pid, signal.SIGKILL)
        for _ in range(200):
            if not Path(f"/proc/{self.proxy_pid}").exists() or _zombie(self.proxy_pid):
                break
            time.sleep(0.05)
        log = self.out / f"proxy-{cycle:02d}.log"
        t0 = time.monotonic()
        with open(log, "ab") as f:
            p = subprocess.Popen(self.proxy_argv, stdout=f, stderr=subprocess.STDOUT, cwd=REPO,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        self.proxy_pid = p.pid
        deadline = t0 + 90
        while time.monotonic() < deadline:
            m = re.search(r"programmed \d+ services \((\w+)", log.read_text())
            if m:
                return time.monotonic() - t0, m.group(1)
            time.sleep(0.05)
        return -1.0, "never"

    def probe_ip(self) -> bool:
        r = subprocess.run(["nsenter", f"--net=/proc/{self.pod_pid}/ns/net", "busybox", "nc", "-w", "3", self.vip,
                            "80"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
        return bool(r.stdout.strip())

    def probe_dns(self) -> bool:
        r = subprocess.run(["nsenter", f"--net=/proc/{self.pod_pid}/ns/net", "busybox", "nslookup", "-type=a", NAME,
                            self.dns_address], capture_output=True, text=True, timeout=30)
        return f"Address: {self.vip}" in r.stdout

    def probe_name(self, n: int) -> int:
        r = subprocess.run(["kubectl", "--cache-dir", str(self.out / "kc"), "exec", "client", "--", "sh", "-c",
                            f"for i in $(seq 1 {n}); do nc -w 3 {NAME} 80 </dev/null; done"],
                           capture_output=True, text=True, timeout=120, env=self.env)
        return len([line for line in r.stdout.splitlines() if line.strip()])

    def capture(self, tag: str) -> None:
        ns = ["nsenter", f"--net=/run/netns/{self.netns}"]
        parts = []
        for argv in (["nft", "-a", "list", "ruleset"], ["conntrack", "-L"], ["conntrack", "-S"],
                     ["sysctl", "net.bridge.bridge-nf-call-iptables", "net.ipv4.ip_forward"],
                     ["ip", "route"], ["ss", "-lunpt"]):
            r = subprocess.run([*ns, *argv], capture_output=True, text=True, timeout=30)
            parts.append(f"### {' '.join(argv)} (rc {r.returncode})\n{r.stdout}{r.stderr}")
        (self.out / f"capture-{tag}.txt").write_text("\n".join(parts))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


_UPSTREAM = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(1.0)
import time
end = time.monotonic() + 7200
while time.monotonic() < end:
    try:
        data, addr = s.recvfrom(4096)
    except socket.timeout:
        continue
    if len(data) > 12:   # NOERROR, no answers (a reply that says nothing)
        s.sendto(data[:2] + bytes([0x81, 0x80]) + data[4:6] + bytes(6) + data[12:], addr)
"""


def _busy(seconds: float) -> subprocess.Popen[bytes]:
    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cycles", type=int, default=20)
    p.add_argument("--load", type=int, default=0, help="busy-loop processes during the cycles")
    p.add_argument("--as-test", action="store_true", help="restart with the e2e test's extra flags")
    p.add_argument("--churn", action="store_true",
                   help="each cycle also starts a pod on node-1 and deletes the previous cycle's (bridge ports)")
    p.add_argument("--no-restart", action="store_true", help="leave the proxy alone (churn only)")
    p.add_argument("--prior", action="store_true", help="first recreate what the e2e module's earlier tests leave")
    p.add_argument("--out", default="")
    a = p.parse_args()
    out = Path(a.out or f"/tmp/nwrepro-{uuid.uuid4().hex[:6]}")
    out.mkdir(parents=True, exist_ok=True)
    run = Run(out, a.as_test, a.prior)
    busy: list[subprocess.Popen[bytes]] = []
    failed = 0
    try:
        run.up()
        print(f"cluster up: {run.cluster} subnet {run.subnet} vip {run.vip} out {out}", flush=True)
        busy = [_busy(a.cycles * 60) for _ in range(a.load)]
        for cycle in range(a.cycles):
            mac = run.bridge_mac()
            if a.churn:
                run.churn(cycle)
            took, how = run.restart_proxy(cycle) if not a.no_restart else (0.0, "no restart")
            t0 = time.monotonic()
            dns, ip = run.probe_dns(), sum(run.probe_ip() for _ in range(5))
            name = run.probe_name(5)
            bad = not dns or ip < 5 or name < 5
            outage = 0.0
            if bad:
                failed += 1
                run.capture(f"{cycle:02d}")
                for _ in range(60):
                    if run.probe_dns() and run.probe_ip() and run.probe_name(1) == 1:
                        break
                    time.sleep(1)
                outage = time.monotonic() - t0
            moved = "" if run.bridge_mac() == mac else f"  [bridge MAC {mac} -> {run.bridge_mac()}]"
            print(f"cycle {cycle:2d}: restart->programmed {took:5.1f}s ({how}); dns {'ok' if dns else 'FAIL'} "
                  f"ip {ip}/5 name {name}/5" + (f"  -> recovered after {outage:.1f}s" if bad else "") + moved,
                  flush=True)
    finally:
        for b in busy:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(b.pid, signal.SIGKILL)
            b.wait(timeout=10)
        run.down()
    print(f"{failed}/{a.cycles} cycles failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
