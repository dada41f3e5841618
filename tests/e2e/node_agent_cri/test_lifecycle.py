"""CRI conformance in the spirit of critest: sandbox/container lifecycle, errors, isolation, exec, logs, restart."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import grpc
import pytest

from node_agent.cri.pb import api_pb2 as pb
from node_agent.runtime import logfmt
from tests.e2e.node_agent_cri.conftest import Cri, start_cri, stop_cri
from tests.support.procs import ProcessGroup, wait_for

pytestmark = pytest.mark.e2e


def test_version_and_status(cri: Cri) -> None:
    v = cri.rt.Version(pb.VersionRequest(version="v1"), timeout=5)
    assert (v.runtime_name, v.runtime_api_version) == ("kemu", "v1")
    conds = {c.type: c.status for c in cri.rt.Status(pb.StatusRequest(), timeout=5).status.conditions}
    assert conds == {"RuntimeReady": True, "NetworkReady": True}


def test_lifecycle_and_status_fields(cri: Cri) -> None:
    t0 = time.time_ns()
    sid, sb = cri.run_sandbox()
    st = cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid), timeout=5).status
    assert st.state == pb.SANDBOX_READY and st.metadata.name == sb.metadata.name and st.created_at >= t0
    cid = cri.create(sid, sb, "main", ["sh", "-c", "echo started; exec sleep 300"], labels={"k": "v"},
                     annotations={"a": "b"})
    s = cri.status(cid)
    assert s.state == pb.CONTAINER_CREATED and s.created_at >= t0 and s.started_at == 0
    cri.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=30)
    s = cri.status(cid)
    assert s.state == pb.CONTAINER_RUNNING and s.started_at >= s.created_at
    assert s.image.image == "busybox" and s.image_ref.startswith("sha256:")
    assert dict(s.labels) == {"k": "v"} and dict(s.annotations) == {"a": "b"}
    assert s.log_path == f"{sb.log_directory}/main/0.log"
    listed = cri.rt.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(
        pod_sandbox_id=sid, state=pb.ContainerStateValue(state=pb.CONTAINER_RUNNING))), timeout=5).containers
    assert [c.id for c in listed] == [cid]
    t1 = time.monotonic()
    cri.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=30)
    assert time.monotonic() - t1 < 5
    s = cri.status(cid)
    assert s.state == pb.CONTAINER_EXITED and s.exit_code == 137 and s.reason == "Error"
    assert s.finished_at >= s.started_at
    # idempotent stop and remove
    cri.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=30)
    cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=30)
    cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=30)
    cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=30)
    st = cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid), timeout=5).status
    assert st.state == pb.SANDBOX_NOTREADY
    cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=30)
    cri.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=30)
    cri.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=30)
    assert not cri.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=5).items
    # nothing of the pod is left: no cgroups (not even the runtime's scope), no processes
    scope = hashlib.sha1(str(cri.root.resolve()).encode()).hexdigest()[:12]
    for ctrl in ("memory", "cpu", "pids", "freezer", ""):
        assert not (Path("/sys/fs/cgroup") / ctrl / "kemu" / scope).exists()
    assert not any(b"--sandbox-id\0" + sid.encode() in _cmdline(p) for p in os.listdir("/proc") if p.isdigit())


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_exit_codes_and_reasons(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    ok = cri.run(sid, sb, "ok", ["true"])
    bad = cri.run(sid, sb, "bad", ["sh", "-c", "exit 3"])
    assert (cri.wait_exited(ok).exit_code, cri.status(ok).reason) == (0, "Completed")
    assert (cri.wait_exited(bad).exit_code, cri.status(bad).reason) == (3, "Error")
    with pytest.raises(grpc.RpcError) as e:
        cri.run(sid, sb, "missing", ["/no/such/binary"])
    assert e.value.code() == grpc.StatusCode.UNKNOWN
    assert "/no/such/binary" in str(e.value.details())


def test_unknown_ids_are_not_found(cri: Cri) -> None:
    for call, req in ((cri.rt.ContainerStatus, pb.ContainerStatusRequest(container_id="feedbeef" * 8)),
                      (cri.rt.StartContainer, pb.StartContainerRequest(container_id="feedbeef" * 8)),
                      (cri.rt.PodSandboxStatus, pb.PodSandboxStatusRequest(pod_sandbox_id="feedbeef" * 8)),
                      (cri.rt.ExecSync, pb.ExecSyncRequest(container_id="feedbeef" * 8, cmd=["true"]))):
        with pytest.raises(grpc.RpcError) as e:
            call(req, timeout=5)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        assert "not found" in str(e.value.details())
    with pytest.raises(grpc.RpcError) as e:
        cri.rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id="feedbeef" * 8, config=pb.ContainerConfig(metadata=pb.ContainerMetadata(name="x"),
                                                                      image=pb.ImageSpec(image="busybox"))),
            timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_hostname_pid_isolation_exec(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    cid = cri.run(sid, sb, "main", ["sleep", "300"])
    r = cri.exec(cid, ["hostname"])
    assert (r.exit_code, r.stdout.decode().strip()) == (0, sb.hostname)
    r = cri.exec(cid, ["ps", "-o", "pid,comm"])
    ps = r.stdout.decode().split("\n")[1:]
    procs = [line.split() for line in ps if line.strip()]
    assert procs and procs[0] == ["1", "sleep"] and all(p[1] in ("sleep", "ps") for p in procs), (r.stdout, r.stderr)
    r = cri.exec(cid, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (r.stdout, r.stderr, r.exit_code) == (b"out\n", b"err\n", 7)
    r = cri.exec(cid, ["cat", "/etc/resolv.conf", "/etc/hosts"])
    assert r.exit_code == 0 and sb.hostname in r.stdout.decode()
    with pytest.raises(grpc.RpcError) as e:
        cri.exec(cid, ["sleep", "30"], timeout=1)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_pod_shares_localhost_and_volume(cri: Cri, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    sid, sb = cri.run_sandbox()
    mounts = [pb.Mount(container_path="/data", host_path=str(shared))]
    server = cri.run(sid, sb, "server", ["sh", "-c", "echo hello-pod | nc -l -p 8080; echo served > /data/flag; "
                                         "exec sleep 300"], mounts=mounts)
    client = cri.run(sid, sb, "client", ["sleep", "300"], mounts=mounts)

    def fetched() -> bool:
        r = cri.exec(client, ["sh", "-c", "nc 127.0.0.1 8080 < /dev/null"], timeout=5)
        return b"hello-pod" in r.stdout
    wait_for(fetched, 15, 0.2, what="nc over the pod's localhost")
    wait_for(lambda: (shared / "flag").exists(), 10, 0.05, what="file in the shared volume")
    assert cri.exec(client, ["cat", "/data/flag"]).stdout == b"served\n"
    assert cri.status(server).state == pb.CONTAINER_RUNNING


def test_logs_in_cri_format_and_reopen(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    cid = cri.run(sid, sb, "logger", ["sh", "-c", "echo line1; echo err1 >&2; printf partial; sleep 300"])
    log = Path(f"{sb.log_directory}/logger/0.log")
    wait_for(lambda: b"err1" in log.read_bytes(), 10, 0.05, what="log lines")
    lines = log.read_bytes().splitlines()
    parsed = [logfmt.parse(x) for x in lines]
    assert ("stdout", "F", b"line1") in [(s, t, c) for _, s, t, c in parsed]
    assert ("stderr", "F", b"err1") in [(s, t, c) for _, s, t, c in parsed]
    ts = parsed[0][0]
    assert len(ts) == 30 and ts.endswith("Z") and ts[10] == "T"
    os.rename(log, f"{log}.old")
    cri.rt.ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=cid), timeout=5)
    cri.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0), timeout=30)
    # the unfinished line is written as a partial record when the stream ends, into the reopened file
    wait_for(lambda: log.exists() and b"P partial" in log.read_bytes(), 10, 0.05,
             what="partial line in the reopened log")


def test_restarted_runtime_finds_its_containers(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    keep = cri.run(sid, sb, "keep", ["sleep", "300"])
    quick = cri.run(sid, sb, "quick", ["sh", "-c", "sleep 1; exit 4"])
    cri.procs.kill("cri")
    time.sleep(1.5)  # "quick" exits while the runtime is down
    cri.restart()
    items = cri.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=5).items
    assert [s.id for s in items] == [sid] and items[0].state == pb.SANDBOX_READY
    cs = {c.id: c.state for c in cri.rt.ListContainers(pb.ListContainersRequest(), timeout=5).containers}
    assert cs == {keep: pb.CONTAINER_RUNNING, quick: pb.CONTAINER_EXITED}
    assert cri.status(quick).exit_code == 4
    assert cri.exec(keep, ["echo", "still-here"]).stdout == b"still-here\n"


def test_host_network_sandbox(cri: Cri) -> None:
    import socket
    opts = pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD)
    linux = pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(namespace_options=opts))
    sid, sb = cri.run_sandbox(linux=linux)
    cid = cri.run(sid, sb, "main", ["sleep", "300"])
    # the node's network and hostname
    assert cri.exec(cid, ["hostname"]).stdout.decode().strip() == socket.gethostname()
    host_links = Path("/sys/class/net").iterdir()
    seen = cri.exec(cid, ["ls", "/sys/class/net"]).stdout.decode().split()
    assert sorted(seen) == sorted(p.name for p in host_links)
    st = cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid), timeout=5).status
    assert st.linux.namespaces.options.network == pb.NODE


def test_target_pid_namespace(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    app = cri.run(sid, sb, "app", ["sh", "-c", "exec sleep 301"])
    sc = pb.LinuxContainerSecurityContext(namespace_options=pb.NamespaceOption(pid=pb.TARGET, target_id=app))
    debug = cri.run(sid, sb, "debug", ["sleep", "300"], linux=pb.LinuxContainerConfig(security_context=sc))
    ps = cri.exec(debug, ["ps", "-o", "pid,args"]).stdout.decode()
    assert "1 sleep 301" in " ".join(ps.split()), ps


async def test_attach_streams_output(cri: Cri) -> None:
    import aiohttp
    sid, sb = cri.run_sandbox()
    cid = cri.run(sid, sb, "talker", ["sh", "-c", "sleep 1; echo one; echo two >&2; sleep 0.5"])
    url = cri.rt.Attach(pb.AttachRequest(container_id=cid, stdout=True, stderr=True), timeout=5).url
    chans: dict[int, bytes] = {}
    async with aiohttp.ClientSession() as s, s.ws_connect(url, protocols=("v4.channel.k8s.io",)) as ws:
        async for msg in ws:
            chans[msg.data[0]] = chans.get(msg.data[0], b"") + msg.data[1:]
    assert chans[1] == b"one\n" and chans[2] == b"two\n"
    assert json.loads(chans[3])["status"] == "Success"


async def test_attach_stdin_and_tty(cri: Cri) -> None:
    import aiohttp
    sid, sb = cri.run_sandbox()
    # kubectl run -i: the container reads the attached client's stdin
    cid = cri.run(sid, sb, "reader", ["sh", "-c", "read line; echo got:$line; exit 3"], stdin=True, stdin_once=True)
    url = cri.rt.Attach(pb.AttachRequest(container_id=cid, stdin=True, stdout=True, stderr=True), timeout=5).url
    chans: dict[int, bytes] = {}
    async with aiohttp.ClientSession() as s, s.ws_connect(url, protocols=("v5.channel.k8s.io",)) as ws:
        await ws.send_bytes(b"\x00hello\n")
        async for msg in ws:
            chans[msg.data[0]] = chans.get(msg.data[0], b"") + msg.data[1:]
    assert chans[1] == b"got:hello\n"
    st = json.loads(chans[3])
    assert st["status"] == "Failure" and st["details"]["causes"][0]["message"] == "3"
    assert cri.wait_exited(cid).exit_code == 3
    # kubectl run -it: a shell on a terminal
    cid = cri.run(sid, sb, "shell", ["sh"], stdin=True, tty=True)
    url = cri.rt.Attach(pb.AttachRequest(container_id=cid, stdin=True, stdout=True, tty=True), timeout=5).url
    out = b""
    async with aiohttp.ClientSession() as s, s.ws_connect(url, protocols=("v5.channel.k8s.io",)) as ws:
        await ws.send_bytes(b"\x04" + json.dumps({"Width": 77, "Height": 22}).encode())
        await ws.send_bytes(b"\x00stty size; exit 0\n")
        async for msg in ws:
            if msg.data[0] == 1:
                out += msg.data[1:]
    assert b"22 77" in out
    assert cri.wait_exited(cid).exit_code == 0


def test_half_created_sandbox_is_collected_on_restart(cri: Cri) -> None:
    import subprocess
    import sys
    sid, _ = cri.run_sandbox()
    # a sandbox whose record was never written: its dir and holder exist, as if the runtime died mid-create
    ghost = "ab" * 32
    (cri.root / "sandboxes" / ghost).mkdir()
    holder = subprocess.Popen([sys.executable, "-m", "node_agent.runtime.holder", "--hostname", "ghost",
                               "--sandbox-id", ghost], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().startswith(b"ready")
        cri.restart()
        assert holder.wait(10) == -9
        assert not (cri.root / "sandboxes" / ghost).exists()
        assert [s.id for s in cri.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=5).items] == [sid]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_log_rotation_by_size(procs: ProcessGroup, tmp_path: Path) -> None:
    c = start_cri(procs, tmp_path, ["--container-log-max-size", "4096"])
    try:
        sid, sb = c.run_sandbox()
        cid = c.run(sid, sb, "chatty", ["sh", "-c", "for i in $(seq 400); do echo line-$i; done"])
        c.wait_exited(cid)
        log = Path(f"{sb.log_directory}/chatty/0.log")
        rotated = Path(f"{log}.1")
        assert rotated.exists() and rotated.stat().st_size <= 4096 + 200
        assert log.stat().st_size <= 4096 + 200
        assert log.read_bytes().rstrip().endswith(b"stdout F line-400")
    finally:
        stop_cri(c)


def test_capabilities_default_and_privileged(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    script = "mkdir -p /m; mount -t tmpfs none /m && echo mounted || echo denied; grep CapBnd /proc/1/status; " \
             "exec sleep 300"
    plain = cri.run(sid, sb, "plain", ["sh", "-c", script])
    sc = pb.LinuxContainerSecurityContext(privileged=True)
    priv = cri.run(sid, sb, "priv", ["sh", "-c", script], linux=pb.LinuxContainerConfig(security_context=sc))
    sc = pb.LinuxContainerSecurityContext(capabilities=pb.Capability(drop_capabilities=["ALL"]))
    none = cri.run(sid, sb, "none", ["sh", "-c", script], linux=pb.LinuxContainerConfig(security_context=sc))

    def log(name: str) -> str:
        p = Path(f"{sb.log_directory}/{name}/0.log")
        wait_for(lambda: b"CapBnd" in p.read_bytes(), 10, 0.05, what=f"{name} output")
        return p.read_text()
    assert "denied" in log("plain") and "00000000a80425fb" in log("plain")
    assert "mounted" in log("priv")
    assert "denied" in log("none") and "CapBnd:\t0000000000000000" in log("none")
    assert all(cri.status(c).state == pb.CONTAINER_RUNNING for c in (plain, priv, none))
    # exec'd processes get the container's bounding set too
    assert b"00000000a80425fb" in cri.exec(plain, ["grep", "CapBnd", "/proc/self/status"]).stdout


def test_exec_of_a_missing_program_fails_like_runc(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    cid = cri.run(sid, sb, "main", ["sleep", "300"])
    with pytest.raises(grpc.RpcError) as e:
        cri.exec(cid, ["bash", "-c", "true"])
    assert 'exec: "bash": executable file not found in $PATH' in str(e.value.details())
    with pytest.raises(grpc.RpcError) as e:
        cri.exec(cid, ["/usr/local/bin/nope"])
    assert "stat /usr/local/bin/nope: no such file or directory" in str(e.value.details())
    # absolute symlinks resolve inside the container (/bin/sh -> /bin/busybox), not on the host
    assert cri.exec(cid, ["/bin/sh", "-c", "echo ok"]).stdout == b"ok\n"
