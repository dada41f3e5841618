from __future__ import annotations

from typing import Any

import pytest

from node_agent.kubelet.model import ObservedPod
from node_agent.kubelet.status import StatusInputs, compute_pod_status, rfc3339

from .helpers import T0, c, created, exited, obs, pod, run, sb

pytestmark = pytest.mark.unit

INP = StatusInputs(now=T0 + 10, host_ip="172.30.0.11")


def _cond(st: dict[str, Any]) -> dict[str, str]:
    return {k["type"]: k["status"] for k in st["conditions"]}


def _state(s: dict[str, Any]) -> tuple[str, str]:
    (kind, body), = s["state"].items()
    return kind, body.get("reason", "")


@pytest.mark.parametrize("name,p,o,inp,phase,states,conds", [
    ("no sandbox yet", pod(init=[c("i1")]), obs(no_sandbox=True), INP, "Pending",
     [("waiting", "PodInitializing")],
     {"Initialized": "False", "Ready": "False", "PodReadyToStartContainers": "False"}),
    ("creating", pod(), obs(), INP, "Pending", [("waiting", "ContainerCreating")],
     {"Initialized": "True", "PodReadyToStartContainers": "True", "Ready": "False"}),
    ("created not started", pod(), obs(created("app")), INP, "Pending", [("waiting", "ContainerCreating")], {}),
    ("running", pod(), obs(run("app")), INP, "Running", [("running", "")],
     {"Ready": "True", "ContainersReady": "True", "Initialized": "True", "PodScheduled": "True"}),
    ("readiness not yet", pod(), obs(run("app")), StatusInputs(now=T0, ready={"app": False}), "Running",
     [("running", "")], {"Ready": "False"}),
    ("crashloop", pod(), obs(exited("app", 1)),
     StatusInputs(now=T0, waiting={"app": ("CrashLoopBackOff", "back-off 10s")}), "Running",
     [("waiting", "CrashLoopBackOff")], {"Ready": "False"}),
    ("image pull error", pod(), obs(), StatusInputs(now=T0, waiting={"app": ("ErrImagePull", "not found")}),
     "Pending", [("waiting", "ErrImagePull")], {}),
    ("succeeded", pod(policy="Never"), obs(exited("app", 0)), INP, "Succeeded", [("terminated", "Completed")],
     {"Ready": "False", "Initialized": "True"}),
    ("failed", pod(policy="Never"), obs(exited("app", 2)), INP, "Failed", [("terminated", "Error")], {}),
    ("oom killed", pod(policy="Never"), obs(exited("app", 137, reason="OOMKilled")), INP, "Failed",
     [("terminated", "OOMKilled")], {}),
    ("OnFailure failed container restarting", pod(policy="OnFailure"), obs(exited("app", 1)), INP, "Running",
     [("terminated", "Error")], {}),
    ("Never, one done one running", pod([c("a"), c("b")], policy="Never"), obs(exited("a", 0), run("b")), INP,
     "Running", [("terminated", "Completed"), ("running", "")], {"Ready": "False"}),
    ("init failed Never", pod(init=[c("i1")], policy="Never"), obs(exited("i1", 1)), INP, "Failed",
     [("waiting", "PodInitializing")], {"Initialized": "False"}),
    ("init running", pod(init=[c("i1"), c("i2")]), obs(run("i1")), INP, "Pending",
     [("waiting", "PodInitializing")], {"Initialized": "False"}),
    ("sidecar not ready blocks Ready", pod(init=[c("proxy", restartPolicy="Always")]),
     obs(run("proxy"), run("app")), StatusInputs(now=T0, ready={"proxy": False}), "Running", [("running", "")],
     {"Ready": "False", "Initialized": "True"}),
    ("previous terminal phase sticks", pod(status={"phase": "Failed"}), obs(run("app")), INP, "Failed",
     [("running", "")], {"Ready": "False"}),
])
def test_pod_status_table(name: str, p: dict[str, Any], o: ObservedPod, inp: StatusInputs, phase: str,
                          states: list[tuple[str, str]], conds: dict[str, str]) -> None:
    st = compute_pod_status(p, o, inp)
    assert st["phase"] == phase
    assert [_state(s) for s in st["containerStatuses"]] == states
    got = _cond(st)
    assert {k: got[k] for k in conds} == conds


