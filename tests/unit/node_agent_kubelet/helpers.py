"""Builders for pods and runtime observations used by the kubelet core tests."""

from __future__ import annotations

from typing import Any

from node_agent.kubelet.model import ObservedContainer, ObservedPod, ObservedSandbox

T0 = 1_800_000_000.0


def pod(containers: list[dict[str, Any]] | None = None, init: list[dict[str, Any]] | None = None,
        policy: str = "Always", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": "n1", "restartPolicy": policy,
                            "containers": containers if containers is not None else [c("app")]}
    if init:
        spec["initContainers"] = init
    spec.update(extra.pop("spec", {}))
    p: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": spec}
    p["metadata"].update(extra.pop("meta", {}))
    p.update(extra)
    return p


def c(name: str, image: str = "busybox:1.36", **kw: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **kw}


def sb(ready: bool = True, attempt: int = 0, ip: str = "10.244.1.5") -> ObservedSandbox:
    return ObservedSandbox(id=f"sb{attempt}", attempt=attempt, ready=ready, ip=ip, created_at=T0)


def run(name: str, attempt: int = 0, started: float = T0) -> ObservedContainer:
    return ObservedContainer(id=f"{name}-{attempt}", name=name, attempt=attempt, state="running",
                             created_at=started, started_at=started, image="busybox:1.36", image_ref="sha256:bb")


def exited(name: str, code: int = 0, attempt: int = 0, started: float = T0, finished: float = T0 + 1,
           reason: str = "") -> ObservedContainer:
    return ObservedContainer(id=f"{name}-{attempt}", name=name, attempt=attempt, state="exited",
                             created_at=started, started_at=started, finished_at=finished, exit_code=code,
                             reason=reason, image="busybox:1.36", image_ref="sha256:bb")


def created(name: str, attempt: int = 0) -> ObservedContainer:
    return ObservedContainer(id=f"{name}-{attempt}", name=name, attempt=attempt, state="created", created_at=T0)


def obs(*containers: ObservedContainer, sandbox: ObservedSandbox | None = None,
        no_sandbox: bool = False) -> ObservedPod:
    sbs = () if no_sandbox else ((sandbox or sb()),)
    return ObservedPod(sandboxes=sbs, containers=tuple(containers))
