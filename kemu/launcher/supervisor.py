"""Start and stop a plan's processes, detached from the launcher, recorded by PID in <state_dir>/state.json.

Contracts:
- Every process starts in its own session (its own process group) with stdout/stderr to <state_dir>/logs/<name>.log,
  so `kemu up` can return while the cluster keeps running and `kemu down` can stop each process group by its PID.
- state.json is the only record of what runs; `down` signals exactly the recorded PIDs (never by name), first SIGTERM,
  then SIGKILL after a grace period, and only if the PID still belongs to the recorded process (start time check).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kemu.launcher.plan import ComponentSpec, Health

REPO = Path(__file__).resolve().parents[2]
STATE_FILE = "state.json"


@dataclass(frozen=True)
class Running:
    name: str
    role: str
    pid: int
    start_ticks: int          # /proc/<pid>/stat field 22: guards against PID reuse
    argv: list[str]
    log: str


def _start_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(proc: Running) -> bool:
    return _start_ticks(proc.pid) == proc.start_ticks and not _is_zombie(proc.pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def load_state(state_dir: Path) -> list[Running]:
    path = state_dir / STATE_FILE
    if not path.exists():
        return []
    return [Running(**item) for item in json.loads(path.read_text())["processes"]]


def save_state(state_dir: Path, procs: list[Running]) -> None:
    path = state_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"processes": [p.__dict__ for p in procs]}, indent=2))
    tmp.replace(path)


def start(spec: ComponentSpec, state_dir: Path) -> Running:
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{spec.name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(spec.argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **dict(spec.env)}, start_new_session=True,
        )
    return Running(spec.name, spec.role, proc.pid, _start_ticks(proc.pid), list(spec.argv), str(log_path))


def healthy(health: Health) -> bool:
    if health.kind == "tcp":
        with socket.socket() as s:
            s.settimeout(0.3)
            return s.connect_ex((health.host, health.port)) == 0
    if health.kind == "etcd":
        return _etcd_status_ok(health.host, health.port)
    if health.kind == "unix":
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(0.3)
            return s.connect_ex(health.path) == 0
    if health.kind == "http":
        url = f"http://{health.host}:{health.port}{health.path}"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
        return False
    raise ValueError(f"unknown health check {health.kind}")


def _etcd_status_ok(host: str, port: int) -> bool:
    """The member answers Maintenance.Status over gRPC (an open port alone could be someone else's)."""
    import grpc

    from etcd_raft.pb import rpc_pb2, rpc_pb2_grpc

    with grpc.insecure_channel(f"{host}:{port}") as channel:
        try:
            rpc_pb2_grpc.MaintenanceStub(channel).Status(rpc_pb2.StatusRequest(), timeout=1)
        except grpc.RpcError:
            return False
    return True


def wait_healthy(batch: list[tuple[ComponentSpec, Running]], timeout_s: float,
                 on_ready: Callable[[ComponentSpec, Running], None] = lambda spec, proc: None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """Return when every member of the batch passes its health check. Raise RuntimeError (with that process's
    log tail) as soon as any of them dies, or when the deadline passes."""
    deadline = time.monotonic() + timeout_s
    waiting = list(batch)
    while waiting:
        for spec, proc in list(waiting):
            if not alive(proc):
                raise RuntimeError(f"{spec.name} exited during start-up; last log lines:\n{tail(Path(proc.log), 15)}")
            if spec.health is None or healthy(spec.health):
                waiting.remove((spec, proc))
                on_ready(spec, proc)
        if waiting and time.monotonic() > deadline:
            spec, proc = waiting[0]
            raise RuntimeError(f"{spec.name} not healthy after {timeout_s:.0f}s; last log lines:\n"
                               f"{tail(Path(proc.log), 15)}")
        if waiting:
            sleep(0.1)


def stop(proc: Running, grace_s: float = 5.0) -> None:
    if not alive(proc):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGCONT)   # a SIGSTOPped member (pause drill) must be able to die
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and alive(proc):
        time.sleep(0.05)
    if alive(proc):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def tail(path: Path, lines: int) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
