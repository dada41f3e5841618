"""Free loopback ports for clusters that tools start on the fly (benchmarks, experiments, drills)."""

from __future__ import annotations

import socket


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(n: int) -> tuple[int, ...]:
    """n ports p that are free on 127.0.0.1 with p + 1 free too (etcd members use client p, peer p + 1)."""
    ports: list[int] = []
    for _ in range(100 * n):
        if len(ports) == n:
            break
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if _bindable(port + 1) and all(abs(port - p) > 1 for p in ports):
            ports.append(port)
    if len(ports) < n:
        raise RuntimeError(f"could not find {n} free port pairs")
    return tuple(ports)
