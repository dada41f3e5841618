"""Pure construction of runtime requests from a Pod: sandbox config and per-container config.

Log layout is the kubelet's: the sandbox log directory is ``<log_root>/<namespace>_<name>_<uid>`` and each container
logs to ``<container>/<attempt>.log`` inside it (the kubelet HTTP endpoint reads the same files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from node_agent.kubelet import model
from node_agent.kubelet.env import expand
from node_agent.kubelet.resources import linux_resources, pod_cgroup_parent, pod_linux_resources
from node_agent.kubelet.runtime_api import (
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerRequest,
    MountRequest,
    SandboxRequest,
)
from node_agent.kubelet.volumes import Mount


def pod_log_dir(log_root: str, pod: model.Pod) -> str:
    m = model.meta(pod)
    return os.path.join(log_root, f"{m.get('namespace')}_{m.get('name')}_{m.get('uid')}")


def container_log_path(name: str, attempt: int) -> str:
    return os.path.join(name, f"{attempt}.log")


def pod_labels(pod: model.Pod) -> dict[str, str]:
    m = model.meta(pod)
    return {LABEL_POD_UID: str(m.get("uid")), LABEL_POD_NAME: str(m.get("name")),
            LABEL_POD_NAMESPACE: str(m.get("namespace"))}


def sandbox_request(pod: model.Pod, attempt: int, log_root: str, dns_servers: tuple[str, ...] = (),
                    cluster_domain: str = "cluster.local") -> SandboxRequest:
    m = model.meta(pod)
    s = model.spec(pod)
    ns = str(m.get("namespace"))
    hostname = str(s.get("hostname") or m.get("name"))[:63]
    searches = (f"{ns}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain) if dns_servers else ()
    labels = {**{str(k): str(v) for k, v in (m.get("labels") or {}).items()}, **pod_labels(pod)}
    psc = s.get("securityContext") or {}
    r = pod_linux_resources(pod)
    return SandboxRequest(name=str(m.get("name")), namespace=ns, uid=str(m.get("uid")), attempt=attempt,
                          hostname=hostname, log_directory=pod_log_dir(log_root, pod), labels=labels,
                          annotations={str(k): str(v) for k, v in (m.get("annotations") or {}).items()},
                          dns_servers=dns_servers, dns_searches=searches,
                          cgroup_parent=pod_cgroup_parent(pod), port_mappings=port_mappings(pod),
                          pod_resources=(r.cpu_period, r.cpu_quota, r.cpu_shares, r.memory_limit_in_bytes),
                          share_pid=bool(s.get("shareProcessNamespace")), host_network=bool(s.get("hostNetwork")),
                          run_as_user=_opt_int(psc.get("runAsUser")), run_as_group=_opt_int(psc.get("runAsGroup")))


def port_mappings(pod: model.Pod) -> tuple[tuple[str, int, int, str], ...]:
    """(protocol, containerPort, hostPort, hostIP) of every container port that asks for a hostPort (host-network
    pods use the node's ports directly: none)."""
    if model.spec(pod).get("hostNetwork"):
        return ()
    out = []
    for c in model.containers(pod) + model.init_containers(pod):
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append((str(p.get("protocol") or "TCP"), int(p["containerPort"]), int(p["hostPort"]),
                            str(p.get("hostIP") or "")))
    return tuple(out)


def _opt_int(v: object) -> int | None:
    return None if v is None else int(str(v))


def container_request(pod: model.Pod, c: Mapping[str, Any], attempt: int, env: list[tuple[str, str]],
                      mounts: list[Mount], image_ref: str = "", pid_target_id: str = "") -> ContainerRequest:
    env_map = dict(env)
    # $(VAR) in command and args is expanded against the container's environment, as the kubelet does.
    command = tuple(expand(str(a), env_map) for a in c.get("command") or [])
    args = tuple(expand(str(a), env_map) for a in c.get("args") or [])
    r = linux_resources(c)
    name = str(c.get("name"))
    labels = {**pod_labels(pod), LABEL_CONTAINER_NAME: name}
    mount_reqs = [MountRequest(m.container_path, m.host_path, m.read_only) for m in mounts]
    term_path = str(c.get("terminationMessagePath") or "/dev/termination-log")
    csc = c.get("securityContext") or {}
    psc = model.spec(pod).get("securityContext") or {}
    return ContainerRequest(
        name=name, attempt=attempt, image=image_ref or str(c.get("image")), command=command, args=args,
        working_dir=str(c.get("workingDir") or ""), envs=tuple(env), mounts=tuple(mount_reqs), labels=labels,
        annotations={"io.kubernetes.container.terminationMessagePath": term_path},
        log_path=container_log_path(name, attempt), cpu_period=r.cpu_period, cpu_quota=r.cpu_quota,
        cpu_shares=r.cpu_shares, memory_limit_in_bytes=r.memory_limit_in_bytes, tty=bool(c.get("tty")),
        stdin=bool(c.get("stdin")),
        # the container's securityContext wins over the pod's for user and group
        run_as_user=_opt_int(csc.get("runAsUser", psc.get("runAsUser"))),
        run_as_group=_opt_int(csc.get("runAsGroup", psc.get("runAsGroup"))),
        privileged=bool(csc.get("privileged")), read_only_rootfs=bool(csc.get("readOnlyRootFilesystem")),
        pid_target_id=pid_target_id)
