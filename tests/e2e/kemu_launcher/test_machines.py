"""Machines as separate network namespaces on a kemu-made bridge: reachability, partition, heal, teardown."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from kemu.launcher import machines
from kemu.netdev import bridge_mac
from tests.conftest import require_root
from tests.support.net import free_subnet
from tests.support.procs import ProcessGroup, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_machines() -> Iterator[tuple[machines.Underlay, list[machines.Machine]]]:
    require_root()
    subnet = free_subnet()
    underlay = machines.Underlay(cluster="t" + uuid.uuid4().hex[:6], subnet=subnet)
    ms = machines.plan_machines(underlay, ["a", "b"])
    machines.create_underlay(underlay)
    try:
        for m in ms:
            machines.create_machine(underlay, m)
        yield underlay, ms
    finally:
        for m in ms:
            machines.destroy_machine(m)
        machines.destroy_underlay(underlay)


def _can_connect(src: machines.Machine | None, addr: str, port: int) -> bool:
    code = (f"import socket; s=socket.create_connection(('{addr}', {port}), timeout=0.5); s.close()")
    prefix = src.exec_prefix() if src else []
    return subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, timeout=10).returncode == 0


def test_reach_partition_heal_teardown(two_machines: tuple[machines.Underlay, list[machines.Machine]],
                                       procs: ProcessGroup) -> None:
    _underlay, (a, b) = two_machines
    server = [sys.executable, "-c",
              "import socket,time; s=socket.socket(); s.bind(('0.0.0.0', 7000)); s.listen(); "
              "[s.accept()[0].close() for _ in iter(int, 1)]"]
    procs.start("srv", [*b.exec_prefix(), *server])
    wait_for(lambda: _can_connect(None, b.address, 7000), timeout_s=10, what="server in machine b")
    assert _can_connect(a, b.address, 7000)
    # no default route: nothing a machine sends can leave through the host's interfaces
    routes = subprocess.run([*a.exec_prefix(), "ip", "route"], capture_output=True, text=True).stdout
    assert "default" not in routes
    machines.partition(b, [a.address])
    assert not _can_connect(a, b.address, 7000)
    assert _can_connect(None, b.address, 7000)          # the host is not in the partition
    machines.heal(b)
    assert _can_connect(a, b.address, 7000)
    # the host side keeps its fixed MAC whatever ports join (machines cache it)
    link = subprocess.run(["ip", "-o", "link", "show", _underlay.bridge], capture_output=True, text=True).stdout
    assert f"link/ether {bridge_mac(_underlay.host_address)} " in link


def test_teardown_leaves_nothing(two_machines: tuple[machines.Underlay, list[machines.Machine]]) -> None:
    underlay, ms = two_machines
    for m in ms:
        machines.destroy_machine(m)
    machines.destroy_underlay(underlay)
    assert not {m.netns for m in ms} & machines.existing_netns()
    assert subprocess.run(["ip", "link", "show", underlay.bridge], capture_output=True).returncode != 0


def test_plan_is_deterministic_and_bounded() -> None:
    u = machines.Underlay(cluster="c1")
    first = machines.plan_machines(u, ["etcd-1", "node-1"])
    assert first == machines.plan_machines(u, ["etcd-1", "node-1"])
    assert [m.address for m in first] == ["10.250.0.10", "10.250.0.11"]
    assert all(len(m.veth_host) <= 15 for m in first) and len(u.bridge) <= 15
    with pytest.raises(ValueError):
        machines.plan_machines(machines.Underlay("c", "10.9.0.0/29"), ["a", "b", "c"])
