from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from node_agent.kubelet.actions import PodActions, compute_pod_actions
from node_agent.kubelet.backoff import CrashLoopBackOff
from node_agent.kubelet.model import ObservedPod, image_pull_policy, needs_pull

from .helpers import T0, c, created, exited, obs, pod, run, sb

pytestmark = pytest.mark.unit

SIDECAR = c("proxy", restartPolicy="Always")


@dataclass
class Case:
    name: str
    pod: dict[str, Any]
    obs: ObservedPod
    start: list[str] = field(default_factory=list)
    kill: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    create_sandbox: bool = False
    kill_pod: bool = False
    delete_object: bool = False
    init_failed: bool = False
    unhealthy: dict[str, str] = field(default_factory=dict)
    startup_done: set[str] = field(default_factory=set)


DELETING = {"deletionTimestamp": "2027-01-15T08:00:00Z", "deletionGracePeriodSeconds": 5}

CASES = [
    Case("new pod: sandbox then first init", pod(init=[c("i1"), c("i2")]), obs(no_sandbox=True),
         start=["i1"], create_sandbox=True),
    Case("new pod without init: all apps", pod([c("a"), c("b")]), obs(no_sandbox=True),
         start=["a", "b"], create_sandbox=True),
    Case("init 1 running: wait", pod(init=[c("i1"), c("i2")]), obs(run("i1"))),
    Case("init 1 done: start init 2", pod(init=[c("i1"), c("i2")]), obs(exited("i1")), start=["i2"]),
    Case("inits done: start apps", pod([c("a"), c("b")], init=[c("i1")]), obs(exited("i1")), start=["a", "b"]),
    Case("init failed, Always: restart it (first: no back-off)", pod(init=[c("i1"), c("i2")]),
         obs(exited("i1", 1)), start=["i1"]),
    Case("init failed, Never: pod fails, nothing restarts", pod(init=[c("i1")], policy="Never"),
         obs(exited("i1", 1)), kill_pod=True, init_failed=True),
    Case("sidecar starts before next init", pod(init=[SIDECAR, c("i1")]), obs(), start=["proxy"]),
    Case("running sidecar lets next init start", pod(init=[SIDECAR, c("i1")]), obs(run("proxy")), start=["i1"]),
    Case("sidecar with startup probe gates next init",
         pod(init=[c("proxy", restartPolicy="Always", startupProbe={"exec": {"command": ["true"]}}), c("i1")]),
         obs(run("proxy"))),
    Case("sidecar past startup probe",
         pod(init=[c("proxy", restartPolicy="Always", startupProbe={"exec": {"command": ["true"]}}), c("i1")]),
         obs(run("proxy")), start=["i1"], startup_done={"proxy"}),
    Case("dead sidecar restarted while apps run", pod([c("a")], init=[SIDECAR, c("i1")]),
         obs(exited("proxy", 137), exited("i1"), run("a")), start=["proxy"]),
    Case("all running: idle", pod([c("a"), c("b")]), obs(run("a"), run("b"))),
    Case("Always restarts a completed container", pod([c("a")]), obs(exited("a", 0)), start=["a"]),
    Case("OnFailure does not restart exit 0 -> pod done", pod([c("a")], policy="OnFailure"),
         obs(exited("a", 0)), kill_pod=True),
    Case("OnFailure restarts exit 1", pod([c("a")], policy="OnFailure"), obs(exited("a", 1)), start=["a"]),
    Case("Never: one done, other runs", pod([c("a"), c("b")], policy="Never"), obs(exited("a", 1), run("b"))),
    Case("Never: all done -> kill sidecars and sandbox", pod([c("a")], init=[SIDECAR], policy="Never"),
         obs(run("proxy"), exited("a", 0)), kill=["proxy-0"], kill_pod=True),
    Case("terminal phase never restarts", pod([c("a")], status={"phase": "Succeeded"}), obs(exited("a", 0)),
         kill_pod=True),
    Case("liveness failure kills the container", pod([c("a")]), obs(run("a")), kill=["a-0"],
         unhealthy={"a": "Liveness probe failed"}),
    Case("sandbox died: recreate, restart from first init", pod([c("a")], init=[c("i1")]),
         obs(exited("i1"), run("a"), sandbox=sb(ready=False)), kill=["a-0"], kill_pod=True,
         create_sandbox=True, start=["i1"]),
    Case("sandbox died, Never, already ran: only kill", pod([c("a")], policy="Never"),
         obs(run("a"), sandbox=sb(ready=False)), kill=["a-0"], kill_pod=True),
    Case("container not in spec is killed", pod([c("a")]), obs(run("a"), run("old")), kill=["old-0"]),
    Case("older duplicate is killed", pod([c("a")]), obs(run("a", 0), run("a", 1)), kill=["a-0"]),
    Case("created, never started: replaced", pod([c("a")]), obs(created("a")), kill=["a-0"], start=["a"]),
    Case("init created, never started: replaced", pod([c("a")], init=[c("i1")]), obs(created("i1")),
         kill=["i1-0"], start=["i1"]),
    Case("deleting: kill all with grace", pod([c("a")], init=[SIDECAR], meta=DELETING),
         obs(run("proxy"), run("a")), kill=["proxy-0", "a-0"], kill_pod=True),
    Case("deleting, all gone: delete object", pod([c("a")], meta=DELETING),
         obs(exited("a", 137), sandbox=sb(ready=False)), delete_object=True),
    Case("deleting never started: delete object", pod([c("a")], meta=DELETING), obs(no_sandbox=True),
         delete_object=True),
]


