"""Cluster drills: a fault in a whole running cluster (3 etcd members, control plane, 3 nodes on their own machines,
fast timings), measured while workloads run, then judged.

Workloads (all recorded on one Timeline, times relative to the drill's start):
- the store drills' background (kemu.drills.store_drills): a writer putting fresh keys directly into the store, KV
  clients for the linearizability check, and an observer of the members' leader views;
- an API writer creating a ConfigMap every 100 ms through the apiserver;
- a Service prober: a TCP request every 100 ms to a NodePort Service in front of a 3-replica Deployment, through a
  node that is not the victim (the answer names the pod that served it).
Observers mark when the victim node stops being Ready (``node_not_ready``) and when the Deployment again has all its
replicas Ready, none on the victim (``pods_rescheduled``).

Drills: kill-node (SIGKILL the node agent, runtime and proxy, and every container of the node), partition-node (cut
the node's machine off from every other machine), control-plane-down (SIGKILL apiserver, controller-manager and
scheduler; restart them after the hold). Verdict: PASS when no acknowledged write (store or API) is lost, the store
history is linearizable, and the drill's own expectations hold (the node is marked NotReady and the replicas run
elsewhere; or the Service kept answering while the control plane was down and writes work again afterwards).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etcd_raft.checker import check_history
from kemu.drills.store_drills import DrillResult, _Background, _Cluster, _read_back, _Workers
from kemu.drills.timeline import Op, Timeline, failed_requests, write_unavailability
from kemu.launcher import machines, supervisor
from kemu.launcher.kubeconfig import write_token_file
from kemu.launcher.lifecycle import (
    create_machines,
    destroy_machines,
    start_by_role,
    sweep_runtimes,
    write_component_credentials,
)
from kemu.launcher.plan import ClusterConfig, client_url, node_name, pod_cidr
from kemu.launcher.ports import free_port_pairs

NODE_PORT = 30080
APP = "drill-web"
# A real HTTP server (busybox httpd: one listening socket, a process per request), not a `nc -l` loop: the loop
# refuses connections between two requests, which under load read as service failures that are not the cluster's.
SERVER = 'mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'
API_PERIOD_S = 0.1
PROBE_PERIOD_S = 0.1


@dataclass(frozen=True)
class ClusterDrill:
    name: str
    description: str
    hold_s: float          # for control-plane-down; node drills hold until the replicas run elsewhere (bounded)


CLUSTER_DRILLS = {d.name: d for d in [
    ClusterDrill("kill-node", "SIGKILL a node's agent, runtime, proxy and all its containers", 60.0),
    ClusterDrill("partition-node", "cut a node's machine off from every other machine", 60.0),
    ClusterDrill("control-plane-down", "SIGKILL apiserver, controller-manager and scheduler, restart later", 6.0),
]}


class FullCluster(_Cluster):
    """The store drills' cluster handle, for a full cluster: started role by role with component credentials."""

    def start(self) -> None:
        if not self.machines:
            raise RuntimeError("cluster drills need machines: run as root (network namespaces)")
        create_machines(self.config)
        self.token = write_token_file(self.config.state_dir / "tokens.csv")
        write_component_credentials(self.config)
        self.procs = start_by_role(self.specs, self.config, 90)
        for m in self.members:
            st = self.status(m.name, timeout_s=5)
            assert st is not None
            self.names_by_id[st.header.member_id] = m.name
        self.server = client_url(self.config)   # the load balancer's in the HA layout
        self.ssl = ssl.create_default_context(cafile=str(self.config.state_dir / "pki" / "ca.crt"))

    def api(self, method: str, path: str, body: Any = None, timeout_s: float = 2.0) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s, context=self.ssl) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None

    def pid_of(self, name: str) -> int:
        return next(p.pid for s, p in zip(self.specs, self.procs, strict=True) if s.name == name)

    def kill(self, names: list[str]) -> None:
        for name in names:
            try:
                os.killpg(self.pid_of(name), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        for ch in self.channels.values():
            ch.close()
        for p in self.procs:
            supervisor.stop(p, grace_s=2)
        sweep_runtimes(self.procs)
        destroy_machines(self.config)


def _deployment() -> dict[str, Any]:
    tolerate = [{"key": k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}
                for k in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": APP},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": APP}},
                     "template": {"metadata": {"labels": {"app": APP}},
                                  "spec": {"terminationGracePeriodSeconds": 1, "tolerations": tolerate,
                                           "topologySpreadConstraints": [{
                                               "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                               "whenUnsatisfiable": "ScheduleAnyway",
                                               "labelSelector": {"matchLabels": {"app": APP}}}],
                                           # Ready once it accepts connections, as a real workload declares it:
                                           # a replacement is not sent traffic before its server listens
                                           "containers": [{"name": "web", "image": "busybox",
                                                           "command": ["sh", "-c", SERVER],
                                                           "readinessProbe": {"tcpSocket": {"port": 8080},
                                                                              "periodSeconds": 1}}]}}}}


