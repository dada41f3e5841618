"""The pod row: READY, STATUS, RESTARTS and the wide columns, computed as the real pod printer does.

STATUS starts from ``status.phase`` (or ``status.reason``, e.g. "Evicted"), becomes "SchedulingGated" for a
gated pod, then walks the init containers in order: a successful one is skipped, a started sidecar (restartable
init container, ``restartPolicy: Always``) counts towards READY, a failed one gives "Init:<reason>" (or
"Init:Signal:N" / "Init:ExitCode:N"), a waiting one "Init:<reason>" (except "PodInitializing"), anything else
"Init:<i>/<n>"; the first such container decides. When not initializing (or the Initialized condition is True),
regular containers are walked from last to first so the first container's state wins: a waiting reason
("ContainerCreating", "CrashLoopBackOff", "ImagePullBackOff"), a terminated reason ("Completed", "OOMKilled",
"Error") or "Signal:N"/"ExitCode:N"; "Completed" flips back to "Running" (or "NotReady") while another container
still runs. A set ``deletionTimestamp`` shows "Terminating" unless the phase is terminal ("Unknown" for a pod
whose node was lost).

RESTARTS sums restart counts (init containers' only while initializing, then sidecars' plus regular ones) and
appends "(<age> ago)" of the latest ``lastState.terminated.finishedAt``. READY is ready running containers over
containers plus sidecars.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from apiserver.tables.duration import age, parse_ts, since
from apiserver.tables.formats import NONE, Obj, d, i64, lst, meta, name, s

_TERMINAL = ("Succeeded", "Failed")


def _finished_at(cs: Obj) -> dt.datetime | None:
    term = d(d(cs.get("lastState")).get("terminated"))
    if not term:
        return None
    return parse_ts(term.get("finishedAt"))


def _later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if b is None:
        return a
    return b if a is None or b > a else a


def _condition_true(status: Obj, type_: str) -> bool:
    for c in lst(status.get("conditions")):
        if d(c).get("type") == type_:
            return d(c).get("status") == "True"
    return False


def _has_ready(status: Obj) -> bool:
    return any(d(c).get("type") == "Ready" and d(c).get("status") == "True" for c in lst(status.get("conditions")))


def _terminated_reason(term: Obj, prefix: str) -> str:
    if s(term.get("reason")):
        return prefix + s(term.get("reason"))
    if i64(term.get("signal")):
        return f"{prefix}Signal:{i64(term.get('signal'))}"
    return f"{prefix}ExitCode:{i64(term.get('exitCode'))}"


def pod_cells(pod: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(pod.get("spec")), d(pod.get("status"))
    init_specs = {s(d(c).get("name")): d(c) for c in lst(spec.get("initContainers"))}
    n_init = len(lst(spec.get("initContainers")))

    def restartable(cname: str) -> bool:
        c = init_specs.get(cname)
        return c is not None and c.get("restartPolicy") == "Always"

    total = len(lst(spec.get("containers"))) + sum(1 for c in init_specs.values() if c.get("restartPolicy") == "Always")
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: dt.datetime | None = None
    last_sidecar_restart: dt.datetime | None = None

    phase = s(status.get("phase"))
    reason = s(status.get("reason")) or phase
    for c in lst(status.get("conditions")):
        if d(c).get("type") == "PodScheduled" and d(c).get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, raw in enumerate(lst(status.get("initContainerStatuses"))):
        cs = d(raw)
        cname = s(cs.get("name"))
        state = d(cs.get("state"))
        term, wait = state.get("terminated"), d(state.get("waiting"))
        restarts += i64(cs.get("restartCount"))
        last_restart = _later(last_restart, _finished_at(cs))
        if restartable(cname):
            sidecar_restarts += i64(cs.get("restartCount"))
            last_sidecar_restart = _later(last_sidecar_restart, _finished_at(cs))
        if isinstance(term, dict) and i64(term.get("exitCode")) == 0:
            continue
        if restartable(cname) and cs.get("started") is True:
            if cs.get("ready") is True:
                ready += 1
            continue
        if isinstance(term, dict):
            reason = _terminated_reason(term, "Init:")
        elif wait and s(wait.get("reason")) and wait.get("reason") != "PodInitializing":
            reason = "Init:" + s(wait.get("reason"))
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for raw in reversed(lst(status.get("containerStatuses"))):
            cs = d(raw)
            state = d(cs.get("state"))
            term, wait = state.get("terminated"), d(state.get("waiting"))
            restarts += i64(cs.get("restartCount"))
            last_restart = _later(last_restart, _finished_at(cs))
            if s(wait.get("reason")):
                reason = s(wait.get("reason"))
            elif isinstance(term, dict):
                reason = _terminated_reason(term, "")
            elif cs.get("ready") is True and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_ready(status) else "NotReady"

    if meta(pod).get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta(pod).get("deletionTimestamp") and phase not in _TERMINAL:
        reason = "Terminating"

    restarts_str = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_str = f"{restarts} ({age(last_restart, now)} ago)"

    # The v1 -> internal conversion makes status.podIP authoritative for podIPs[0].
    pod_ips = lst(status.get("podIPs"))
    pod_ip = s(status.get("podIP")) or (s(d(pod_ips[0]).get("ip")) if pod_ips else "")
    gates = lst(spec.get("readinessGates"))
    gates_str = NONE
    if gates:
        true_count = 0
        for g in gates:
            want = d(g).get("conditionType")
            for c in lst(status.get("conditions")):
                if d(c).get("type") == want:
                    if d(c).get("status") == "True":
                        true_count += 1
                    break
        gates_str = f"{true_count}/{len(gates)}"
    return [name(pod), f"{ready}/{total}", reason, restarts_str, since(meta(pod).get("creationTimestamp"), now),
            pod_ip or NONE, s(spec.get("nodeName")) or NONE, s(status.get("nominatedNodeName")) or NONE, gates_str]
