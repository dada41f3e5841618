"""The kubelet's own CRI adapter (node_agent.kubelet.cri_client.CriRuntime) against this runtime: the contract."""

from __future__ import annotations

import uuid

import pytest

from node_agent.kubelet.cri_client import CriRuntime
from node_agent.kubelet.runtime_api import (
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerRequest,
    MountRequest,
    RuntimeError_,
    SandboxRequest,
)
from tests.e2e.node_agent_cri.conftest import Cri
from tests.support.procs import wait_for

pytestmark = pytest.mark.e2e


async def test_kubelet_adapter_drives_a_pod(cri: Cri) -> None:
    client = CriRuntime(str(cri.socket))
    uid = uuid.uuid4().hex
    labels = {LABEL_POD_UID: uid, LABEL_POD_NAME: "web", LABEL_POD_NAMESPACE: "default"}
    logdir = cri.root.parent / "podlogs"
    logdir.mkdir()
    vol = cri.root.parent / "vol"
    vol.mkdir()
    (vol / "index.txt").write_text("from-volume\n")
    sb = SandboxRequest(name="web", namespace="default", uid=uid, attempt=0, hostname="web",
                        log_directory=str(logdir), labels=labels, dns_servers=("10.96.0.10",),
                        dns_searches=("default.svc.cluster.local",), share_pid=True)
    try:
        assert (await client.version()).startswith("kemu://")
        assert await client.image_ref("busybox") is not None
        assert await client.image_ref("nosuch-image") is None
        ref = await client.pull_image("busybox")
        sid = await client.run_sandbox(sb)
        req = ContainerRequest(
            name="main", attempt=0, image="busybox", command=("sh", "-c"),
            args=("cat /data/index.txt; echo $GREETING; id -u; exec sleep 300",), working_dir="/tmp",
            envs=(("GREETING", "hi"),), mounts=(MountRequest("/data", str(vol), True),),
            labels={**labels, LABEL_CONTAINER_NAME: "main"}, annotations={}, log_path="main/0.log",
            memory_limit_in_bytes=64 * 1024 * 1024, cpu_quota=50000, cpu_period=100000, cpu_shares=512,
            run_as_user=1000)
        cid = await client.create_container(sid, req, sb)
        await client.start_container(cid)
        side = await client.create_container(sid, ContainerRequest(
            name="side", attempt=0, image="busybox", command=("sleep", "300"), args=(), working_dir="",
            envs=(), mounts=(), labels={**labels, LABEL_CONTAINER_NAME: "side"}, annotations={},
            log_path="side/0.log"), sb)
        await client.start_container(side)
        log = logdir / "main/0.log"
        wait_for(lambda: b"1000" in log.read_bytes(), 10, 0.05, what="container output")
        assert b"from-volume" in log.read_bytes() and b" hi" in log.read_bytes()
        pods = await client.list_pods()
        ob = pods[uid]
        assert ob.latest_sandbox() is not None and ob.latest_sandbox().ready  # type: ignore[union-attr]
        main = ob.latest("main")
        assert main is not None and main.state == "running" and main.image_ref == ref
        r = await client.exec_sync(cid, ["sh", "-c", "pwd; cat /etc/resolv.conf; ps -o comm"], 5)
        out = r.stdout.decode()
        assert out.startswith("/tmp\n") and "nameserver 10.96.0.10" in out and "search default.svc" in out
        assert "sleep" in out.split("search")[1]  # shareProcessNamespace: the other container's sleep is seen
        with pytest.raises(RuntimeError_) as e:
            await client.start_container(cid)  # only a created container starts
        assert e.value.reason == "RunContainerError"
        rw = await client.exec_sync(cid, ["sh", "-c", "echo x > /data/new"], 5)
        assert rw.exit_code != 0  # the mount is read-only
        stats = await client.container_stats()
        assert {s.name for s in stats} >= {"main", "side"}
        await client.stop_container(cid, 1)
        ob = await client.observe(uid)
        main = ob.latest("main")
        # with a shared PID namespace the command is not PID 1, so SIGTERM ends it (128 + 15)
        assert main is not None and main.state == "exited" and main.exit_code == 143
        await client.stop_sandbox(sid)
        await client.remove_sandbox(sid)
        assert uid not in await client.list_pods()
    finally:
        await client.close()
