"""Observed runtime state and read-only views of a Pod spec, shared by the pure kubelet core.

The kubelet core never talks to the runtime: the executor lists sandboxes and containers over CRI (filtered by the
pod-uid label) and hands them here as plain frozen records. Times are seconds since the epoch (floats), exactly as
the executor converted them from CRI's nanoseconds; 0 means "never".

Pod specs are Kubernetes JSON dicts. The helpers below apply the API defaults the apiserver would have set, so the
core also works on a pod that was written without defaulting (restartPolicy Always, grace 30 s, pull policy by tag).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Pod = Mapping[str, Any]
ContainerSpec = Mapping[str, Any]

CONTAINER_CREATED = "created"
CONTAINER_RUNNING = "running"
CONTAINER_EXITED = "exited"
CONTAINER_UNKNOWN = "unknown"
ContainerRuntimeState = Literal["created", "running", "exited", "unknown"]

DEFAULT_GRACE_S = 30


@dataclass(frozen=True)
class ObservedContainer:
    """One runtime container of the pod (any attempt), as listed over CRI."""

    id: str
    name: str
    attempt: int
    state: ContainerRuntimeState
    created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int = 0
    reason: str = ""  # runtime's reason, e.g. "OOMKilled"; "" lets status derive Completed/Error
    message: str = ""
    image: str = ""
    image_ref: str = ""
    sandbox_id: str = ""  # "" = unknown (treated as belonging to the current sandbox)


@dataclass(frozen=True)
class ObservedSandbox:
    id: str
    attempt: int
    ready: bool
    ip: str = ""
    created_at: float = 0.0
    # False while a ready sandbox that will get a pod IP has none yet (its network is still being attached): the
    # kubelet starts no container in it and never reports the pod Running without its podIP.
    network_ready: bool = True


@dataclass(frozen=True)
class ObservedPod:
    """Everything the runtime knows about one pod uid."""

    sandboxes: tuple[ObservedSandbox, ...] = ()
    containers: tuple[ObservedContainer, ...] = ()

    def latest_sandbox(self) -> ObservedSandbox | None:
        if not self.sandboxes:
            return None
        return max(self.sandboxes, key=lambda s: (s.attempt, s.created_at))

    def latest(self, name: str) -> ObservedContainer | None:
        """The newest container for a spec name (highest attempt, then newest creation)."""
        best: ObservedContainer | None = None
        for c in self.containers:
            if c.name == name and (best is None or (c.attempt, c.created_at) > (best.attempt, best.created_at)):
                best = c
        return best

    def previous(self, name: str) -> ObservedContainer | None:
        """The newest exited container for the name other than the latest one (status lastState)."""
        latest = self.latest(name)
        best: ObservedContainer | None = None
        for c in self.containers:
            if c.name != name or latest is None or c.id == latest.id or c.state != CONTAINER_EXITED:
                continue
            if best is None or (c.attempt, c.created_at) > (best.attempt, best.created_at):
                best = c
        return best

    def current(self) -> ObservedPod:
        """Only the containers of the newest sandbox: init progress restarts with a new sandbox."""
        sb = self.latest_sandbox()
        if sb is None:
            return self
        return ObservedPod(self.sandboxes,
                           tuple(c for c in self.containers if not c.sandbox_id or c.sandbox_id == sb.id))

    def running(self) -> tuple[ObservedContainer, ...]:
        return tuple(c for c in self.containers if c.state in (CONTAINER_RUNNING, CONTAINER_CREATED, CONTAINER_UNKNOWN))


def spec(pod: Pod) -> Mapping[str, Any]:
    return pod.get("spec") or {}


def meta(pod: Pod) -> Mapping[str, Any]:
    return pod.get("metadata") or {}


def containers(pod: Pod) -> list[ContainerSpec]:
    return list(spec(pod).get("containers") or [])


def init_containers(pod: Pod) -> list[ContainerSpec]:
    return list(spec(pod).get("initContainers") or [])


def ephemeral_containers(pod: Pod) -> list[ContainerSpec]:
    return list(spec(pod).get("ephemeralContainers") or [])


def all_containers(pod: Pod) -> list[ContainerSpec]:
    """Init, app and ephemeral containers: every name the pod's runtime containers may carry."""
    return init_containers(pod) + containers(pod) + ephemeral_containers(pod)


def is_sidecar(c: ContainerSpec) -> bool:
    """Native sidecar: an init container with its own restartPolicy Always."""
    return c.get("restartPolicy") == "Always"


def sidecars(pod: Pod) -> list[ContainerSpec]:
    return [c for c in init_containers(pod) if is_sidecar(c)]


def restart_policy(pod: Pod) -> str:
    return str(spec(pod).get("restartPolicy") or "Always")


def grace_period_s(pod: Pod) -> int:
    """Grace for a kill: the deletion's grace when the pod is being deleted, else the spec's (default 30 s)."""
    m = meta(pod)
    if m.get("deletionTimestamp") and m.get("deletionGracePeriodSeconds") is not None:
        return max(0, int(m["deletionGracePeriodSeconds"]))
    g = spec(pod).get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE_S if g is None else max(0, int(g))


def is_deleting(pod: Pod) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def image_pull_policy(c: ContainerSpec) -> str:
    """The container's pull policy with the API default: Always for ':latest' or untagged images, else IfNotPresent."""
    p = c.get("imagePullPolicy")
    if p:
        return str(p)
    image = str(c.get("image") or "")
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def needs_pull(c: ContainerSpec, present: bool) -> bool:
    """Whether the executor must pull before creating (it reports ErrImageNeverPull for Never + absent)."""
    policy = image_pull_policy(c)
    return policy == "Always" or (policy == "IfNotPresent" and not present)


def names(cs: Iterable[ContainerSpec]) -> list[str]:
    return [str(c.get("name")) for c in cs]


def parse_rfc3339(ts: str) -> float | None:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def deadline_exceeded(pod: Pod, now: float) -> bool:
    """spec.activeDeadlineSeconds has passed since status.startTime: the kubelet fails the pod."""
    deadline = spec(pod).get("activeDeadlineSeconds")
    start = (pod.get("status") or {}).get("startTime")
    if deadline is None or not start:
        return False
    t0 = parse_rfc3339(str(start))
    return t0 is not None and now >= t0 + int(deadline)
