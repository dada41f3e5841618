"""Start a real etcd cluster (Debian etcd-server 3.4) on free loopback ports: the reference for our store."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from kemu.launcher.plan import EtcdMemberPlan as EtcdMember
from tests.support.procs import ProcessGroup, free_port, port_open, wait_for

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"


def start_real_etcd(procs: ProcessGroup, data_root: Path, size: int = 3, prefix: str = "etcd") -> list[EtcdMember]:
    members = [EtcdMember(f"{prefix}{i}", free_port(), free_port()) for i in range(size)]
    initial = ",".join(f"{m.name}={m.peer_url}" for m in members)
    for m in members:
        procs.start(m.name, [
            ETCD, "--name", m.name, "--data-dir", str(data_root / m.name),
            "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
            "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
            "--initial-cluster", initial, "--initial-cluster-state", "new",
            "--initial-cluster-token", f"kemu-test-{prefix}", "--logger", "zap", "--log-level", "error",
        ])
    for m in members:
        wait_for(functools.partial(port_open, m.client_port), what=f"real etcd {m.name}")
    return members


def endpoints(members: list[EtcdMember]) -> str:
    return ",".join(m.client_url for m in members)
