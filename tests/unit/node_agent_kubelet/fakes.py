"""In-memory runtime and reporter for unit tests of the pod worker's control flow (driven by a fake clock)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from node_agent.kubelet.model import ObservedContainer, ObservedPod, ObservedSandbox
from node_agent.kubelet.runtime_api import (
    LABEL_POD_UID,
    ContainerRequest,
    ExecResult,
    RuntimeError_,
    SandboxRequest,
)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass
class Behaviour:
    exit_code: int | None = None  # None = runs until stopped
    run_s: float = 1.0


class FakeRuntime:
    def __init__(self, clock: Callable[[], float], behaviours: dict[str, Behaviour] | None = None,
                 missing_images: set[str] | None = None) -> None:
        self.clock = clock
        self.behaviours = behaviours or {}
        self.missing = missing_images or set()
        self.images: dict[str, str] = {}
        self.sandboxes: dict[str, tuple[str, ObservedSandbox]] = {}  # id -> (uid, sandbox)
        self.containers: dict[str, tuple[str, ObservedContainer]] = {}
        self.exec_result: Callable[[str, list[str]], int] = lambda cid, cmd: 0
        self.calls: list[str] = []
        self._n = 0

    def _id(self, p: str) -> str:
        self._n += 1
        return f"{p}{self._n}"

    def _tick(self) -> None:
        now = self.clock()
        for cid, (uid, c) in list(self.containers.items()):
            b = self.behaviours.get(c.name, Behaviour())
            if c.state == "running" and b.exit_code is not None and now >= c.started_at + b.run_s:
                self.containers[cid] = (uid, replace(c, state="exited", exit_code=b.exit_code,
                                                     finished_at=c.started_at + b.run_s))

    async def version(self) -> str:
        return "fake"

    async def list_pods(self) -> dict[str, ObservedPod]:
        uids = {u for u, _ in self.sandboxes.values()} | {u for u, _ in self.containers.values()}
        return {u: await self.observe(u) for u in uids}

    async def observe(self, pod_uid: str) -> ObservedPod:
        self._tick()
        return ObservedPod(tuple(s for u, s in self.sandboxes.values() if u == pod_uid),
                           tuple(c for u, c in self.containers.values() if u == pod_uid))

    async def run_sandbox(self, req: SandboxRequest) -> str:
        assert req.labels[LABEL_POD_UID] == req.uid
        sid = self._id("sb")
        self.sandboxes[sid] = (req.uid, ObservedSandbox(sid, req.attempt, True, "10.244.1.7", self.clock()))
        self.calls.append(f"run_sandbox {req.attempt}")
        return sid

    async def stop_sandbox(self, sandbox_id: str) -> None:
        uid, s = self.sandboxes[sandbox_id]
        self.sandboxes[sandbox_id] = (uid, replace(s, ready=False))
        for cid, (u, c) in list(self.containers.items()):
            if u == uid and c.state == "running":
                self.containers[cid] = (u, replace(c, state="exited", exit_code=137, finished_at=self.clock()))
        self.calls.append("stop_sandbox")

    async def remove_sandbox(self, sandbox_id: str) -> None:
        self.sandboxes.pop(sandbox_id, None)

    async def image_ref(self, image: str) -> str | None:
        return self.images.get(image)

    async def pull_image(self, image: str) -> str:
        self.calls.append(f"pull {image}")
        if image in self.missing:
            raise RuntimeError_("ErrImagePull", f"{image}: not found")
        self.images[image] = "sha256:" + image
        return self.images[image]

    async def create_container(self, sandbox_id: str, req: ContainerRequest, sandbox: SandboxRequest) -> str:
        cid = self._id(req.name + "-")
        uid = self.sandboxes[sandbox_id][0]
        self.containers[cid] = (uid, ObservedContainer(cid, req.name, req.attempt, "created", self.clock(),
                                                       image=req.image, image_ref=self.images.get(req.image, "")))
        self.calls.append(f"create {req.name} {req.attempt}")
        self.last_request = req
        return cid

    async def start_container(self, container_id: str) -> None:
        uid, c = self.containers[container_id]
        self.containers[container_id] = (uid, replace(c, state="running", started_at=self.clock()))

    async def stop_container(self, container_id: str, timeout_s: int) -> None:
        uid, c = self.containers[container_id]
        if c.state == "running":
            self.containers[container_id] = (uid, replace(c, state="exited", exit_code=137,
                                                           finished_at=self.clock()))
        self.calls.append(f"stop {c.name} {timeout_s}")

    async def remove_container(self, container_id: str) -> None:
        self.containers.pop(container_id, None)

    async def exec_sync(self, container_id: str, cmd: list[str], timeout_s: float) -> ExecResult:
        self.calls.append(f"exec {' '.join(cmd)}")
        return ExecResult(self.exec_result(container_id, cmd), b"", b"")


class FakeReporter:
    def __init__(self, objects: dict[tuple[str, str, str], dict[str, Any]] | None = None) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.statuses: list[dict[str, Any]] = []
        self.deleted = False
        self.objects = objects or {}

    async def event(self, pod: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))

    async def patch_status(self, pod: Any, status: dict[str, Any]) -> None:
        self.statuses.append(status)

    async def delete_pod(self, pod: Any) -> None:
        self.deleted = True

    async def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, namespace, name))

    async def list_services(self, namespace: str) -> list[dict[str, Any]]:
        return [o for (kind, ns, _), o in self.objects.items() if kind == "services" and ns in (namespace, "default")]

    async def get_cluster_object(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, "", name))

    async def request_token(self, pod: Any, service_account: str, audience: str, expiration_s: int
                            ) -> tuple[str, float]:
        self.tokens_issued = getattr(self, "tokens_issued", 0) + 1
        return f"token-{service_account}-{audience}-{self.tokens_issued}", 1_800_000_000.0 + expiration_s

    def reasons(self) -> list[str]:
        return [r for _, r, _ in self.events]