def _service() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": APP},
            "spec": {"type": "NodePort", "selector": {"app": APP},
                     "ports": [{"port": 80, "targetPort": 8080, "nodePort": NODE_PORT}]}}


def _ready_pods(cluster: FullCluster) -> list[dict[str, Any]] | None:
    code, body = cluster.api("GET", f"/api/v1/namespaces/default/pods?labelSelector=app%3D{APP}")
    if code != 200:
        return None
    return [p for p in body["items"] if not p["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions") or [])]


def _wait(pred: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except (OSError, KeyError, TypeError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout_s:.0f}s waiting for {what}")


class _ClusterWorkloads(_Workers):
    """API writer, Service prober, node/pod observers (threads), next to the store drills' background."""

    def __init__(self, cluster: FullCluster, tl: Timeline, t0: float, lock: threading.Lock, probe_addr: str,
                 victim_node: str) -> None:
        self.cluster, self.tl, self.t0, self.lock = cluster, tl, t0, lock
        self.probe_addr, self.victim = probe_addr, victim_node
        self.stop = threading.Event()
        self.acked: list[str] = []
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._write, self._probe, self._observe)]

    def _op(self, client: str, kind: str, call: float, outcome: str, error: str = "") -> None:
        with self.lock:
            self.tl.ops.append(Op(client, kind, call, self.now(), outcome, error))

    def _write(self) -> None:
        seq = 0
        while not self.stop.is_set():
            seq += 1
            name = f"w-{seq:06d}"
            call = self.now()
            try:
                code, _ = self.cluster.api("POST", "/api/v1/namespaces/default/configmaps", {
                    "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"drill": "w"}}})
                outcome = "ok" if code == 201 else "fail" if code < 500 else "unknown"
            except (urllib.error.URLError, OSError) as e:
                refused = isinstance(getattr(e, "reason", e), ConnectionRefusedError)
                outcome = "fail" if refused else "unknown"
            self._op("api", "write", call, outcome)
            if outcome == "ok":
                self.acked.append(name)
            self.stop.wait(API_PERIOD_S)

    def _probe(self) -> None:
        while not self.stop.is_set():
            call = self.now()
            outcome, error = "fail", "no 200 OK"
            try:
                with socket.create_connection((self.probe_addr, NODE_PORT), timeout=1.0) as s:
                    s.settimeout(1.0)
                    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    if b"200 OK" in s.recv(4096):
                        outcome, error = "ok", ""
            except TimeoutError:
                error = "timeout"
            except ConnectionRefusedError:
                error = "refused"
            except OSError as e:
                error = type(e).__name__
            self._op("service", "read", call, outcome, error)
            self.stop.wait(PROBE_PERIOD_S)

    def _observe(self) -> None:
        not_ready_seen = rescheduled_seen = False
        while not self.stop.is_set():
            try:
                code, node = self.cluster.api("GET", f"/api/v1/nodes/{self.victim}", timeout_s=1.0)
                if code == 200 and not not_ready_seen:
                    ready = {c["type"]: c["status"] for c in node["status"].get("conditions") or []}.get("Ready")
                    if ready != "True" and self.tl.fault_time() is not None:
                        not_ready_seen = True
                        with self.lock:
                            self.tl.mark(self.now(), "node_not_ready", f"{self.victim} Ready={ready}")
                pods = _ready_pods(self.cluster)
                if pods is not None and not rescheduled_seen and self.tl.fault_time() is not None and \
                        len(pods) >= 3 and all(p["spec"].get("nodeName") != self.victim for p in pods):
                    rescheduled_seen = True
                    with self.lock:
                        self.tl.mark(self.now(), "pods_rescheduled",
                                     ",".join(sorted(p["spec"]["nodeName"] for p in pods)))
            except (urllib.error.URLError, OSError, KeyError, TypeError, ValueError):
                pass
            self.stop.wait(0.3)



def run(name: str, state_dir: Path, real_etcd: bool = False, subnet: str = "10.250.220.0/24",
        log: bool = True, ha: bool = False) -> DrillResult:
    drill = CLUSTER_DRILLS[name]
    # A fresh store every time: keys left by an earlier run would look like reads of values never written.
    shutil.rmtree(state_dir, ignore_errors=True)
    config = ClusterConfig(state_dir=state_dir, etcd_members=3, real_etcd=real_etcd, nodes=3, fast=True,
                           netns=True, etcd_client_ports=free_port_pairs(3), cluster_token=f"kemu-drill-{name}",
                           name=f"c{os.getpid() % 100000}", subnet=subnet,
                           # HA layout: 3 apiservers behind the load balancer, 2 controller-managers, 2 schedulers
                           apiservers=3 if ha else 1, controller_managers=2 if ha else 1, schedulers=2 if ha else 1)
    cluster = FullCluster(config)
    tl = Timeline()

    def say(text: str) -> None:
        if log:
            print(f"  {time.monotonic() - t0:6.2f}s {text}", flush=True)
    t0 = time.monotonic()
    try:
        cluster.start()
        say("cluster up")
        cluster.api("POST", "/api/v1/namespaces/default/services", _service())
        cluster.api("POST", "/apis/apps/v1/namespaces/default/deployments", _deployment())
        _wait(lambda: len(_ready_pods(cluster) or []) == 3, 120, "3 ready replicas")
        pods = _ready_pods(cluster) or []
        hosting = sorted({p["spec"]["nodeName"] for p in pods})
        victim = hosting[-1]
        probe_node = next(m for n, m in cluster.machines.items() if n.startswith("node-") and n != victim)
        say(f"workload ready on {', '.join(hosting)}; victim node {victim}, probing via {probe_node.name}")
        t0 = time.monotonic()
        with _Background(cluster, tl, t0) as bg, \
                _ClusterWorkloads(cluster, tl, t0, bg.lock, probe_node.address, victim) as wl:
            time.sleep(3.0)
            with bg.lock:
                tl.mark(bg.now(), "fault", f"{name} {victim if name != 'control-plane-down' else ''}".strip())
            say(f"fault: {drill.description}")
            cp = [s.name for s in cluster.specs if s.role in ("apiserver", "lb", "controller-manager", "scheduler")]
            if name == "kill-node":
                cluster.kill([victim, f"{victim}-runtime", f"{victim}-proxy"])
                sweep_runtimes([p for s, p in zip(cluster.specs, cluster.procs, strict=True)
                                if s.name == f"{victim}-runtime"])
            elif name == "partition-node":
                others = [m.address for n, m in cluster.machines.items() if n != victim]
                others += [pod_cidr(i) for i in range(config.nodes) if node_name(i) != victim]
                machines.partition(cluster.machines[victim], others)
            else:
                cluster.kill(cp)
            if name == "control-plane-down":
                time.sleep(drill.hold_s)
            else:
                deadline = time.monotonic() + drill.hold_s
                while time.monotonic() < deadline and tl.first("pods_rescheduled") is None:
                    time.sleep(0.5)
            with bg.lock:
                tl.mark(bg.now(), "heal")
            say("heal")
            if name == "kill-node":
                cluster.restart([f"{victim}-runtime", victim, f"{victim}-proxy"])
            elif name == "partition-node":
                machines.heal(cluster.machines[victim])
            else:
                cluster.restart(cp)
            time.sleep(5.0)
        present = _read_back(cluster)
        code, listed = cluster.api("GET", "/api/v1/namespaces/default/configmaps?labelSelector=drill%3Dw",
                                   timeout_s=10)
        api_present = {o["metadata"]["name"] for o in listed["items"]} if code == 200 else None
    finally:
        cluster.close()
    return _judge(name, "etcd 3.4" if real_etcd else "etcd_raft", tl, bg, wl, present, api_present, config)


def _judge(name: str, backend: str, tl: Timeline, bg: _Background, wl: _ClusterWorkloads,
           present: set[str] | None, api_present: set[str] | None, config: ClusterConfig) -> DrillResult:
    fault = tl.fault_time() or 0.0
    heal = next((m.t for m in tl.marks if m.kind == "heal"), fault)
    not_ready = tl.first("node_not_ready")
    moved = tl.first("pods_rescheduled")
    lost_store = sorted(set(bg.acked) - present) if present is not None else list(bg.acked)
    lost_api = sorted(set(wl.acked) - api_present) if api_present is not None else list(wl.acked)
    lin = check_history(bg.history)
    probes_fault = [o for o in tl.ops if o.client == "service" and fault <= o.call <= heal]
    probes_end = [o for o in tl.ops if o.client == "service" and o.call > heal + 2.0]
    served = sum(o.outcome == "ok" for o in probes_fault) / max(1, len(probes_fault))
    failed, total = failed_requests(tl, "service")
    metrics: dict[str, float | int | None] = {
        "time to NotReady (s)": (not_ready.t - fault) if not_ready else None,
        "time until pods run elsewhere (s)": (moved.t - fault) if moved else None,
        "API write unavailability (s)": write_unavailability(tl, "api"),
        "store write unavailability (s)": write_unavailability(tl, "store"),
        "service requests failed": failed, "service requests": total,
        # a timeout is a lost path (partition, stale rule); a refusal is a backend that is not listening
        "service requests timed out": sum(o.client == "service" and o.error == "timeout" for o in tl.ops),
        "service requests refused": sum(o.client == "service" and o.error == "refused" for o in tl.ops),
        "service answered during the fault (%)": round(100 * served, 1),
        "store writes lost": len(lost_store), "API writes lost": len(lost_api),
        "API writes acknowledged": len(wl.acked), "store writes acknowledged": len(bg.acked),
    }
    checks = {
        "no acknowledged store write lost": present is not None and not lost_store,
        "no acknowledged API write lost": api_present is not None and not lost_api,
        "store history linearizable": lin.ok is True,
        "API writes work after healing": any(o.client == "api" and o.outcome == "ok" and o.call > heal
                                             for o in tl.ops),
        "service answers after recovery": bool(probes_end) and all(o.outcome == "ok" for o in probes_end[-5:]),
    }
    if name == "control-plane-down":
        checks["service kept answering while the control plane was down (>= 90%)"] = served >= 0.9
    else:
        checks["victim node marked NotReady"] = not_ready is not None
        checks["all replicas running elsewhere"] = moved is not None
    result = DrillResult(name, backend, metrics, checks, lost_store + lost_api, tl, lin.summary, bg.history)
    return result