def test_full_status_fields() -> None:
    lim = {"limits": {"cpu": "1", "memory": "1Gi"}}
    p = pod([c("a", resources=lim)], init=[c("i1", resources=lim)])
    o = obs(exited("i1"), exited("a", 1, attempt=0, finished=T0 + 3), run("a", attempt=1, started=T0 + 4))
    st = compute_pod_status(p, o, INP)
    assert st["qosClass"] == "Guaranteed"
    assert st["podIP"] == "10.244.1.5" and st["podIPs"] == [{"ip": "10.244.1.5"}]
    assert st["hostIP"] == "172.30.0.11" and st["startTime"] == rfc3339(T0 + 10)
    a = st["containerStatuses"][0]
    assert a["restartCount"] == 1 and a["ready"] and a["started"]
    assert a["containerID"] == "kemu://a-1" and a["imageID"] == "sha256:bb" and a["image"] == "busybox:1.36"
    assert a["state"]["running"]["startedAt"] == rfc3339(T0 + 4)
    assert a["lastState"]["terminated"] == {"exitCode": 1, "reason": "Error", "containerID": "kemu://a-0",
                                            "startedAt": rfc3339(T0), "finishedAt": rfc3339(T0 + 3)}
    i = st["initContainerStatuses"][0]
    assert i["state"]["terminated"]["reason"] == "Completed" and not i["ready"]


def test_crashloop_waiting_keeps_last_termination() -> None:
    o = obs(exited("app", 1, attempt=2), exited("app", 1, attempt=1))
    st = compute_pod_status(pod(), o, StatusInputs(now=T0, waiting={"app": ("CrashLoopBackOff", "back-off 20s")}))
    s = st["containerStatuses"][0]
    assert s["restartCount"] == 2
    assert s["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s"}}
    assert s["lastState"]["terminated"]["containerID"] == "kemu://app-2"


def test_condition_transition_time_kept_while_unchanged() -> None:
    p = pod()
    st1 = compute_pod_status(p, obs(run("app")), StatusInputs(now=T0))
    p["status"] = st1
    st2 = compute_pod_status(p, obs(run("app")), StatusInputs(now=T0 + 100))
    assert [k["lastTransitionTime"] for k in st2["conditions"]] == [rfc3339(T0)] * 5
    assert st2["startTime"] == rfc3339(T0)
    p["status"] = st2
    st3 = compute_pod_status(p, obs(run("app")), StatusInputs(now=T0 + 200, ready={"app": False}))
    ready = next(k for k in st3["conditions"] if k["type"] == "Ready")
    assert ready["lastTransitionTime"] == rfc3339(T0 + 200)
    assert ready["reason"] == "ContainersNotReady" and ready["message"] == "containers with unready status: [app]"


def test_pod_ip_kept_when_sandbox_gone() -> None:
    p = pod(policy="Never", status={"podIP": "10.244.1.9", "phase": "Running"})
    st = compute_pod_status(p, obs(exited("app", 0), sandbox=sb(ready=False)), INP)
    assert st["podIP"] == "10.244.1.9" and st["phase"] == "Succeeded"


def test_readiness_gates_and_foreign_conditions() -> None:
    p = pod(spec={"readinessGates": [{"conditionType": "example.com/lb"}]})
    st = compute_pod_status(p, obs(run("app")), INP)
    ready = next(k for k in st["conditions"] if k["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ReadinessGatesNotReady"
    assert _cond(st)["ContainersReady"] == "True"
    gate = {"type": "example.com/lb", "status": "True", "lastTransitionTime": rfc3339(T0)}
    p["status"] = {**st, "conditions": [*st["conditions"], gate]}
    st2 = compute_pod_status(p, obs(run("app")), INP)
    assert _cond(st2)["Ready"] == "True" and gate in st2["conditions"]


def test_host_network_pod_ip_is_host_ip() -> None:
    st = compute_pod_status(pod(spec={"hostNetwork": True}), obs(run("app"), sandbox=sb(ip="")), INP)
    assert st["podIP"] == "172.30.0.11"


def test_ephemeral_container_status() -> None:
    p = pod([c("app")], spec={"ephemeralContainers": [c("debugger")]})
    st = compute_pod_status(p, obs(run("app"), exited("debugger", 0)), INP)
    assert st["phase"] == "Running" and _state(st["ephemeralContainerStatuses"][0]) == ("terminated", "Completed")
