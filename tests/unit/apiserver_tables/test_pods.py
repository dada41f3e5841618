"""Pod rows: READY, STATUS, RESTARTS and the wide cells, case by case as the real pod printer computes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from apiserver.tables import column_definitions, row_cells

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
CREATED = "2026-01-01T11:00:00Z"

Obj = dict[str, Any]


def running(name: str = "app", ready: bool = True, restarts: int = 0, finished: str | None = None) -> Obj:
    cs: Obj = {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": CREATED}}}
    if finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": finished}}
    return cs


def waiting(reason: str, name: str = "app", restarts: int = 0, finished: str | None = None) -> Obj:
    cs: Obj = {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}
    if finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": finished}}
    return cs


def terminated(reason: str = "", exit_code: int = 0, signal: int = 0, name: str = "app") -> Obj:
    term: Obj = {"exitCode": exit_code, "finishedAt": CREATED}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


def pod(containers: int = 1, statuses: list[Obj] | None = None, phase: str = "Running", init: list[Obj] | None = None,
        init_statuses: list[Obj] | None = None, conditions: list[Obj] | None = None, **extra: Any) -> Obj:
    spec: Obj = {"containers": [{"name": f"c{i}", "image": "busybox"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    status: Obj = {"phase": phase}
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        status["conditions"] = conditions
    meta: Obj = {"name": "p", "namespace": "default", "creationTimestamp": CREATED}
    for k, v in extra.items():
        if k in ("deletionTimestamp",):
            meta[k] = v
        elif k in ("reason", "podIPs", "nominatedNodeName"):
            status[k] = v
        else:
            spec[k] = v
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def show(p: Obj) -> tuple[str, str, str]:
    cells = row_cells("", "pods", p, NOW)
    return cells[1], cells[2], cells[3]


INIT2 = [{"name": "i0", "image": "busybox"}, {"name": "i1", "image": "busybox"}]
SIDECAR = [{"name": "log", "image": "busybox", "restartPolicy": "Always"}]


@pytest.mark.parametrize(("p", "want"), [
    (pod(statuses=[running()]), ("1/1", "Running", "0")),
    (pod(containers=2, statuses=[running("a"), running("b", ready=False)]), ("1/2", "Running", "0")),
    (pod(statuses=None, phase="Pending"), ("0/1", "Pending", "0")),
    (pod(statuses=[waiting("ContainerCreating")], phase="Pending"), ("0/1", "ContainerCreating", "0")),
    (pod(statuses=[waiting("ImagePullBackOff")], phase="Pending"), ("0/1", "ImagePullBackOff", "0")),
    (pod(statuses=[waiting("CrashLoopBackOff", restarts=5, finished="2026-01-01T11:59:40Z")]),
     ("0/1", "CrashLoopBackOff", "5 (20s ago)")),
    (pod(statuses=[running(restarts=3, finished="2026-01-01T11:55:00Z")]), ("1/1", "Running", "3 (5m ago)")),
    (pod(statuses=[running(restarts=2)]), ("1/1", "Running", "2")),  # no finishedAt: no "ago"
    (pod(statuses=[terminated("Completed")], phase="Succeeded"), ("0/1", "Completed", "0")),
    (pod(statuses=[terminated("OOMKilled", 137)], phase="Running"), ("0/1", "OOMKilled", "0")),
    (pod(statuses=[terminated("Error", 1)], phase="Failed"), ("0/1", "Error", "0")),
    (pod(statuses=[terminated(exit_code=3)], phase="Failed"), ("0/1", "ExitCode:3", "0")),
    (pod(statuses=[terminated(exit_code=0)], phase="Succeeded"), ("0/1", "ExitCode:0", "0")),
    (pod(statuses=[terminated(signal=9, exit_code=137)], phase="Failed"), ("0/1", "Signal:9", "0")),
    # The first container's state wins (containers are walked from the last one).
    (pod(containers=2, statuses=[waiting("CrashLoopBackOff", "a"), waiting("ContainerCreating", "b")]),
     ("0/2", "CrashLoopBackOff", "0")),
    # Completed flips back while another container still runs.
    (pod(containers=2, statuses=[terminated("Completed", name="a"), running("b")],
         conditions=[{"type": "Ready", "status": "True"}]), ("1/2", "Running", "0")),
    (pod(containers=2, statuses=[terminated("Completed", name="a"), running("b")],
         conditions=[{"type": "Ready", "status": "False"}]), ("1/2", "NotReady", "0")),
    # Status reasons set by the kubelet or the eviction API.
    (pod(statuses=[terminated("Error", 1)], phase="Failed", reason="Evicted"), ("0/1", "Error", "0")),
    (pod(statuses=None, phase="Failed", reason="Evicted"), ("0/1", "Evicted", "0")),
    (pod(statuses=None, phase="Pending",
         conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
     ("0/1", "SchedulingGated", "0")),
    # Deletion.
    (pod(statuses=[running()], deletionTimestamp="2026-01-01T11:59:00Z"), ("1/1", "Terminating", "0")),
    (pod(statuses=[terminated("Completed")], phase="Succeeded", deletionTimestamp="2026-01-01T11:59:00Z"),
     ("0/1", "Completed", "0")),
    (pod(statuses=[running()], deletionTimestamp="2026-01-01T11:59:00Z", reason="NodeLost"),
     ("1/1", "Unknown", "0")),
])
def test_pod_status(p: Obj, want: tuple[str, str, str]) -> None:
    assert show(p) == want


@pytest.mark.parametrize(("init_statuses", "want_status"), [
    ([{"name": "i0", "state": {"running": {}}}, {"name": "i1", "state": {"waiting": {"reason": "PodInitializing"}}}],
     "Init:0/2"),
    ([{"name": "i0", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
      {"name": "i1", "state": {"running": {}}}], "Init:1/2"),
    ([{"name": "i0", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}], "Init:Error"),
    ([{"name": "i0", "state": {"terminated": {"exitCode": 2}}}], "Init:ExitCode:2"),
    ([{"name": "i0", "state": {"terminated": {"exitCode": 137, "signal": 9}}}], "Init:Signal:9"),
    ([{"name": "i0", "state": {"waiting": {"reason": "ImagePullBackOff"}}}], "Init:ImagePullBackOff"),
    ([{"name": "i0", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}], "Init:CrashLoopBackOff"),
    ([{"name": "i0", "state": {"waiting": {"reason": "PodInitializing"}}}], "Init:0/2"),
    ([{"name": "i0", "state": {"waiting": {}}}], "Init:0/2"),
])
def test_init_containers(init_statuses: list[Obj], want_status: str) -> None:
    p = pod(init=INIT2, init_statuses=init_statuses, phase="Pending",
            statuses=[waiting("PodInitializing")])
    assert show(p)[1] == want_status


def test_after_init_main_containers_decide() -> None:
    done = [{"name": n, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}} for n in ("i0", "i1")]
    p = pod(init=INIT2, init_statuses=done, phase="Pending", statuses=[waiting("PodInitializing")])
    assert show(p) == ("0/1", "PodInitializing", "0")
    p = pod(init=INIT2, init_statuses=done, statuses=[running()])
    assert show(p) == ("1/1", "Running", "0")


def test_restarts_while_initializing_count_init_containers() -> None:
    init_statuses = [{"name": "i0", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                      "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T11:58:00Z"}}}]
    p = pod(init=INIT2, init_statuses=init_statuses, phase="Pending", statuses=[waiting("PodInitializing")])
    assert show(p) == ("0/1", "Init:CrashLoopBackOff", "4 (2m ago)")


def test_restarts_after_init_ignore_finished_init_containers() -> None:
    init_statuses: list[Obj] = [{"name": "i0", "restartCount": 4, "state": {"terminated": {"exitCode": 0}},
                      "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T11:58:00Z"}}},
                     {"name": "i1", "state": {"terminated": {"exitCode": 0}}}]
    p = pod(init=INIT2, init_statuses=init_statuses, statuses=[running(restarts=1)])
    assert show(p) == ("1/1", "Running", "1")


def test_sidecar_counts_towards_ready_and_restarts() -> None:
    init_statuses = [{"name": "log", "started": True, "ready": True, "restartCount": 2, "state": {"running": {}},
                      "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T11:59:30Z"}}}]
    p = pod(init=SIDECAR, init_statuses=init_statuses, statuses=[running()],
            conditions=[{"type": "Initialized", "status": "True"}])
    assert show(p) == ("2/2", "Running", "2 (30s ago)")


def test_sidecar_not_started_blocks_init() -> None:
    init_statuses = [{"name": "log", "started": False, "ready": False, "state": {"running": {}}}]
    p = pod(init=SIDECAR, init_statuses=init_statuses, phase="Pending", statuses=[waiting("PodInitializing")])
    assert show(p) == ("0/2", "Init:0/1", "0")


def test_wide_cells() -> None:
    p = pod(statuses=[running()], nodeName="node-1", podIPs=[{"ip": "10.244.1.7"}, {"ip": "fd00::7"}],
            nominatedNodeName="node-2", readinessGates=[{"conditionType": "example.com/a"},
                                                       {"conditionType": "example.com/b"}],
            conditions=[{"type": "example.com/a", "status": "True"}, {"type": "example.com/b", "status": "False"}])
    assert row_cells("", "pods", p, NOW) == ["p", "1/1", "Running", "0", "60m", "10.244.1.7", "node-1", "node-2",
                                             "1/2"]
    bare = pod(statuses=None, phase="Pending")
    assert row_cells("", "pods", bare, NOW)[5:] == ["<none>", "<none>", "<none>", "<none>"]


def test_columns() -> None:
    cols = column_definitions("", "pods")
    assert [(c["name"], c["type"], c["priority"]) for c in cols] == [
        ("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0),
        ("Age", "string", 0), ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1),
        ("Readiness Gates", "string", 1)]
    assert cols[0]["format"] == "name"
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in cols)
    assert cols[4]["description"] == "When the object was created (RFC 3339, UTC)."


@pytest.mark.parametrize("junk", [{}, {"metadata": "x", "spec": [], "status": 3},
                                  {"status": {"containerStatuses": [None, 1, {"state": None}]}}])
def test_malformed_pods_do_not_raise(junk: Obj) -> None:
    cells = row_cells("", "pods", junk, NOW)
    assert len(cells) == 9
