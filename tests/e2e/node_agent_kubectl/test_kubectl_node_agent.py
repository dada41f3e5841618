"""The node agent as a user sees it through the real kubectl (issue 4, "must show 2").

One node for the module (conftest.py): every pod is created at once by the fixture, so start-ups, restarts and
back-offs overlap; each test checks one behaviour through ``kubectl get/logs/exec/port-forward/delete`` (JSON
output only to read fields). The node agent restart runs last: it must find every running pod again.
"""

from __future__ import annotations

import glob
import os
import pty
import re
import select
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.node_agent_kubectl.conftest import Node
from tests.support.procs import free_port, port_open, wait_for

pytestmark = pytest.mark.e2e


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def _cs(pod: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    sts = pod["status"].get("containerStatuses") or []
    return next(s for s in sts if name is None or s["name"] == name)


def _running(node: Node, name: str, timeout: float = 90) -> dict[str, Any]:
    def ok() -> bool:
        p = node.k.pod(name)
        return p["status"].get("phase") == "Running" and all(
            "running" in (s.get("state") or {}) for s in p["status"].get("containerStatuses") or [{}])
    wait_for(ok, timeout, 0.5, what=f"pod {name} running")
    return node.k.pod(name)


def _exec(node: Node, pod: str, *cmd: str, container: str | None = None) -> str:
    c = ["-c", container] if container else []
    return node.k.run("exec", pod, *c, "--", *cmd)


# ---- isolation ----------------------------------------------------------------------------------------------
def test_ps_shows_only_the_pods_processes_and_hostname_is_the_pod_name(node: Node) -> None:
    _running(node, "solo")
    out = _exec(node, "solo", "ps", "-o", "pid,args")
    rows = [line.split(None, 1) for line in out.strip().splitlines()[1:]]
    cmds = [r[1] for r in rows]
    assert any(c.startswith("sleep 3600") for c in cmds), out
    assert all(c.startswith(("sleep 3600", "ps ")) for c in cmds), f"foreign processes visible:\n{out}"
    assert ["1", "sleep 3600"] in [[r[0], r[1].strip()] for r in rows], out
    assert _exec(node, "solo", "hostname").strip() == "solo"


def test_two_containers_share_localhost_and_an_empty_dir(node: Node) -> None:
    _running(node, "duo")
    wait_for(lambda: "hello-over-localhost" in node.k.run(
        "exec", "duo", "-c", "client", "--", "nc", "-w", "3", "127.0.0.1", "7070", check=False, stdin=""),
        30, 0.5, what="client reaches server over 127.0.0.1")
    assert _exec(node, "duo", "cat", "/scratch/note", container="client").strip() == "from-server"
    _exec(node, "duo", "sh", "-c", "echo from-client > /scratch/reply", container="client")
    assert _exec(node, "duo", "cat", "/scratch/reply", container="server").strip() == "from-client"


# ---- logs ---------------------------------------------------------------------------------------------------
def test_logs_container_flag_picks_the_container(node: Node) -> None:
    _running(node, "duo")
    assert node.k.run("logs", "duo", "-c", "server").strip() == "server-log-line"
    assert node.k.run("logs", "duo", "-c", "client").strip() == "client-log-line"
    r = subprocess.run([*node.k.base, "logs", "duo"], capture_output=True, text=True, timeout=30)
    # without -c kubectl picks the first container and says so, as against a real kubelet
    assert r.stdout.strip() == "server-log-line" and 'Defaulted container "server"' in r.stderr, r


def test_logs_follow_streams_lines_as_they_are_written(node: Node) -> None:
    _running(node, "ticker")
    p = subprocess.Popen([*node.k.base, "logs", "-f", "ticker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    arrivals: list[tuple[float, str]] = []
    buf = b""
    deadline = time.monotonic() + 40
    try:
        assert p.stdout is not None
        fd = p.stdout.fileno()
        while time.monotonic() < deadline and len(arrivals) < 50:
            r, _, _ = select.select([fd], [], [], 1.0)
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            arrivals += [(time.monotonic(), ln.decode()) for ln in lines]
            first = arrivals[0][0] if arrivals else 0.0
            if sum(1 for t, _ in arrivals if t - first > 0.3) >= 4:
                break
    finally:
        p.terminate()
        p.wait(timeout=10)
    assert arrivals, p.stderr.read().decode() if p.stderr else ""
    first = arrivals[0][0]
    late = [(t, s) for t, s in arrivals if t - first > 0.3]
    assert len(late) >= 4, f"no streamed lines after the backlog: {arrivals}"
    nums = [int(s.removeprefix("tick-")) for _, s in arrivals]
    assert nums == list(range(nums[0], nums[0] + len(nums))), nums  # in order, none lost
    assert late[-1][0] - late[0][0] >= 1.0  # they arrived over time, as written (every 0.5 s)


def test_logs_previous_shows_the_previous_instance(node: Node) -> None:
    def restarted() -> bool:
        return int(_cs(node.k.pod("restarts"))["restartCount"]) >= 1
    wait_for(restarted, 60, 0.5, what="restarts pod restarted")
    for _ in range(20):  # the instance may end between the two reads: retry on a consistent pair
        before = int(_cs(node.k.pod("restarts"))["restartCount"])
        prev = node.k.run("logs", "restarts", "--previous", check=False).strip()
        cur = node.k.run("logs", "restarts", check=False).strip()
        after = int(_cs(node.k.pod("restarts"))["restartCount"])
        if before == after and prev.startswith("instance-") and cur.startswith("instance-"):
            break
        time.sleep(0.5)
    assert prev.startswith("instance-") and cur.startswith("instance-"), (prev, cur)
    assert int(cur.split("-")[1]) == int(prev.split("-")[1]) + 1, (prev, cur)


# ---- exec -----------------------------------------------------------------------------------------------------
def _pty_run(argv: list[str], send: bytes, timeout: float = 30) -> str:
    pid, fd = pty.fork()
    if pid == 0:  # child: kubectl on the pty
        os.execvp(argv[0], argv)
    out = b""
    sent = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if not sent and (r or time.monotonic() > deadline - timeout + 2):
                time.sleep(0.5)
                os.write(fd, send)
                sent = True
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return out.decode(errors="replace")


def test_exec_with_a_tty(node: Node) -> None:
    _running(node, "solo")
    out = _pty_run([*node.k.base, "exec", "-it", "solo", "--", "sh"], b"echo $((6*7)); exit\n")
    assert re.search(r"^42\r?$", out, re.M), out
    out = _pty_run([*node.k.base, "exec", "-it", "solo", "--", "tty"], b"")
    assert re.search(r"/dev/pts/\d+", out), out
    # without -t there is no terminal
    r = subprocess.run([*node.k.base, "exec", "solo", "--", "tty"], capture_output=True, text=True, timeout=30)
    assert "not a tty" in r.stdout + r.stderr


# ---- configuration ---------------------------------------------------------------------------------------------
def test_config_map_and_secret_volumes_and_env(node: Node) -> None:
    _running(node, "config")
    env = dict(line.split("=", 1) for line in _exec(node, "config", "env").splitlines() if "=" in line)
    assert env["COLOR"] == "teal" and env["DB_USER"] == "admin"
    assert env["MY_NAME"] == "config"
    assert env["MY_IP"].startswith("10.244.7."), env
    wait_for(lambda: node.k.pod("config")["status"].get("podIP") == env["MY_IP"], 20, 0.5,
             what=f"status.podIP {env['MY_IP']}")
    assert env["MEM_MI"] == "64" and env["CPU_M"] == "300"
    assert env["CM_color"] == "teal" and env["CM_size"] == "XL" and env["password"] == "s3cr3t-pw"
    assert _exec(node, "config", "cat", "/etc/cm/color") == "teal"
    assert _exec(node, "config", "cat", "/etc/cm/size") == "XL"
    assert _exec(node, "config", "cat", "/etc/sec/password") == "s3cr3t-pw"
    assert _exec(node, "config", "cat", "/etc/cm-items/a/b/nested.txt") == "deep-value"
    listing = _exec(node, "config", "ls", "/etc/cm-items").split()
    assert listing == ["a"], listing  # items: only the listed key, at its path


def test_init_containers_run_in_order(node: Node) -> None:
    _running(node, "init")
    assert node.k.run("logs", "init").split() == ["step-1", "step-2", "step-3"]
    pod = node.k.pod("init")
    inits = pod["status"]["initContainerStatuses"]
    assert [s["name"] for s in inits] == ["init-1", "init-2", "init-3"]
    assert all(s["state"]["terminated"]["reason"] == "Completed" for s in inits)
    ends = [_ts(s["state"]["terminated"]["finishedAt"]) for s in inits]
    starts = [_ts(s["state"]["terminated"]["startedAt"]) for s in inits]
    assert all(starts[i + 1] >= ends[i] for i in range(2)), inits


# ---- probes ----------------------------------------------------------------------------------------------------
def test_failing_liveness_probe_restarts_the_container(node: Node) -> None:
    wait_for(lambda: int(_cs(node.k.pod("liveness"))["restartCount"]) >= 1, 60, 0.5,
             what="liveness restart")
    def events() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = node.k.json("get", "events", "--field-selector",
                                                  "involvedObject.name=liveness")["items"]
        return items

    # events are written in the background: they may trail the status that shows the restart
    wait_for(lambda: {"Unhealthy", "Killing"} <= {e["reason"] for e in events()}, 30, 0.5,
             what="Unhealthy and Killing events")
    assert any("Liveness probe failed" in e["message"] for e in events() if e["reason"] == "Unhealthy")


def test_readiness_probe_drives_ready(node: Node) -> None:
    def ready(want: str) -> bool:
        p = node.k.pod("readiness")
        cond = {c["type"]: c["status"] for c in p["status"].get("conditions") or []}
        cs = _cs(p)
        return cond.get("Ready") == want and cs.get("ready") is (want == "True")
    _running(node, "readiness")
    wait_for(lambda: ready("False"), 30, 0.5, what="not ready while the probe fails")
    time.sleep(2)
    assert ready("False")
    _exec(node, "readiness", "touch", "/tmp/ready")
    wait_for(lambda: ready("True"), 30, 0.5, what="ready once the probe passes")
    assert "1/1" in node.k.run("get", "pod", "readiness", "--no-headers")
    _exec(node, "readiness", "rm", "/tmp/ready")
    wait_for(lambda: ready("False"), 30, 0.5, what="not ready again")
    assert int(_cs(node.k.pod("readiness"))["restartCount"]) == 0  # readiness never restarts


# ---- resources -------------------------------------------------------------------------------------------------
def _cgroup_file(uid: str, cid: str, name: str) -> str:
    hits = sorted(glob.glob(f"/sys/fs/cgroup/*/kemu/*/pod{uid}/{cid}/{name}")
                  + glob.glob(f"/sys/fs/cgroup/kemu/*/pod{uid}/{cid}/{name}"))
    assert hits, f"no cgroup file {name} for pod {uid} container {cid}"
    return hits[0]


def _cpu_sample(uid: str, cid: str) -> tuple[float, int, float]:
    """(cpu seconds used, nr_throttled, throttled seconds) from the container's cgroup (v1 or v2)."""
    stat = dict(line.split() for line in Path(_cgroup_file(uid, cid, "cpu.stat")).read_text().splitlines())
    if "usage_usec" in stat:  # v2
        return int(stat["usage_usec"]) / 1e6, int(stat["nr_throttled"]), int(stat["throttled_usec"]) / 1e6
    usage = int(Path(_cgroup_file(uid, cid, "cpuacct.usage")).read_text()) / 1e9
    return usage, int(stat["nr_throttled"]), int(stat["throttled_time"]) / 1e9


def test_cpu_limit_throttles_a_busy_loop(node: Node) -> None:
    pod = _running(node, "cpu")
    uid, cid = pod["metadata"]["uid"], _cs(pod)["containerID"].split("://", 1)[1]
    windows = []  # (cpu used / wall, throttled periods, throttled seconds) per 3 s window
    for _ in range(6):  # on a loaded 2-core machine the loop may not even get its 0.2 (then it is not throttled)
        u0, n0, t0 = _cpu_sample(uid, cid)
        w0 = time.monotonic()
        time.sleep(3)
        u1, n1, t1 = _cpu_sample(uid, cid)
        windows.append(((u1 - u0) / (time.monotonic() - w0), n1 - n0, t1 - t0))
        assert windows[-1][0] <= 0.35, f"usage {windows[-1][0]:.3f} cpu over the 0.2 limit"
        if windows[-1][0] >= 0.1 and windows[-1][1] > 0 and windows[-1][2] > 0:
            break
    assert any(r >= 0.1 and n > 0 and t > 0 for r, n, t in windows), \
        f"no window with usage near 0.2 cpu and throttling growing: {windows} (machine under load)"


def test_memory_limit_oom_kills_and_restarts_with_growing_back_off(node: Node) -> None:
    # node.versions(): every version of the pod `kubectl get pods -w -o json` printed since its creation
    def history() -> tuple[dict[str, str], bool]:
        ended: dict[str, str] = {}  # startedAt -> finishedAt of each ended instance
        backoff = False
        for pod in node.versions("oom"):
            for cs in pod["status"].get("containerStatuses") or []:
                term = (cs.get("lastState") or {}).get("terminated")
                if term:
                    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137, term
                    ended[term["startedAt"]] = term["finishedAt"]
                if ((cs.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                    backoff = True
        return ended, backoff
    wait_for(lambda: len(history()[0]) >= 4 and history()[1], 120, 1.0, what="4 OOM kills and a CrashLoopBackOff")
    ended, _ = history()
    assert int(_cs(node.k.pod("oom"))["restartCount"]) >= 3
    runs = sorted((_ts(s), _ts(f)) for s, f in ended.items())
    gaps = [runs[i + 1][0] - runs[i][1] for i in range(len(runs) - 1)]
    # the first restart is immediate, then 10 s, 20 s (timestamps have 1 s resolution)
    assert gaps[0] <= 5 and 8 <= gaps[1] <= 16 and 17 <= gaps[2] <= 30, gaps


# ---- networking ------------------------------------------------------------------------------------------------
def test_nginx_serves_through_port_forward_and_to_another_pod(node: Node) -> None:
    pod = _running(node, "web", timeout=120)
    port = free_port()
    pf = subprocess.Popen([*node.k.base, "port-forward", "pod/web", f"{port}:80"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        body = ""

        def get() -> bool:
            nonlocal body
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    body = r.read().decode()
                    return r.status == 200
            except OSError:
                return False
        wait_for(get, 30, 0.5, what="GET / through kubectl port-forward")
        assert "Welcome to nginx" in body
        for _ in range(3):  # more connections over the same forward; the client half-closes, nginx answers
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                s.shutdown(socket.SHUT_WR)
                got = b""
                while chunk := s.recv(65536):  # ends when the pod's side closes (FIN through the forward)
                    got += chunk
            assert got.startswith(b"HTTP/1.1 200") and b"Welcome to nginx" in got, got[:200]
    finally:
        pf.terminate()
        pf.wait(timeout=10)
    # nothing listens on port 81: the connection ends empty and kubectl reports why, as against a real kubelet
    port = free_port()
    pf = subprocess.Popen([*node.k.base, "port-forward", "pod/web", f"{port}:81"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: port_open(port), 30, 0.2, what="port-forward listening")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert s.recv(100) == b""
        _, err = pf.communicate(timeout=30)  # kubectl ends the forward after a failed connection
        assert "Connection refused" in err and "81" in err, err
    finally:
        if pf.poll() is None:
            pf.kill()
            pf.wait(timeout=10)
    _running(node, "solo")
    out = node.k.run("exec", "solo", "--", "sh", "-c",
                     f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {pod['status']['podIP']} 80")
    assert out.startswith("HTTP/1.1 200") and "Welcome to nginx" in out, out[:300]


# ---- deletion --------------------------------------------------------------------------------------------------
def test_delete_runs_pre_stop_then_sigterm(node: Node) -> None:
    _running(node, "graceful")
    events = node.hostpath / "events"
    wait_for(lambda: events.exists() and "running" in events.read_text(), 30, 0.5, what="graceful started")
    t0 = time.monotonic()
    node.k.run("delete", "pod", "graceful", "--wait=true", "--timeout=60s", timeout=90)
    took = time.monotonic() - t0
    lines = events.read_text().split()
    assert lines[:3] == ["running", "prestop-ran", "got-SIGTERM"], lines
    assert took < 15, f"a process that handles SIGTERM should not wait out the 20 s grace ({took:.1f}s)"


def test_delete_sigkills_a_process_ignoring_sigterm_after_the_grace_period(node: Node) -> None:
    _running(node, "stubborn")
    t0 = time.monotonic()
    node.k.run("delete", "pod", "stubborn", "--wait=true", "--timeout=60s", timeout=90)
    took = time.monotonic() - t0
    assert 6 <= took < 26, took
    assert "stubborn" not in node.k.run("get", "pods", "--no-headers")


# ---- node agent restart ------------------------------------------------------------------------------------------
def _runtime_running(node: Node) -> list[tuple[str, str, str]]:
    """(container id prefix, container name, pod sandbox id prefix) of every running container in the runtime."""
    rows = [line.split() for line in node.crictl("ps").splitlines()[1:] if line.strip()]
    return [(r[0], r[-3], r[-1]) for r in rows]


def test_restarted_node_agent_adopts_its_pods(node: Node) -> None:
    names = ["solo", "duo", "cpu", "config", "init", "web", "readiness"]
    steady = ["solo", "duo", "cpu", "config", "init", "web"]  # no probes: no exec processes come and go
    for n in names:
        _running(node, n)

    def snapshot() -> dict[str, dict[str, tuple[str, int]]]:
        return {n: {s["name"]: (s["containerID"], s["restartCount"]) for s in node.k.pod(n)["status"][
            "containerStatuses"]} for n in names}
    before = snapshot()
    uids = [node.k.pod(n)["metadata"]["uid"] for n in steady]
    pids_before = _pod_pids(uids)
    assert pids_before
    node.procs.kill("node_agent")  # SIGKILL: no chance to tidy up
    node.procs.restart("node_agent")
    wait_for(lambda: "ok" in node.k.run("get", "--raw", f"/api/v1/nodes/{node.name}/proxy/healthz", check=False),
             60, 0.5, what="the new node agent serves")
    time.sleep(6)  # several sync passes of the new agent
    assert snapshot() == before  # same containers, restartCount unchanged
    running = _runtime_running(node)
    per_name = [(pod, name) for _, name, pod in running]
    assert len(per_name) == len(set(per_name)), f"duplicate containers: {running}"
    ids = [cid for cid, _, _ in running]
    for n, cs in before.items():
        for cname, (cid, _) in cs.items():
            full = cid.split("://", 1)[1]
            assert sum(1 for i in ids if full.startswith(i)) == 1, (n, cname, running)
    assert _pod_pids(uids) == pids_before  # the same processes: nothing started again, nothing left over
    # the new agent serves logs and exec again
    assert node.k.run("logs", "duo", "-c", "client").strip() == "client-log-line"
    assert _exec(node, "solo", "hostname").strip() == "solo"


def _pod_pids(uids: list[str]) -> set[int]:
    pids: set[int] = set()
    for uid in uids:
        for f in glob.glob(f"/sys/fs/cgroup/*/kemu/*/pod{uid}/*/cgroup.procs") + glob.glob(
                f"/sys/fs/cgroup/kemu/*/pod{uid}/*/cgroup.procs"):
            pids |= {int(x) for x in Path(f).read_text().split()}
    return pids

