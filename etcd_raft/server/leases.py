"""Lease deadlines, kept by whoever leads (pure; the clock is injected).

Only TTLs and attached keys are replicated. When a lease expires is local knowledge of the leader: it refreshes
every lease to a full TTL when it becomes leader (etcd's "promote", so a leader change never expires leases early),
extends one on each keep-alive, and proposes a revoke for each lease whose deadline passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def min_ttl_s(election_timeout_s: float) -> int:
    """etcd's minimum lease TTL: 1.5 election timeouts, rounded up to whole seconds."""
    return max(1, math.ceil(1.5 * election_timeout_s))


class LeaseClock:
    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.deadlines: dict[int, float] = {}

    def promote(self, ttls: dict[int, int]) -> None:
        t = self.now()
        self.deadlines = {lease_id: t + ttl for lease_id, ttl in ttls.items()}

    def granted(self, lease_id: int, ttl_s: int) -> None:
        self.deadlines[lease_id] = self.now() + ttl_s

    def keep_alive(self, lease_id: int, ttl_s: int) -> None:
        self.deadlines[lease_id] = self.now() + ttl_s

    def forget(self, lease_id: int) -> None:
        self.deadlines.pop(lease_id, None)

    def remaining_s(self, lease_id: int, ttl_s: int) -> int:
        deadline = self.deadlines.get(lease_id)
        if deadline is None:
            return ttl_s
        return max(0, math.ceil(deadline - self.now()))

    def expired(self, known: set[int]) -> list[int]:
        t = self.now()
        for lease_id in list(self.deadlines):
            if lease_id not in known:
                del self.deadlines[lease_id]
        return sorted(i for i, d in self.deadlines.items() if d <= t)