def _summary(a: PodActions) -> dict[str, Any]:
    return {"start": [s.name for s in a.start], "kill": [k.container_id for k in a.kill],
            "waiting": [w.name for w in a.waiting], "create_sandbox": a.create_sandbox, "kill_pod": a.kill_pod,
            "delete_object": a.delete_object, "init_failed": a.init_failed}


@pytest.mark.parametrize("case", CASES, ids=[k.name for k in CASES])
def test_compute_pod_actions(case: Case) -> None:
    got = compute_pod_actions(case.pod, case.obs, T0 + 5, CrashLoopBackOff(), unhealthy=case.unhealthy,
                              startup_done=case.startup_done)
    want = {"start": case.start, "kill": case.kill, "waiting": case.waiting, "create_sandbox": case.create_sandbox,
            "kill_pod": case.kill_pod, "delete_object": case.delete_object, "init_failed": case.init_failed}
    assert _summary(got) == want


def test_crashloop_backoff_sequence() -> None:
    """A container that exits 1 a second after each start is restarted at 0, +10, +20, +40 ... s."""
    p = pod([c("a")])
    b = CrashLoopBackOff()
    now = T0
    attempt = 0
    restarts = []
    latest = exited("a", 1, attempt, started=now, finished=now + 1)
    now += 1
    for _ in range(60):
        a = compute_pod_actions(p, obs(latest), now, b)
        if a.start:
            s = a.start[0]
            assert s.attempt == attempt + 1 and s.restart_of == latest
            b.record_restart("u1/a", latest.finished_at, now)
            restarts.append(round(now - latest.finished_at))
            attempt += 1
            latest = exited("a", 1, attempt, started=now, finished=now + 1)
            now += 1
        else:
            assert a.waiting and a.waiting[0].message.startswith("back-off ")
            assert "container=a pod=web_default(u1)" in a.waiting[0].message
            now += a.requeue_after_s or 0
        if len(restarts) == 7:
            break
    assert restarts == [0, 10, 20, 40, 80, 160, 300]


def test_kill_carries_grace_and_prestop() -> None:
    pre = {"exec": {"command": ["sh", "-c", "sleep 1"]}}
    p = pod([c("a", lifecycle={"preStop": pre})], meta=DELETING)
    a = compute_pod_actions(p, obs(run("a")), T0, CrashLoopBackOff())
    assert a.kill[0].grace_s == 5 and a.kill[0].pre_stop == pre and a.kill[0].reason == "Killing"
    p = pod([c("a")], spec={"terminationGracePeriodSeconds": 7})
    a = compute_pod_actions(p, obs(run("a")), T0, CrashLoopBackOff(), unhealthy={"a": "Liveness probe failed"})
    assert a.kill[0].grace_s == 7 and a.kill[0].message == "Liveness probe failed"


