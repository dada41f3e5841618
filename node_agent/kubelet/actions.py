"""What the kubelet should do next for one pod: a pure function of spec, runtime observation and back-off.

``compute_pod_actions`` is level-triggered: the executor calls it after every change (pod update, runtime event,
probe result, back-off expiry) and carries out the returned ``PodActions`` over CRI, then calls it again. It never
assumes an earlier action succeeded; it only looks at what the runtime reports.

Rules (the kubelet's, in this order):
1. Deleting pod (deletionTimestamp): kill every live container with the deletion grace (preStop first), stop the
   sandbox; once nothing lives, ask for the API object to be deleted with grace 0.
2. Terminal pod (phase Succeeded/Failed, every app container finished and may not restart, or
   activeDeadlineSeconds passed since startTime): kill what still lives and stop the sandbox; never start again.
3. No ready sandbox: kill what lives, create a new sandbox (attempt + 1) and start the first init container (or all
   app containers). With restartPolicy Never a pod whose sandbox died after it ran is not recreated.
   A ready sandbox whose network is still being attached (no address yet, ``network_ready`` False) starts nothing.
4. Init phase, in spec order: a completed init container (exit 0) is skipped; a running one is waited for; a failed
   one is restarted with back-off (restartPolicy Always/OnFailure) or fails the pod (Never). A native sidecar (init
   container with restartPolicy Always) is started and must be running (and past its startup probe) before the
   next init container starts; it keeps running.
5. App phase: each app container without a container is started; an exited one is restarted when the pod's
   restartPolicy allows (Always; OnFailure on a non-zero exit) once its CrashLoopBackOff delay has elapsed; a
   running container whose liveness/startup probe failed is killed (it is restarted on a later pass). Sidecars
   that die are restarted in this phase too.
6. Ephemeral (debug) containers start once the pod runs and are never restarted. Containers the spec does not
   name, and older duplicates of a name, are killed. A container an earlier pass created but never got running
   is stopped and replaced (through back-off).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from node_agent.kubelet import model
from node_agent.kubelet.backoff import CrashLoopBackOff, backoff_key
from node_agent.kubelet.model import (
    CONTAINER_CREATED,
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    ObservedContainer,
    ObservedPod,
    Pod,
)

REASON_KILL_DELETE = "Killing"
REASON_KILL_UNHEALTHY = "Unhealthy"
REASON_KILL_UNKNOWN = "NotInSpec"
REASON_KILL_TERMINAL = "PodTerminated"
REASON_KILL_SANDBOX = "SandboxChanged"
REASON_KILL_INIT_FAILED = "InitFailed"
REASON_KILL_NEVER_STARTED = "NeverStarted"


@dataclass(frozen=True)
class StartContainer:
    name: str
    init: bool  # an init container (sidecar or not)
    attempt: int  # CRI metadata attempt = restartCount
    spec: Mapping[str, Any]
    restart_of: ObservedContainer | None = None  # the exited container this one replaces (executor arms back-off)


@dataclass(frozen=True)
class KillContainer:
    container_id: str
    name: str
    reason: str
    message: str
    grace_s: int
    pre_stop: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BackOffWait:
    name: str
    remaining_s: float
    message: str


@dataclass(frozen=True)
class PodActions:
    kill: tuple[KillContainer, ...] = ()
    kill_pod: bool = False  # stop the sandbox after the kills
    create_sandbox: bool = False
    sandbox_attempt: int = 0
    start: tuple[StartContainer, ...] = ()  # in order; init containers are started one per pass
    waiting: tuple[BackOffWait, ...] = ()  # CrashLoopBackOff
    init_failed: bool = False
    delete_object: bool = False  # deleting pod with nothing left: DELETE it with gracePeriodSeconds=0

    @property
    def requeue_after_s(self) -> float | None:
        return min((w.remaining_s for w in self.waiting), default=None)

    @property
    def idle(self) -> bool:
        return not (self.kill or self.kill_pod or self.create_sandbox or self.start or self.delete_object)


@dataclass
class _Builder:
    pod: Pod
    obs: ObservedPod
    now: float
    backoff: CrashLoopBackOff
    unhealthy: Mapping[str, str]
    all_obs: ObservedPod = field(default_factory=ObservedPod)  # every sandbox's containers (attempt numbers)
    kill: list[KillContainer] = field(default_factory=list)
    start: list[StartContainer] = field(default_factory=list)
    waiting: list[BackOffWait] = field(default_factory=list)

    def kill_container(self, c: ObservedContainer, reason: str, message: str) -> None:
        if any(k.container_id == c.id for k in self.kill):
            return
        spec = _spec_by_name(self.pod).get(c.name, {})
        pre_stop = (spec.get("lifecycle") or {}).get("preStop")
        grace = model.grace_period_s(self.pod)
        if reason == REASON_KILL_UNHEALTHY and not model.is_deleting(self.pod):
            # a probe may carry its own grace for the kill it causes
            for key in ("startupProbe", "livenessProbe"):
                g = (spec.get(key) or {}).get("terminationGracePeriodSeconds")
                if g is not None:
                    grace = max(0, int(g))
                    break
        self.kill.append(KillContainer(c.id, c.name, reason, message, grace, pre_stop))

    def kill_all_live(self, reason: str, message: str) -> None:
        for c in self.obs.running():
            self.kill_container(c, reason, message)

    def start_or_backoff(self, spec: Mapping[str, Any], init: bool) -> None:
        name = str(spec.get("name"))
        latest = self.obs.latest(name)
        newest = self.all_obs.latest(name)
        attempt = 0 if newest is None else newest.attempt + 1
        if latest is None or latest.state not in (CONTAINER_EXITED, CONTAINER_CREATED):
            self.start.append(StartContainer(name, init, attempt, spec))
            return
        # A container left "created" by an earlier pass never started (start failed, agent died): it is
        # replaced like a failed one, through back-off, and stopped first.
        finished = latest.finished_at if latest.state == CONTAINER_EXITED else latest.created_at
        if latest.state == CONTAINER_CREATED:
            self.kill_container(latest, REASON_KILL_NEVER_STARTED, f"Container {name} was created but never started")
        uid = str(model.meta(self.pod).get("uid") or "")
        key = backoff_key(uid, name)
        remaining = self.backoff.remaining_s(key, finished, self.now)
        if remaining > 0:
            m = model.meta(self.pod)
            delay = int(self.backoff.delay_s(key))
            pod_ref = f"{m.get('name')}_{m.get('namespace')}({uid})"
            msg = f"back-off {delay}s restarting failed container={name} pod={pod_ref}"
            self.waiting.append(BackOffWait(name, remaining, msg))
            return
        self.start.append(StartContainer(name, init, attempt, spec, restart_of=latest))

    def build(self, **kw: Any) -> PodActions:
        return PodActions(kill=tuple(self.kill), start=tuple(self.start), waiting=tuple(self.waiting), **kw)


def _spec_by_name(pod: Pod) -> dict[str, Mapping[str, Any]]:
    return {str(c.get("name")): c for c in model.all_containers(pod)}


def should_restart(restart_policy: str, exit_code: int) -> bool:
    if restart_policy == "Always":
        return True
    if restart_policy == "OnFailure":
        return exit_code != 0
    return False


def init_failed(pod: Pod, obs: ObservedPod) -> bool:
    """restartPolicy Never and a (non-sidecar) init container exited non-zero: the pod has failed."""
    if model.restart_policy(pod) != "Never":
        return False
    for c in model.init_containers(pod):
        if model.is_sidecar(c):
            continue
        latest = obs.latest(str(c.get("name")))
        if latest is not None and latest.state == CONTAINER_EXITED and latest.exit_code != 0:
            return True
    return False


def init_complete(pod: Pod, obs: ObservedPod) -> bool:
    """Every non-sidecar init container succeeded in the current sandbox (or an app container exists there,
    so init ran before)."""
    obs = obs.current()
    if any(obs.latest(n) is not None for n in model.names(model.containers(pod))):
        return True
    for c in model.init_containers(pod):
        if model.is_sidecar(c):
            continue
        latest = obs.latest(str(c.get("name")))
        if latest is None or latest.state != CONTAINER_EXITED or latest.exit_code != 0:
            return False
    return True


def apps_finished(pod: Pod, obs: ObservedPod) -> bool:
    """Every app container has exited and the restart policy restarts none of them."""
    policy = model.restart_policy(pod)
    if policy == "Always":
        return False
    cs = model.containers(pod)
    if not cs:
        return False
    for c in cs:
        latest = obs.latest(str(c.get("name")))
        if latest is None or latest.state != CONTAINER_EXITED or should_restart(policy, latest.exit_code):
            return False
    return True


def pod_is_terminal(pod: Pod, obs: ObservedPod, now: float | None = None) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed") or init_failed(pod, obs) or apps_finished(pod, obs):
        return True
    return now is not None and model.deadline_exceeded(pod, now)


def compute_pod_actions(
    pod: Pod,
    obs: ObservedPod,
    now: float,
    backoff: CrashLoopBackOff,
    *,
    unhealthy: Mapping[str, str] | None = None,
    startup_done: frozenset[str] | set[str] = frozenset(),
) -> PodActions:
    """Next actions for one pod.

    ``unhealthy`` maps container name -> message for containers whose liveness or startup probe has failed
    (for their current container id); ``startup_done`` names running containers whose startup probe has
    succeeded (containers without a startup probe need not be listed).
    """
    b = _Builder(pod, obs, now, backoff, unhealthy or {}, all_obs=obs)
    sandbox = obs.latest_sandbox()
    _kill_strays(b)

    if model.is_deleting(pod):
        b.kill_all_live(REASON_KILL_DELETE, "Stopping container")
        nothing_left = not obs.running() and (sandbox is None or not sandbox.ready)
        return b.build(kill_pod=sandbox is not None and sandbox.ready, delete_object=nothing_left)

    if pod_is_terminal(pod, obs, now):
        b.kill_all_live(REASON_KILL_TERMINAL, "Pod has finished")
        failed = init_failed(pod, obs)
        return b.build(kill_pod=sandbox is not None and sandbox.ready, init_failed=failed)

    ready_sandboxes = [s for s in obs.sandboxes if s.ready]
    if sandbox is None or not sandbox.ready or len(ready_sandboxes) > 1:
        return _recreate_sandbox(b, sandbox)
    if not sandbox.network_ready:
        return b.build()  # its network is still being attached: nothing starts without the pod's address

    if not init_complete(pod, obs):
        b.obs = obs.current()
        _init_phase(b, startup_done)
        return b.build()

    for c in model.sidecars(pod):
        _keep_running(b, c, init=True)
    policy = model.restart_policy(pod)
    for c in model.containers(pod):
        name = str(c.get("name"))
        latest = obs.latest(name)
        if latest is not None and latest.state == CONTAINER_EXITED and not should_restart(policy, latest.exit_code):
            continue
        _keep_running(b, c, init=False)
    for c in model.ephemeral_containers(pod):
        # debug containers run once, are never restarted and never block anything
        if obs.latest(str(c.get("name"))) is None:
            b.start_or_backoff(c, init=False)
    return b.build()


def _kill_strays(b: _Builder) -> None:
    specs = _spec_by_name(b.pod)
    for c in b.obs.running():
        if c.name not in specs:
            b.kill_container(c, REASON_KILL_UNKNOWN, f"Container {c.name} is not in the pod spec")
            continue
        latest = b.obs.latest(c.name)
        if latest is not None and latest.id != c.id:
            b.kill_container(c, REASON_KILL_UNKNOWN, f"Duplicate container for {c.name}")


def _recreate_sandbox(b: _Builder, sandbox: model.ObservedSandbox | None) -> PodActions:
    b.kill_all_live(REASON_KILL_SANDBOX, "Pod sandbox changed, it will be killed and re-created")
    if model.restart_policy(b.pod) == "Never" and sandbox is not None and b.obs.containers:
        # The pod already ran in a sandbox that is gone; Never forbids running it again.
        return b.build(kill_pod=True)
    attempt = 0 if sandbox is None else sandbox.attempt + 1
    inits = model.init_containers(b.pod)
    # A fresh sandbox starts from scratch: attempts continue from what the runtime still remembers.
    if inits:
        b.start_or_backoff(inits[0], init=True)
    else:
        for c in model.containers(b.pod):
            b.start_or_backoff(c, init=False)
    return b.build(kill_pod=sandbox is not None, create_sandbox=True, sandbox_attempt=attempt)


def _init_phase(b: _Builder, startup_done: frozenset[str] | set[str]) -> None:
    policy = model.restart_policy(b.pod)
    for c in model.init_containers(b.pod):
        name = str(c.get("name"))
        latest = b.obs.latest(name)
        if model.is_sidecar(c):
            if latest is not None and latest.state == CONTAINER_RUNNING:
                if name in b.unhealthy:
                    b.kill_container(latest, REASON_KILL_UNHEALTHY, b.unhealthy[name])
                    return
                if c.get("startupProbe") and name not in startup_done:
                    return  # the next init container waits for the sidecar to have started
                continue
            if latest is not None and latest.state not in (CONTAINER_EXITED, CONTAINER_CREATED):
                return  # unknown: wait for the runtime
            b.start_or_backoff(c, init=True)
            return
        if latest is None or latest.state == CONTAINER_CREATED:
            b.start_or_backoff(c, init=True)
            return
        if latest.state != CONTAINER_EXITED:
            return
        if latest.exit_code == 0:
            continue
        if policy == "Never":  # pod_is_terminal caught this before; kept for safety
            b.kill_all_live(REASON_KILL_INIT_FAILED, f"Init container {name} failed")
            return
        b.start_or_backoff(c, init=True)
        return


def _keep_running(b: _Builder, c: Mapping[str, Any], init: bool) -> None:
    name = str(c.get("name"))
    latest = b.obs.latest(name)
    if latest is not None and latest.state not in (CONTAINER_EXITED, CONTAINER_CREATED):
        if latest.state == CONTAINER_RUNNING and name in b.unhealthy:
            b.kill_container(latest, REASON_KILL_UNHEALTHY, b.unhealthy[name])
        return
    b.start_or_backoff(c, init=init)


def containers_to_remove(obs: ObservedPod, keep_per_name: int = 2) -> list[ObservedContainer]:
    """Exited containers beyond the newest ``keep_per_name`` of each name (the newest and the previous one,
    which ``lastState`` and ``logs --previous`` need): garbage for the runtime, as the kubelet's container GC."""
    by_name: dict[str, list[ObservedContainer]] = {}
    for c in obs.containers:
        by_name.setdefault(c.name, []).append(c)
    out: list[ObservedContainer] = []
    for cs in by_name.values():
        cs.sort(key=lambda c: (c.attempt, c.created_at), reverse=True)
        out += [c for c in cs[keep_per_name:] if c.state == CONTAINER_EXITED]
    return out


def sandboxes_to_remove(obs: ObservedPod, removed: list[ObservedContainer]) -> list[str]:
    """Stopped sandboxes other than the newest whose containers are all garbage too (removing a sandbox removes
    its containers). Nothing when some container's sandbox is unknown."""
    latest = obs.latest_sandbox()
    if latest is None or any(not c.sandbox_id for c in obs.containers):
        return []
    gone = {c.id for c in removed}
    kept_in = {c.sandbox_id for c in obs.containers if c.id not in gone}
    return [s.id for s in obs.sandboxes if s.id != latest.id and not s.ready and s.id not in kept_in]
