from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest

from node_agent.kubelet.backoff import CrashLoopBackOff
from node_agent.kubelet.volumes import VolumePlan
from node_agent.kubelet.worker import PodWorker, WorkerConfig, materialize_volume

from .fakes import Behaviour, Clock, FakeReporter, FakeRuntime
from .helpers import T0, c, pod

pytestmark = pytest.mark.unit


def _worker(p: dict[str, Any], rt: FakeRuntime, rep: FakeReporter, clock: Clock, tmp: str) -> PodWorker:
    cfg = WorkerConfig(pods_dir=f"{tmp}/pods", log_root=f"{tmp}/logs", host_ip="172.30.0.11")
    return PodWorker(p, rt, rep, cfg, CrashLoopBackOff(), CrashLoopBackOff(), clock=clock)


def _state(st: dict[str, Any], i: int = 0) -> tuple[str, str, int]:
    cs = st["containerStatuses"][i]
    (kind, body), = cs["state"].items()
    return kind, body.get("reason", ""), cs["restartCount"]


async def test_pod_starts_and_runs(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    w = _worker(pod([c("app", env=[{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])]),
                rt, rep, clock, str(tmp_path))
    await w.sync_once()
    assert rt.calls == ["run_sandbox 0", "pull busybox:1.36", "create app 0"]
    assert rep.reasons() == ["Pulling", "Pulled", "Created", "Started"]
    st = rep.statuses[-1]
    assert st["phase"] == "Running" and st["podIP"] == "10.244.1.7" and _state(st) == ("running", "", 0)
    assert dict(rt.last_request.envs) == {"IP": "10.244.1.7"}
    assert rt.last_request.log_path == "app/0.log"
    n = len(rep.statuses)
    clock.t += 5
    await w.sync_once()
    assert len(rep.statuses) == n  # nothing changed: no PATCH


async def test_crash_loop_backoff(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock, {"app": Behaviour(exit_code=1, run_s=1)}), FakeReporter()
    w = _worker(pod(), rt, rep, clock, str(tmp_path))
    creates: list[float] = []
    for _ in range(400):
        n = sum(x.startswith("create") for x in rt.calls)
        await w.sync_once()
        if sum(x.startswith("create") for x in rt.calls) > n:
            creates.append(clock.t - T0)
        clock.t += 0.5
        if len(creates) == 5:
            break
    # exits 1 s after each start; restarts wait 0, 10, 20, 40 s after the exit
    assert [round(b - a - 1) for a, b in itertools.pairwise(creates)] == [0, 10, 20, 40]
    assert "BackOff" in rep.reasons()
    assert ("Normal", "Pulled", 'Container image "busybox:1.36" already present on machine') in rep.events
    clock.t += 1.5
    await w.sync_once()
    st = rep.statuses[-1]
    assert _state(st) == ("waiting", "CrashLoopBackOff", 4)
    assert st["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1
    assert st["phase"] == "Running"


async def test_init_containers_in_order_then_app(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt = FakeRuntime(clock, {"i1": Behaviour(0, 1), "i2": Behaviour(0, 1)})
    rep = FakeReporter()
    w = _worker(pod([c("app")], init=[c("i1"), c("i2")]), rt, rep, clock, str(tmp_path))
    for _ in range(6):
        await w.sync_once()
        clock.t += 1
    assert [x for x in rt.calls if x.startswith("create")] == ["create i1 0", "create i2 0", "create app 0"]
    st = rep.statuses[-1]
    assert st["phase"] == "Running"
    assert [k["status"] for k in st["conditions"] if k["type"] == "Initialized"] == ["True"]


async def test_deletion_kills_then_deletes_object(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    p = pod([c("app", lifecycle={"preStop": {"exec": {"command": ["sh", "-c", "echo bye"]}}},
               volumeMounts=[{"name": "scratch", "mountPath": "/data"}])],
            spec={"volumes": [{"name": "scratch", "emptyDir": {}}]})
    w = _worker(p, rt, rep, clock, str(tmp_path))
    await w.sync_once()
    assert (tmp_path / "pods" / "u1" / "volumes" / "kubernetes.io~emptydir" / "scratch").is_dir()
    assert (tmp_path / "logs" / "default_web_u1").is_dir()
    deleting = {**p, "metadata": {**p["metadata"], "deletionTimestamp": "2027-01-01T00:00:00Z",
                                  "deletionGracePeriodSeconds": 3}}
    w.update(deleting)
    await w.sync_once()
    assert "exec sh -c echo bye" in rt.calls and "stop app 3" in rt.calls and "stop_sandbox" in rt.calls
    assert "Killing" in rep.reasons()
    await w.sync_once()
    assert rep.deleted and w.done and not rt.containers and not rt.sandboxes
    assert not (tmp_path / "pods" / "u1").exists() and not (tmp_path / "logs" / "default_web_u1").exists()


async def test_image_pull_failure_backs_off(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock, missing_images={"nope:1"}), FakeReporter()
    w = _worker(pod([c("app", image="nope:1")]), rt, rep, clock, str(tmp_path))
    await w.sync_once()
    assert _state(rep.statuses[-1]) == ("waiting", "ErrImagePull", 0)
    clock.t += 1
    await w.sync_once()
    assert _state(rep.statuses[-1]) == ("waiting", "ImagePullBackOff", 0)
    assert rt.calls.count("pull nope:1") == 1
    clock.t += 10
    await w.sync_once()
    assert rt.calls.count("pull nope:1") == 2
    assert rep.statuses[-1]["phase"] == "Pending"


async def test_liveness_failure_restarts_container(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    rt.exec_result = lambda cid, cmd: 1
    probe = {"exec": {"command": ["check"]}, "periodSeconds": 1, "failureThreshold": 2}
    w = _worker(pod([c("app", livenessProbe=probe)]), rt, rep, clock, str(tmp_path))
    for _ in range(6):
        await w.sync_once()
        clock.t += 1
    assert [x for x in rt.calls if x.startswith(("create", "stop "))][:3] == ["create app 0", "stop app 30",
                                                                             "create app 1"]
    assert "Unhealthy" in rep.reasons()
    assert any("failed liveness probe, will be restarted" in m for _, _, m in rep.events)


async def test_readiness_probe_gates_ready(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    ok = {"v": 1}
    rt.exec_result = lambda cid, cmd: ok["v"]
    probe = {"exec": {"command": ["ready"]}, "periodSeconds": 1, "failureThreshold": 1}
    w = _worker(pod([c("app", readinessProbe=probe)]), rt, rep, clock, str(tmp_path))
    await w.sync_once()
    clock.t += 1
    await w.sync_once()
    assert rep.statuses[-1]["containerStatuses"][0]["ready"] is False
    ok["v"] = 0
    clock.t += 1
    await w.sync_once()
    st = rep.statuses[-1]
    assert st["containerStatuses"][0]["ready"] is True
    assert [k["status"] for k in st["conditions"] if k["type"] == "Ready"] == ["True"]


async def test_missing_configmap_is_config_error(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt = FakeRuntime(clock)
    sec = {"data": {"k": base64.b64encode(b"v").decode()}}
    rep = FakeReporter({("secrets", "default", "s"): sec})
    env = [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "x"}}},
           {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    w = _worker(pod([c("app", env=env)]), rt, rep, clock, str(tmp_path))
    await w.sync_once()
    assert _state(rep.statuses[-1]) == ("waiting", "CreateContainerConfigError", 0)
    rep.objects[("configmaps", "default", "gone")] = {"data": {"x": "1"}}
    await w.sync_once()
    assert _state(rep.statuses[-1]) == ("running", "", 0)
    assert dict(rt.last_request.envs) == {"A": "1", "B": "v"}


def test_materialize_volume_writes_files(tmp_path: Any) -> None:
    from node_agent.kubelet.volumes import VolumeFile

    p = VolumePlan("conf", "configMap", str(tmp_path / "v"), files=(VolumeFile("a/b.txt", b"hi", 0o600),),
                   read_only=True)
    materialize_volume(p)
    f = tmp_path / "v" / "a" / "b.txt"
    assert f.read_bytes() == b"hi" and (f.stat().st_mode & 0o777) == 0o600


async def test_failed_post_start_hook_kills_container(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    rt.exec_result = lambda cid, cmd: 1 if cmd == ["setup"] else 0
    w = _worker(pod([c("app", lifecycle={"postStart": {"exec": {"command": ["setup"]}}})]), rt, rep, clock,
                str(tmp_path))
    await w.sync_once()
    assert "exec setup" in rt.calls and "stop app 30" in rt.calls
    assert "FailedPostStartHook" in rep.reasons()
    clock.t += 1
    await w.sync_once()  # restartPolicy Always: restarted (first restart is immediate)
    assert "create app 1" in rt.calls


async def test_failed_pre_stop_hook_is_reported_and_stop_continues(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    rt.exec_result = lambda cid, cmd: 7
    p = pod([c("app", lifecycle={"preStop": {"exec": {"command": ["drain"]}}})])
    w = _worker(p, rt, rep, clock, str(tmp_path))
    await w.sync_once()
    w.update({**p, "metadata": {**p["metadata"], "deletionTimestamp": "2027-01-01T00:00:00Z",
                                "deletionGracePeriodSeconds": 30}})
    await w.sync_once()
    assert "FailedPreStopHook" in rep.reasons() and "stop app 30" in rt.calls


async def test_terminal_pod_adopted_keeps_its_status_and_sleeps(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    p = pod([c("app")], policy="Never", status={"phase": "Succeeded", "containerStatuses": [{"name": "app"}]})
    w = _worker(p, rt, rep, clock, str(tmp_path))
    wake = await w.sync_once()
    assert rep.statuses == [] and rt.calls == [] and wake == 30.0


async def test_job_like_pod_completes_and_stops_sandbox(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock, {"app": Behaviour(exit_code=0, run_s=1)}), FakeReporter()
    w = _worker(pod([c("app")], policy="OnFailure"), rt, rep, clock, str(tmp_path))
    await w.sync_once()
    clock.t += 2
    await w.sync_once()
    assert "stop_sandbox" in rt.calls
    assert rep.statuses[-1]["phase"] == "Succeeded"
    assert _state(rep.statuses[-1]) == ("terminated", "Completed", 0)
    assert await w.sync_once() == 30.0
    assert sum(x.startswith("create") for x in rt.calls) == 1


async def test_active_deadline_fails_the_pod(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    w = _worker(pod([c("app")], spec={"activeDeadlineSeconds": 5}), rt, rep, clock, str(tmp_path))
    await w.sync_once()
    assert rep.statuses[-1]["phase"] == "Running"
    clock.t += 6
    await w.sync_once()
    st = rep.statuses[-1]
    assert "stop app 30" in rt.calls and "stop_sandbox" in rt.calls
    assert st["phase"] == "Failed" and st["reason"] == "DeadlineExceeded"
    clock.t += 1
    await w.sync_once()
    assert sum(x.startswith("create") for x in rt.calls) == 1


async def test_readiness_gate_set_by_another_writer_is_seen(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    p = pod([c("app")], spec={"readinessGates": [{"conditionType": "example.com/lb"}]})
    w = _worker(p, rt, rep, clock, str(tmp_path))
    await w.sync_once()
    assert [k["status"] for k in rep.statuses[-1]["conditions"] if k["type"] == "Ready"] == ["False"]
    gate = {"type": "example.com/lb", "status": "True", "lastTransitionTime": "2027-01-15T08:00:01Z"}
    w.update({**p, "status": {**rep.statuses[-1], "conditions": [*rep.statuses[-1]["conditions"], gate]}})
    await w.sync_once()
    assert [k["status"] for k in rep.statuses[-1]["conditions"] if k["type"] == "Ready"] == ["True"]
    assert gate in rep.statuses[-1]["conditions"]


async def test_ephemeral_container_targets_running_container(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = FakeRuntime(clock), FakeReporter()
    p = pod([c("app")])
    w = _worker(p, rt, rep, clock, str(tmp_path))
    await w.sync_once()
    app_id = next(cid for cid, (_, ct) in rt.containers.items() if ct.name == "app")
    w.update({**p, "spec": {**p["spec"], "ephemeralContainers": [c("dbg", targetContainerName="app")]}})
    await w.sync_once()
    assert rt.last_request.name == "dbg" and rt.last_request.pid_target_id == app_id
    assert rep.statuses[-1]["ephemeralContainerStatuses"][0]["state"].get("running")
