"""The runtime interface the kubelet executor uses, in the kubelet's own terms (one adapter speaks CRI).

``RuntimeClient`` is implemented by ``cri_client.CriRuntime`` over CRI ``runtime.v1`` gRPC on a unix socket.
Requests are plain frozen records so the pure code (``containers.py``) can build them and tests can inspect them.
Labels follow the kubelet's: every sandbox and container carries ``io.kubernetes.pod.uid`` (the adoption key),
``io.kubernetes.pod.name`` and ``io.kubernetes.pod.namespace``; containers also ``io.kubernetes.container.name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from node_agent.kubelet.model import ObservedPod

LABEL_POD_UID = "io.kubernetes.pod.uid"
LABEL_POD_NAME = "io.kubernetes.pod.name"
LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace"
LABEL_CONTAINER_NAME = "io.kubernetes.container.name"


class RuntimeError_(Exception):
    """A runtime call failed; ``reason`` is the kubelet's waiting reason to report (e.g. ErrImagePull)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SandboxRequest:
    name: str
    namespace: str
    uid: str
    attempt: int
    hostname: str
    log_directory: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    dns_servers: tuple[str, ...] = ()
    dns_searches: tuple[str, ...] = ()
    cgroup_parent: str = ""  # the pod cgroup, as the kubelet names it (kubepods/<qos>/pod<uid>)
    # CRI PortMapping per containerPort with a hostPort: (protocol, container port, host port, host IP)
    port_mappings: tuple[tuple[str, int, int, str], ...] = ()
    # LinuxPodSandboxConfig.resources: the pod's summed limits (cpu_period, cpu_quota, cpu_shares, memory bytes)
    pod_resources: tuple[int, int, int, int] = (0, 0, 0, 0)
    share_pid: bool = False  # spec.shareProcessNamespace: one PID namespace for the pod
    host_network: bool = False
    run_as_user: int | None = None
    run_as_group: int | None = None


@dataclass(frozen=True)
class MountRequest:
    container_path: str
    host_path: str
    read_only: bool


@dataclass(frozen=True)
class ContainerRequest:
    name: str
    attempt: int
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    working_dir: str
    envs: tuple[tuple[str, str], ...]
    mounts: tuple[MountRequest, ...]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    log_path: str  # relative to the sandbox's log_directory
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_shares: int = 0
    memory_limit_in_bytes: int = 0
    tty: bool = False
    stdin: bool = False
    run_as_user: int | None = None
    run_as_group: int | None = None
    privileged: bool = False
    read_only_rootfs: bool = False
    pid_target_id: str = ""  # ephemeral container sharing the PID namespace of this container (targetContainerName)


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


class RuntimeClient(Protocol):
    async def version(self) -> str: ...
    async def list_pods(self) -> dict[str, ObservedPod]: ...  # by pod uid
    async def observe(self, pod_uid: str) -> ObservedPod: ...
    async def run_sandbox(self, req: SandboxRequest) -> str: ...
    async def stop_sandbox(self, sandbox_id: str) -> None: ...
    async def remove_sandbox(self, sandbox_id: str) -> None: ...
    async def image_ref(self, image: str) -> str | None: ...  # None = not present
    async def pull_image(self, image: str) -> str: ...
    async def create_container(self, sandbox_id: str, req: ContainerRequest, sandbox: SandboxRequest) -> str: ...
    async def start_container(self, container_id: str) -> None: ...
    async def stop_container(self, container_id: str, timeout_s: int) -> None: ...
    async def remove_container(self, container_id: str) -> None: ...
    async def exec_sync(self, container_id: str, cmd: list[str], timeout_s: float) -> ExecResult: ...


class StatsClient(Protocol):
    """Optional runtime capability: per-container cumulative CPU/memory (CRI ListContainerStats)."""

    async def container_stats(self) -> list[Any]: ...  # list of stats.ContainerSample


class StreamingClient(Protocol):
    """Optional runtime capability: CRI Exec/Attach streaming URLs (the kubelet relays the client to them)."""

    async def exec_url(self, container_id: str, cmd: list[str], *, tty: bool, stdin: bool, stdout: bool,
                       stderr: bool) -> str: ...
    async def attach_url(self, container_id: str, *, tty: bool, stdin: bool, stdout: bool, stderr: bool) -> str: ...
    async def port_forward_url(self, sandbox_id: str, ports: list[int]) -> str: ...
