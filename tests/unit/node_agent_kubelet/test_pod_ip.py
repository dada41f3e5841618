"""A pod is never reported Running without its podIP (issue 4 audit).

The runtime may list a sandbox as ready while its network is still being attached (a concurrent observer, or a
RunPodSandbox the kubelet gave up on): the worker then starts nothing, reports no Running phase, and the CRI client
asks for the sandbox's status again instead of caching the address-less answer.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from node_agent.kubelet.actions import compute_pod_actions
from node_agent.kubelet.backoff import CrashLoopBackOff
from node_agent.kubelet.cri_client import CriRuntime
from node_agent.kubelet.model import ObservedSandbox
from node_agent.kubelet.status import StatusInputs, compute_pod_status
from node_agent.kubelet.worker import PodWorker, WorkerConfig

from .fakes import Clock, FakeReporter, FakeRuntime
from .helpers import T0, c, obs, pod, run, sb

pytestmark = pytest.mark.unit


class SlowNetworkRuntime(FakeRuntime):
    """Sandboxes come up ready but without an address for the first ``pending`` observations."""

    def __init__(self, clock: Clock, pending: int) -> None:
        super().__init__(clock)
        self.pending = pending

    async def observe(self, pod_uid: str) -> Any:
        o = await super().observe(pod_uid)
        if self.pending > 0:
            self.pending -= 1
            return replace(o, sandboxes=tuple(replace(s, ip="", network_ready=False) for s in o.sandboxes))
        return o


def test_actions_start_nothing_in_a_sandbox_without_its_address() -> None:
    pending = sb(ip="")
    pending = ObservedSandbox(pending.id, pending.attempt, True, "", pending.created_at, network_ready=False)
    a = compute_pod_actions(pod(), obs(sandbox=pending), T0, CrashLoopBackOff())
    assert a.idle and not a.create_sandbox
    a = compute_pod_actions(pod(), obs(), T0, CrashLoopBackOff())
    assert [s.name for s in a.start] == ["app"]


def test_status_is_never_running_without_pod_ip() -> None:
    pending = ObservedSandbox("sb0", 0, True, "", T0, network_ready=False)
    st = compute_pod_status(pod(), obs(run("app"), sandbox=pending), StatusInputs(now=T0))
    assert st["phase"] == "Pending" and "podIP" not in st
    st = compute_pod_status(pod(), obs(run("app")), StatusInputs(now=T0))
    assert st["phase"] == "Running" and st["podIP"] == "10.244.1.5"
    # a runtime without a pod network (no address ever): Running as before
    st = compute_pod_status(pod(), obs(run("app"), sandbox=sb(ip="")), StatusInputs(now=T0))
    assert st["phase"] == "Running" and "podIP" not in st


async def test_worker_waits_for_the_address_before_starting(tmp_path: Any) -> None:
    clock = Clock(T0)
    rt, rep = SlowNetworkRuntime(clock, pending=3), FakeReporter()
    cfg = WorkerConfig(pods_dir=f"{tmp_path}/pods", log_root=f"{tmp_path}/logs", host_ip="172.30.0.11")
    w = PodWorker(pod([c("app", env=[{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])]),
                  rt, rep, cfg, CrashLoopBackOff(), CrashLoopBackOff(), clock=clock)
    for _ in range(6):
        await w.sync_once()
        clock.t += 1
    assert rt.calls.count("run_sandbox 0") == 1  # the address-less sandbox is waited for, not replaced
    assert dict(rt.last_request.envs) == {"IP": "10.244.1.7"}
    assert all(s.get("podIP") for s in rep.statuses if s["phase"] == "Running")
    assert rep.statuses[-1]["phase"] == "Running"


def _status(ip: str, network: int = 0, state: int = 0) -> Any:
    return SimpleNamespace(state=state, network=SimpleNamespace(ip=ip),
                           linux=SimpleNamespace(namespaces=SimpleNamespace(options=SimpleNamespace(network=network))))


def test_cri_client_marks_an_address_less_sandbox_pending_once_the_runtime_gives_addresses() -> None:
    me = SimpleNamespace(gives_pod_ips=False)
    base = ObservedSandbox("s", 0, True, "", T0)
    # a runtime that never gave an address (no pod network): nothing is pending
    assert CriRuntime._with_network(me, base, _status("")).network_ready  # type: ignore[arg-type]
    got = CriRuntime._with_network(me, base, _status("10.244.7.3"))  # type: ignore[arg-type]
    assert got.ip == "10.244.7.3" and got.network_ready and me.gives_pod_ips
    assert not CriRuntime._with_network(me, base, _status("")).network_ready  # type: ignore[arg-type]
    # host-network sandboxes have no address of their own
    assert CriRuntime._with_network(me, base, _status("", network=2)).network_ready  # type: ignore[arg-type]
