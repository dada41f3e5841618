"""Pod status from spec + runtime observation + probe results: a pure function.

``compute_pod_status`` returns the whole ``status`` object the kubelet PATCHes to ``pods/<name>/status``:
phase, conditions, initContainerStatuses, containerStatuses, podIP(s), hostIP(s), qosClass, startTime.

Container state (per spec name, from the newest runtime container of that name):
- none yet: waiting ``PodInitializing`` (app containers while init runs) or ``ContainerCreating``;
- a ``waiting`` override from the executor (``CrashLoopBackOff``, ``ErrImagePull``, ``ImagePullBackOff``,
  ``CreateContainerError`` ...) wins and the newest exited container becomes lastState;
- created: waiting ``ContainerCreating``; running: running since startedAt; exited: terminated with exitCode and
  reason (runtime reason such as ``OOMKilled``, else ``Completed`` for 0 and ``Error`` otherwise).
restartCount is the newest container's CRI attempt. ``started`` is true once running and past the startup probe;
``ready`` is true once started and the readiness probe (if any) says so.

Phase follows the kubelet: Pending until init finished and every app container has run; Running while any app
container runs (or will be restarted); Succeeded when all exited 0 and none restarts; Failed when all exited, one
non-zero, and the policy forbids restarts (or a Never pod's init container failed). A terminal phase never changes.
Condition lastTransitionTime is kept from the previous status while the condition's status is unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from node_agent.kubelet import model
from node_agent.kubelet.actions import init_complete, init_failed, should_restart
from node_agent.kubelet.model import CONTAINER_CREATED, CONTAINER_EXITED, CONTAINER_RUNNING, ObservedContainer
from node_agent.kubelet.resources import qos_class

TERMINAL = ("Succeeded", "Failed")
KUBELET_CONDITIONS = frozenset({"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                "PodScheduled"})


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(int(ts), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class StatusInputs:
    """What the executor knows besides the runtime observation."""

    now: float
    host_ip: str = ""
    runtime_name: str = "kemu"  # containerID prefix: "<runtime>://<id>"
    waiting: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (reason, message)
    ready: Mapping[str, bool] = field(default_factory=dict)  # readiness probe result per name (absent = no probe)
    started: Mapping[str, bool] = field(default_factory=dict)  # startup probe result per name (absent = no probe)
    image_ids: Mapping[str, str] = field(default_factory=dict)  # image -> imageID when the runtime gave none


def _terminated(c: ObservedContainer, rt: str) -> dict[str, Any]:
    reason = c.reason or ("Completed" if c.exit_code == 0 else "Error")
    t: dict[str, Any] = {"exitCode": c.exit_code, "reason": reason, "containerID": f"{rt}://{c.id}"}
    if c.message:
        t["message"] = c.message
    if c.started_at:
        t["startedAt"] = rfc3339(c.started_at)
    if c.finished_at:
        t["finishedAt"] = rfc3339(c.finished_at)
    return t


def container_status(
    pod: model.Pod, spec: Mapping[str, Any], obs: model.ObservedPod, inp: StatusInputs, *, before_init_done: bool
) -> dict[str, Any]:
    name = str(spec.get("name"))
    image = str(spec.get("image") or "")
    latest = obs.latest(name)
    st: dict[str, Any] = {"name": name, "image": image, "imageID": "", "restartCount": 0, "ready": False,
                          "started": False, "state": {}, "lastState": {}}
    if latest is not None:
        st["restartCount"] = latest.attempt
        st["imageID"] = latest.image_ref or inp.image_ids.get(image, "")
        st["containerID"] = f"{inp.runtime_name}://{latest.id}"
    prev = obs.previous(name)
    override = inp.waiting.get(name)
    if override is not None:
        st["state"] = {"waiting": {"reason": override[0], "message": override[1]}}
        last = latest if latest is not None and latest.state == CONTAINER_EXITED else prev
        if last is not None:
            st["lastState"] = {"terminated": _terminated(last, inp.runtime_name)}
        return st
    if prev is not None:
        st["lastState"] = {"terminated": _terminated(prev, inp.runtime_name)}
    if latest is None:
        reason = "PodInitializing" if before_init_done else "ContainerCreating"
        st["state"] = {"waiting": {"reason": reason}}
    elif latest.state == CONTAINER_RUNNING:
        st["state"] = {"running": {"startedAt": rfc3339(latest.started_at or latest.created_at)}}
        started = inp.started.get(name, True)
        st["started"] = started
        st["ready"] = started and inp.ready.get(name, True)
    elif latest.state == CONTAINER_EXITED:
        st["state"] = {"terminated": _terminated(latest, inp.runtime_name)}
    elif latest.state == CONTAINER_CREATED:
        st["state"] = {"waiting": {"reason": "ContainerCreating"}}
    else:
        st["state"] = {"waiting": {"reason": "ContainerCreating", "message": "container state unknown"}}
    return st


def pod_phase(pod: model.Pod, statuses: list[dict[str, Any]], init_done: bool, obs: model.ObservedPod,
              now: float | None = None) -> str:
    previous = (pod.get("status") or {}).get("phase")
    if previous in TERMINAL:
        return str(previous)
    if init_failed(pod, obs) or (now is not None and model.deadline_exceeded(pod, now)):
        return "Failed"
    if not init_done:
        return "Pending"
    policy = model.restart_policy(pod)
    running = waiting = stopped = succeeded = 0
    for s in statuses:
        state = s["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"]["exitCode"] == 0:
                succeeded += 1
        elif s["lastState"].get("terminated"):
            stopped += 1  # waiting to restart after having run
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _condition(prev: Mapping[str, Mapping[str, Any]], ctype: str, ok: bool, now: float,
               reason: str = "", message: str = "") -> dict[str, Any]:
    status = "True" if ok else "False"
    old = prev.get(ctype)
    ltt = old.get("lastTransitionTime") if old and old.get("status") == status else None
    c: dict[str, Any] = {"type": ctype, "status": status, "lastProbeTime": None,
                         "lastTransitionTime": ltt or rfc3339(now)}
    if reason and not ok:
        c["reason"] = reason
    if message and not ok:
        c["message"] = message
    return c


def compute_pod_status(pod: model.Pod, obs: model.ObservedPod, inp: StatusInputs) -> dict[str, Any]:
    old_status = pod.get("status") or {}
    prev = {str(c.get("type")): c for c in old_status.get("conditions") or []}
    done = init_complete(pod, obs)
    init_st = [container_status(pod, c, obs, inp, before_init_done=False) for c in model.init_containers(pod)]
    app_st = [container_status(pod, c, obs, inp, before_init_done=not done) for c in model.containers(pod)]
    phase = pod_phase(pod, app_st, done, obs, inp.now)

    sandbox = obs.latest_sandbox()
    now = inp.now
    incomplete = [s["name"] for s, c in zip(init_st, model.init_containers(pod), strict=True)
                  if not _init_ok(s, c)]
    apps_seen = any(obs.latest(n) is not None for n in model.names(model.containers(pod)))
    initialized = not init_failed(pod, obs) and ((done and apps_seen) or not incomplete or phase == "Succeeded")
    sidecar_names = set(model.names(model.sidecars(pod)))
    unready = [s["name"] for s in init_st if s["name"] in sidecar_names and not s["ready"]]
    unready += [s["name"] for s in app_st if not s["ready"]]
    containers_ready = not unready and phase not in TERMINAL
    if phase == "Succeeded":
        ready_reason, not_ready_msg = "PodCompleted", ""
    else:
        ready_reason, not_ready_msg = "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]"

    gates = [str(g.get("conditionType")) for g in model.spec(pod).get("readinessGates") or []]
    unmet = [g for g in gates if (prev.get(g) or {}).get("status") != "True"]
    pod_ready = containers_ready and not unmet
    pod_reason, pod_msg = ready_reason, not_ready_msg
    if containers_ready and unmet:
        pod_reason = "ReadinessGatesNotReady"
        pod_msg = f'corresponding condition of pod readiness gate "{unmet[0]}" does not exist.'
    conditions = [
        _condition(prev, "PodReadyToStartContainers", sandbox is not None and sandbox.ready, now),
        _condition(prev, "Initialized", initialized, now, "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(incomplete)}]"),
        _condition(prev, "Ready", pod_ready, now, pod_reason, pod_msg),
        _condition(prev, "ContainersReady", containers_ready, now, ready_reason, not_ready_msg),
        _condition(prev, "PodScheduled", True, now),
    ]
    # Conditions other writers own (readiness gates, DisruptionTarget ...) survive our status PATCH.
    conditions += [dict(c) for t, c in prev.items() if t not in KUBELET_CONDITIONS]
    status: dict[str, Any] = {"phase": phase, "conditions": conditions, "qosClass": qos_class(pod)}
    if old_status.get("reason") == "Evicted" and phase == "Failed":
        status["reason"], status["message"] = "Evicted", str(old_status.get("message") or "")
    elif old_status.get("reason") == "DeadlineExceeded" or (phase == "Failed" and model.deadline_exceeded(pod, now)):
        status["reason"] = "DeadlineExceeded"
        status["message"] = "Pod was active on the node longer than the specified deadline"
    if inp.host_ip:
        status["hostIP"] = inp.host_ip
        status["hostIPs"] = [{"ip": inp.host_ip}]
    ip = sandbox.ip if sandbox is not None and sandbox.ready else old_status.get("podIP", "")
    if model.spec(pod).get("hostNetwork"):
        ip = inp.host_ip or ip  # host-network pods share the node's address
    if not ip and phase == "Running" and sandbox is not None and not sandbox.network_ready:
        phase = status["phase"] = "Pending"  # never Running without the pod's address
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    status["startTime"] = old_status.get("startTime") or rfc3339(now)
    if init_st:
        status["initContainerStatuses"] = init_st
    status["containerStatuses"] = app_st
    eph = model.ephemeral_containers(pod)
    if eph:
        status["ephemeralContainerStatuses"] = [container_status(pod, c, obs, inp, before_init_done=False)
                                                for c in eph]
    return status


def _init_ok(s: Mapping[str, Any], c: Mapping[str, Any]) -> bool:
    if model.is_sidecar(c):
        return bool(s["started"])
    t = s["state"].get("terminated")
    return bool(t) and t["exitCode"] == 0


def restarting(pod: model.Pod, c: ObservedContainer) -> bool:
    """Whether an exited container will be restarted by policy (for callers deciding on BackOff events)."""
    return should_restart(model.restart_policy(pod), c.exit_code)
