"""Start an etcd_raft cluster (python -m etcd_raft) on free loopback ports, shaped like tests/support/real_etcd.py."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from pathlib import Path

from kemu.launcher.plan import EtcdMemberPlan as EtcdMember
from tests.support.procs import ProcessGroup, free_port, port_open, wait_for


def member_argv(m: EtcdMember, data_root: Path, initial: str, state: str = "new",
                extra_args: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "etcd_raft", "--name", m.name, "--data-dir", str(data_root / m.name),
            "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
            "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
            "--initial-cluster", initial, "--initial-cluster-state", state, "--initial-cluster-token", "kemu-test",
            "--heartbeat-interval", "100", "--election-timeout", "1000", *extra_args]


def start_etcd_raft(procs: ProcessGroup, data_root: Path, size: int = 3, extra_args: Sequence[str] = (),
                    prefix: str = "raft") -> list[EtcdMember]:
    members = [EtcdMember(f"{prefix}{i}", free_port(), free_port()) for i in range(size)]
    initial = ",".join(f"{m.name}={m.peer_url}" for m in members)
    for m in members:
        procs.start(m.name, member_argv(m, data_root, initial, extra_args=extra_args))
    for m in members:
        wait_for(functools.partial(port_open, m.client_port), timeout_s=30, what=f"etcd_raft {m.name}")
    return members
