"""Volume sources of the issue 4 audit: hostPath types, emptyDir Memory sizeLimit, persistentVolumeClaim through its
bound hostPath PV, projected service-account tokens, and files kept current while the pod runs."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

from node_agent.kubelet.backoff import CrashLoopBackOff
from node_agent.kubelet.volumes import (
    VolumeError,
    VolumePlan,
    claim_host_path,
    plan_volumes,
    token_sources,
)
from node_agent.kubelet.worker import PodWorker, WorkerConfig, check_host_path

from .fakes import Clock, FakeReporter, FakeRuntime
from .helpers import T0, c, pod

pytestmark = pytest.mark.unit


def test_host_path_types(tmp_path: Any) -> None:
    d, f = tmp_path / "dir", tmp_path / "file"
    d.mkdir()
    f.write_text("x")
    check_host_path("v", str(d), "Directory")
    check_host_path("v", str(f), "File")
    check_host_path("v", str(tmp_path / "nothing"), "")  # no type: no check
    with pytest.raises(VolumeError, match=r'for volume "v" : hostPath type check failed: .*/file is not a directory'):
        check_host_path("v", str(f), "Directory")
    with pytest.raises(VolumeError, match="is not a file"):
        check_host_path("v", str(d), "File")
    with pytest.raises(VolumeError, match="is not a directory"):
        check_host_path("v", str(tmp_path / "missing"), "Directory")
    with pytest.raises(VolumeError, match="is not a socket file"):
        check_host_path("v", str(f), "Socket")
    check_host_path("v", str(tmp_path / "made/deep"), "DirectoryOrCreate")
    assert (tmp_path / "made/deep").is_dir()
    check_host_path("v", str(tmp_path / "new.txt"), "FileOrCreate")
    assert (tmp_path / "new.txt").is_file()
    with pytest.raises(VolumeError, match="parent directory"):
        check_host_path("v", str(tmp_path / "no/such/file"), "FileOrCreate")
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(tmp_path / "sock"))
        check_host_path("v", str(tmp_path / "sock"), "Socket")
    finally:
        s.close()
    with pytest.raises(VolumeError, match="invalid HostPathType"):
        plan_volumes(pod(spec={"volumes": [{"name": "h", "hostPath": {"path": "/x", "type": "Dir"}}]}), "/p",
                     config_maps={}, secrets={})


def test_empty_dir_memory_size_limit() -> None:
    p = pod(spec={"volumes": [{"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                              {"name": "d", "emptyDir": {"sizeLimit": "1Gi"}}]})
    m, d = plan_volumes(p, "/p", config_maps={}, secrets={})
    assert m.tmpfs and m.size_bytes == 16 * 2**20
    assert not d.tmpfs and d.size_bytes == 0


def test_claim_resolves_to_the_bound_host_path_pv() -> None:
    pvc = {"metadata": {"name": "data", "namespace": "default"}, "spec": {"volumeName": "pv1"},
           "status": {"phase": "Bound"}}
    pv = {"metadata": {"name": "pv1"}, "spec": {"hostPath": {"path": "/srv/pv1", "type": "DirectoryOrCreate"}}}
    assert claim_host_path("data", pvc, pv) == ("/srv/pv1", "DirectoryOrCreate")
    with pytest.raises(VolumeError, match='persistentvolumeclaim "data" not found'):
        claim_host_path("data", None, None)
    with pytest.raises(VolumeError, match="PVC default/data is not bound"):
        claim_host_path("data", {**pvc, "status": {"phase": "Pending"}}, pv)
    with pytest.raises(VolumeError, match="only hostPath"):
        claim_host_path("data", pvc, {"spec": {"nfs": {"server": "x"}}})
    p = pod(spec={"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}}]})
    plan, = plan_volumes(p, "/p", config_maps={}, secrets={}, claims={"data": ("/srv/pv1", "")})
    assert plan.kind == "hostPath" and plan.host_path == "/srv/pv1" and plan.read_only


KUBE_API_ACCESS = {"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}


def test_projected_service_account_token_volume() -> None:
    p = pod(spec={"volumes": [KUBE_API_ACCESS]})
    assert token_sources(p) == [("", 3607)]
    plan, = plan_volumes(p, "/p", config_maps={"kube-root-ca.crt": {"data": {"ca.crt": "CA"}}}, secrets={},
                         tokens={("", 3607): "tok"})
    assert {f.path: (f.data, f.mode) for f in plan.files} == {
        "token": (b"tok", 420), "ca.crt": (b"CA", 420), "namespace": (b"default", 420)}
    with pytest.raises(VolumeError, match="no service account token"):
        plan_volumes(p, "/p", config_maps={"kube-root-ca.crt": {"data": {"ca.crt": "CA"}}}, secrets={})


def _worker(p: dict[str, Any], rt: FakeRuntime, rep: FakeReporter, clock: Clock, tmp: str,
            written: list[VolumePlan]) -> PodWorker:
    cfg = WorkerConfig(pods_dir=f"{tmp}/pods", log_root=f"{tmp}/logs", host_ip="172.30.0.11", volume_refresh_s=60)
    return PodWorker(p, rt, rep, cfg, CrashLoopBackOff(), CrashLoopBackOff(), clock=clock,
                     write_volume=written.append)


async def test_worker_writes_the_token_and_refreshes_files(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt = FakeRuntime(clock)
    rep = FakeReporter({("configmaps", "default", "kube-root-ca.crt"): {"data": {"ca.crt": "CA"}}})
    labels = {"name": "web", "namespace": "default", "uid": "u1", "labels": {"tier": "a"}}
    p = pod([c("app")], spec={"volumes": [KUBE_API_ACCESS, {"name": "info", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}, meta=labels)
    written: list[VolumePlan] = []
    w = _worker(p, rt, rep, clock, str(tmp_path), written)
    await w.sync_once()
    files = {f.path: f.data for v in written for f in v.files}
    assert files["token"] == b"token-default--1" and files["labels"] == b'tier="a"'
    assert rep.statuses[-1]["phase"] == "Running"
    n = len(written)
    clock.t += 1
    await w.sync_once()
    assert len(written) == n  # nothing changed, not due: no rewrite
    w.update({**p, "metadata": {**labels, "labels": {"tier": "b"}}})
    await w.sync_once()
    assert [f.data for v in written[n:] for f in v.files if f.path == "labels"] == [b'tier="b"']
    # 80% of the token's life later it is asked for again (and the files rewritten)
    clock.t = T0 + 0.81 * 3607
    await w.sync_once()
    assert [f.data for v in written for f in v.files if f.path == "token"][-1] == b"token-default--2"


async def test_oom_killed_container_gives_one_oomkilling_event(tmp_path: Any) -> None:
    from dataclasses import replace

    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    w = _worker(pod(), rt, rep, clock, str(tmp_path), [])
    await w.sync_once()
    cid, (uid, cont) = next(iter(rt.containers.items()))
    rt.containers[cid] = (uid, replace(cont, state="exited", exit_code=137, reason="OOMKilled", finished_at=T0 + 1))
    for _ in range(3):
        clock.t += 1
        await w.sync_once()
    oom = [m for _, r, m in rep.events if r == "OOMKilling"]
    assert len(oom) == 1 and "Memory cgroup out of memory" in oom[0] and "container app" in oom[0], rep.events


def test_materialized_memory_volume_is_a_sized_tmpfs(tmp_path: Any) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting tmpfs needs root")
    from node_agent.kubelet.worker import materialize_volume, remove_pod_dirs

    plan = VolumePlan("m", "emptyDir", str(tmp_path / "pod/m"), tmpfs=True, size_bytes=4 * 2**20)
    materialize_volume(plan)
    try:
        st = os.statvfs(plan.host_path)
        assert st.f_blocks * st.f_frsize == 4 * 2**20
    finally:
        remove_pod_dirs(str(tmp_path / "pod"), str(tmp_path / "logs"))


def test_downward_api_resource_field_ref_files() -> None:
    p = pod([c("app", resources={"limits": {"cpu": "250m"}, "requests": {"memory": "32Mi"}})], spec={"volumes": [
        {"name": "info", "downwardAPI": {"items": [
            {"path": "cpu_limit", "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu",
                                                       "divisor": "1m"}},
            {"path": "mem_limit", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory"}},
            {"path": "mem_request", "resourceFieldRef": {"containerName": "app", "resource": "requests.memory",
                                                         "divisor": "1Mi"}}]}}]})
    plan, = plan_volumes(p, "/p", config_maps={}, secrets={}, node_allocatable={"memory": "1Gi"})
    assert {f.path: f.data for f in plan.files} == {"cpu_limit": b"250", "mem_limit": str(2**30).encode(),
                                                     "mem_request": b"32"}
    bad = pod(spec={"volumes": [{"name": "i", "downwardAPI": {"items": [
        {"path": "x", "fieldRef": {"fieldPath": "spec.nope"}}]}}]})
    with pytest.raises(VolumeError, match="downwardAPI x: unsupported fieldRef"):
        plan_volumes(bad, "/p", config_maps={}, secrets={})


async def test_empty_dir_over_its_size_limit_evicts_the_pod(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    p = pod([c("app")], spec={"volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "64Ki"}}]})
    cfg = WorkerConfig(pods_dir=f"{tmp_path}/pods", log_root=f"{tmp_path}/logs", storage_check_s=10)
    w = PodWorker(p, rt, rep, cfg, CrashLoopBackOff(), CrashLoopBackOff(), clock=clock)
    await w.sync_once()
    assert rep.statuses[-1]["phase"] == "Running"
    vol = tmp_path / "pods/u1/volumes/kubernetes.io~emptydir/scratch"
    (vol / "big").write_bytes(os.urandom(256 * 1024))
    for _ in range(3):
        clock.t += 11
        await w.sync_once()
    st = rep.statuses[-1]
    assert st["phase"] == "Failed" and st["reason"] == "Evicted", st
    assert st["message"] == 'Usage of EmptyDir volume "scratch" exceeds the limit "64Ki". '
    assert ("Warning", "Evicted", st["message"]) in rep.events
    assert any(x.startswith("stop app") for x in rt.calls) and "stop_sandbox" in rt.calls
