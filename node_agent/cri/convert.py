"""CRI messages <-> runtime records (pure translation, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node_agent.cri.pb import api_pb2 as pb
from node_agent.runtime.cgroups import Limits
from node_agent.runtime.images import Image
from node_agent.runtime.runtime import CONTAINER, POD, ContainerConfig, MountSpec, SandboxConfig

_CT_STATE = {"created": pb.CONTAINER_CREATED, "running": pb.CONTAINER_RUNNING, "exited": pb.CONTAINER_EXITED}
_SB_STATE = {"ready": pb.SANDBOX_READY, "notready": pb.SANDBOX_NOTREADY}


def sandbox_config(c: Any) -> SandboxConfig:
    ns = c.linux.security_context.namespace_options
    has_ns = c.linux.HasField("security_context") and c.linux.security_context.HasField("namespace_options")
    return SandboxConfig(
        name=c.metadata.name, uid=c.metadata.uid, namespace=c.metadata.namespace, attempt=c.metadata.attempt,
        hostname=c.hostname, log_directory=c.log_directory, labels=dict(c.labels), annotations=dict(c.annotations),
        dns_servers=tuple(c.dns_config.servers), dns_searches=tuple(c.dns_config.searches),
        dns_options=tuple(c.dns_config.options), network_mode=ns.network if has_ns else POD,
        pid_mode=ns.pid if has_ns else CONTAINER, cgroup_parent=c.linux.cgroup_parent,
        pod_limits=limits(c.linux.resources) if c.linux.HasField("resources") else None,
        port_mappings=tuple((m.protocol, m.container_port, m.host_port, m.host_ip) for m in c.port_mappings))


def limits(r: Any) -> Limits:
    unified: Mapping[str, str] = r.unified
    pids = unified.get("pids.max", "")
    return Limits(memory_bytes=r.memory_limit_in_bytes, cpu_quota_us=r.cpu_quota, cpu_period_us=r.cpu_period,
                  cpu_shares=r.cpu_shares, pids_max=int(pids) if pids.isdigit() else 0)


def container_config(c: Any) -> ContainerConfig:
    sc = c.linux.security_context
    has_ns = c.linux.HasField("security_context") and sc.HasField("namespace_options")
    return ContainerConfig(
        name=c.metadata.name, image=c.image.image, attempt=c.metadata.attempt, command=tuple(c.command),
        args=tuple(c.args), working_dir=c.working_dir, envs=tuple((e.key, e.value) for e in c.envs),
        mounts=tuple(MountSpec(m.container_path, m.host_path, m.readonly) for m in c.mounts),
        labels=dict(c.labels), annotations=dict(c.annotations), log_path=c.log_path, tty=c.tty, stdin=c.stdin,
        stdin_once=c.stdin_once,
        limits=limits(c.linux.resources),
        run_as_user=sc.run_as_user.value if sc.HasField("run_as_user") else None,
        run_as_group=sc.run_as_group.value if sc.HasField("run_as_group") else None,
        readonly_rootfs=sc.readonly_rootfs, pid_mode=sc.namespace_options.pid if has_ns else None,
        target_id=sc.namespace_options.target_id if has_ns else "", privileged=sc.privileged,
        add_capabilities=tuple(sc.capabilities.add_capabilities),
        drop_capabilities=tuple(sc.capabilities.drop_capabilities))


def _sb_meta(sb: Mapping[str, Any]) -> Any:
    return pb.PodSandboxMetadata(name=sb["name"], uid=sb["uid"], namespace=sb["namespace"], attempt=sb["attempt"])


def pod_sandbox(sb: Mapping[str, Any]) -> Any:
    return pb.PodSandbox(id=sb["id"], metadata=_sb_meta(sb), state=_SB_STATE[sb["state"]],
                         created_at=sb["created_at"], labels=sb["labels"], annotations=sb["annotations"])


def sandbox_status(sb: Mapping[str, Any]) -> Any:
    opts = pb.NamespaceOption(network=sb["network_mode"], pid=sb["pid_mode"], ipc=pb.POD)
    return pb.PodSandboxStatus(
        id=sb["id"], metadata=_sb_meta(sb), state=_SB_STATE[sb["state"]], created_at=sb["created_at"],
        network=pb.PodSandboxNetworkStatus(ip=sb.get("ip", "")),
        linux=pb.LinuxPodSandboxStatus(namespaces=pb.Namespace(options=opts)),
        labels=sb["labels"], annotations=sb["annotations"])


def _ct_meta(c: Mapping[str, Any]) -> Any:
    return pb.ContainerMetadata(name=c["name"], attempt=c["attempt"])


def container(c: Mapping[str, Any]) -> Any:
    return pb.Container(id=c["id"], pod_sandbox_id=c["sandbox_id"], metadata=_ct_meta(c),
                        image=pb.ImageSpec(image=c["image"]), image_ref=c["image_ref"], image_id=c["image_ref"],
                        state=_CT_STATE[c["state"]], created_at=c["created_at"], labels=c["labels"],
                        annotations=c["annotations"])


def container_status(c: Mapping[str, Any]) -> Any:
    lim = c.get("limits") or {}
    res = pb.ContainerResources(linux=pb.LinuxContainerResources(
        memory_limit_in_bytes=lim.get("memory_bytes", 0), cpu_quota=lim.get("cpu_quota_us", 0),
        cpu_period=lim.get("cpu_period_us", 0), cpu_shares=lim.get("cpu_shares", 0)))
    return pb.ContainerStatus(
        id=c["id"], metadata=_ct_meta(c), state=_CT_STATE[c["state"]], created_at=c["created_at"],
        started_at=c["started_at"], finished_at=c["finished_at"], exit_code=c["exit_code"],
        image=pb.ImageSpec(image=c["image"]), image_ref=c["image_ref"], image_id=c["image_ref"],
        reason=c["reason"], message=c["message"], labels=c["labels"], annotations=c["annotations"],
        mounts=[pb.Mount(container_path=m["container_path"], host_path=m["host_path"], readonly=m["readonly"])
                for m in c["mounts"]],
        log_path=c["log_path"], resources=res)


def image(img: Image) -> Any:
    uid = img.config.user.partition(":")[0]
    kw: dict[str, Any] = {}
    if uid.isdigit():
        kw["uid"] = pb.Int64Value(value=int(uid))
    elif uid:
        kw["username"] = uid
    return pb.Image(id=img.id, repo_tags=img.repo_tags(), repo_digests=img.digests(), size=img.size,
                    spec=pb.ImageSpec(image=img.id), **kw)


def matches(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())