def test_restart_attempt_numbers_continue() -> None:
    a = compute_pod_actions(pod([c("a")]), obs(exited("a", 1, attempt=4), exited("a", 1, attempt=3)), T0 + 500,
                            CrashLoopBackOff())
    assert a.start[0].attempt == 5


@pytest.mark.parametrize("image,policy,want,present,pull", [
    ("busybox", None, "Always", True, True),
    ("busybox:latest", None, "Always", True, True),
    ("busybox:1.36", None, "IfNotPresent", True, False),
    ("busybox:1.36", None, "IfNotPresent", False, True),
    ("reg:5000/busybox", None, "Always", True, True),
    ("busybox@sha256:ab", None, "IfNotPresent", True, False),
    ("busybox:1.36", "Never", "Never", False, False),
])
def test_pull_policy(image: str, policy: str | None, want: str, present: bool, pull: bool) -> None:
    spec = c("a", image=image)
    if policy:
        spec["imagePullPolicy"] = policy
    assert image_pull_policy(spec) == want
    assert needs_pull(spec, present) == pull


def test_new_sandbox_reruns_every_init_container() -> None:
    """Init progress is per sandbox: after a sandbox change, i2 runs again even though an old i2 succeeded."""
    from dataclasses import replace

    old = [replace(x, sandbox_id="sb0") for x in (exited("i1"), exited("i2"), exited("a", 137))]
    new_i1 = replace(exited("i1", attempt=1), sandbox_id="sb1")
    o = ObservedPod((sb(ready=False, attempt=0), sb(attempt=1)), (*old, new_i1))
    a = compute_pod_actions(pod([c("a")], init=[c("i1"), c("i2")]), o, T0 + 5, CrashLoopBackOff())
    assert [(s.name, s.attempt) for s in a.start] == [("i2", 1)]


def test_containers_to_remove_keeps_two_newest_per_name() -> None:
    from node_agent.kubelet.actions import containers_to_remove

    o = obs(exited("a", 1, 0), exited("a", 1, 1), exited("a", 1, 2), run("a", 3), exited("b", 0, 0),
            exited("b", 0, 1), exited("b", 0, 2))
    assert sorted(c.id for c in containers_to_remove(o)) == ["a-0", "a-1", "b-0"]


def test_probe_grace_period_applies_to_probe_kills() -> None:
    spec = c("a", livenessProbe={"exec": {"command": ["x"]}, "terminationGracePeriodSeconds": 3})
    a = compute_pod_actions(pod([spec]), obs(run("a")), T0, CrashLoopBackOff(), unhealthy={"a": "failed"})
    assert a.kill[0].grace_s == 3


def test_sandboxes_to_remove() -> None:
    from dataclasses import replace

    from node_agent.kubelet.actions import containers_to_remove, sandboxes_to_remove

    cs = [replace(exited("a", 1, i), sandbox_id=f"sb{i}") for i in range(3)] + [replace(run("a", 3), sandbox_id="sb3")]
    sbs = tuple(sb(ready=i == 3, attempt=i) for i in range(4))
    o = ObservedPod(sbs, tuple(cs))
    dead = containers_to_remove(o)
    assert sorted(c.id for c in dead) == ["a-0", "a-1"]
    assert sandboxes_to_remove(o, dead) == ["sb0", "sb1"]
    assert sandboxes_to_remove(obs(exited("a")), []) == []  # unknown sandbox ids: keep everything


def test_ephemeral_containers_start_once_and_are_not_strays() -> None:
    p = pod([c("a")], spec={"ephemeralContainers": [c("debugger", targetContainerName="a")]})
    a = compute_pod_actions(p, obs(run("a")), T0, CrashLoopBackOff())
    assert [s.name for s in a.start] == ["debugger"] and not a.kill
    a = compute_pod_actions(p, obs(run("a"), run("debugger")), T0, CrashLoopBackOff())
    assert a.idle
    a = compute_pod_actions(p, obs(run("a"), exited("debugger", 1)), T0 + 100, CrashLoopBackOff())
    assert a.idle  # never restarted
