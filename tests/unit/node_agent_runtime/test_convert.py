"""CRI messages to runtime records and back (node_agent.cri.convert), without a server."""

from __future__ import annotations

import pytest

from node_agent.cri import convert
from node_agent.cri.pb import api_pb2 as pb
from node_agent.runtime.runtime import CONTAINER, NODE, POD, TARGET

pytestmark = pytest.mark.unit


def test_sandbox_config_defaults_and_namespaces() -> None:
    bare = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(name="p", uid="u", namespace="ns", attempt=2))
    cfg = convert.sandbox_config(bare)
    assert (cfg.name, cfg.uid, cfg.namespace, cfg.attempt) == ("p", "u", "ns", 2)
    assert (cfg.network_mode, cfg.pid_mode) == (POD, CONTAINER)  # no security context: pod network, own PIDs
    opts = pb.NamespaceOption(network=pb.NODE, pid=pb.POD)
    full = pb.PodSandboxConfig(
        metadata=bare.metadata, hostname="h", dns_config=pb.DNSConfig(servers=["10.96.0.10"], searches=["s"],
                                                                       options=["ndots:5"]),
        linux=pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(namespace_options=opts)))
    cfg = convert.sandbox_config(full)
    assert (cfg.network_mode, cfg.pid_mode) == (NODE, POD)
    assert (cfg.dns_servers, cfg.dns_searches, cfg.dns_options) == (("10.96.0.10",), ("s",), ("ndots:5",))


def test_container_config() -> None:
    sc = pb.LinuxContainerSecurityContext(
        run_as_user=pb.Int64Value(value=0), readonly_rootfs=True, privileged=False,
        capabilities=pb.Capability(add_capabilities=["NET_ADMIN"]),
        namespace_options=pb.NamespaceOption(pid=pb.TARGET, target_id="abc"))
    msg = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name="c", attempt=1), image=pb.ImageSpec(image="busybox"), command=["sh"],
        args=["-c", "x"], envs=[pb.KeyValue(key="A", value="1")],
        mounts=[pb.Mount(container_path="/d", host_path="/tmp", readonly=True)], stdin=True, stdin_once=True,
        linux=pb.LinuxContainerConfig(security_context=sc, resources=pb.LinuxContainerResources(
            memory_limit_in_bytes=5, cpu_quota=2, cpu_period=3, cpu_shares=4, unified={"pids.max": "9"})))
    c = convert.container_config(msg)
    assert c.run_as_user == 0 and c.run_as_group is None  # 0 is a value, not "unset"
    assert (c.pid_mode, c.target_id, c.readonly_rootfs) == (TARGET, "abc", True)
    assert c.add_capabilities == ("NET_ADMIN",) and c.envs == (("A", "1"),)
    assert (c.limits.memory_bytes, c.limits.cpu_quota_us, c.limits.cpu_period_us, c.limits.cpu_shares,
            c.limits.pids_max) == (5, 2, 3, 4, 9)
    assert c.mounts[0].readonly and c.stdin and c.stdin_once
    plain = convert.container_config(pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c")))
    assert plain.pid_mode is None and plain.run_as_user is None  # the sandbox's PID mode applies


def test_label_selector() -> None:
    assert convert.matches({"a": "1", "b": "2"}, {"a": "1"})
    assert not convert.matches({"a": "1"}, {"a": "2"})
    assert convert.matches({}, {})
