"""A drill's timeline and the numbers derived from it (pure: no clocks, no I/O).

Times are seconds on one monotonic clock, relative to the drill's start. The drill runner appends:
- Marks: what the drill did or saw (`fault` injected, `heal`ed, a member's view of the `leader`, `node_not_ready`,
  `pods_rescheduled`, ...);
- Ops: every client request of the background workloads, with call and return time and outcome
  ("ok", "fail" = definitely not applied, "unknown" = may or may not have been applied).

From these the metrics of the drill report follow: time to detect, time to a new leader, the write-unavailability
window (the longest stretch without a successful write that overlaps the fault), failed requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise


@dataclass(frozen=True)
class Mark:
    t: float
    kind: str          # fault | heal | leader | no_leader | node_not_ready | pods_rescheduled | note
    detail: str = ""


@dataclass(frozen=True)
class Op:
    client: str        # which workload: "store", "api", "service"
    kind: str          # write | read
    call: float
    ret: float
    outcome: str       # ok | fail | unknown
    error: str = ""    # why it failed, when known (e.g. "refused", "timeout"): tells a dead backend from a lost path


@dataclass
class Timeline:
    marks: list[Mark] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)

    def mark(self, t: float, kind: str, detail: str = "") -> None:
        self.marks.append(Mark(t, kind, detail))

    def first(self, kind: str, after: float = float("-inf"), detail: str | None = None) -> Mark | None:
        found = [m for m in self.marks if m.kind == kind and m.t >= after and (detail is None or m.detail == detail)]
        return min(found, key=lambda m: m.t) if found else None

    def fault_time(self) -> float | None:
        fault = self.first("fault")
        return fault.t if fault else None


def time_to_new_leader(tl: Timeline, old_leader: str) -> float | None:
    """Fault -> first observation of a leader other than old_leader."""
    fault = tl.fault_time()
    if fault is None:
        return None
    seen = [m for m in tl.marks if m.kind == "leader" and m.t >= fault and m.detail != old_leader]
    return min(m.t for m in seen) - fault if seen else None


def time_to_detect(tl: Timeline, old_leader: str) -> float | None:
    """Fault -> the first moment a surviving member stops following old_leader (no leader, or another one)."""
    fault = tl.fault_time()
    if fault is None:
        return None
    seen = [m for m in tl.marks if m.t >= fault and (m.kind == "no_leader" or
                                                      (m.kind == "leader" and m.detail != old_leader))]
    return min(m.t for m in seen) - fault if seen else None


def write_unavailability(tl: Timeline, client: str) -> float:
    """The longest stretch without a successful write completion that the fault caused: over the gaps between
    consecutive successful completions (the first gap starting at the fault when none succeeded before it), the
    longest one that ends after the fault and starts before the heal (or before the end of the drill without a
    heal); inf if writes never came back. A write already in flight at the fault may still complete just after it:
    the gap that follows it is the one that counts, not the short one it closes."""
    fault = tl.fault_time()
    if fault is None:
        return 0.0
    heal = tl.first("heal", after=fault)
    until = heal.t if heal else float("inf")
    oks = sorted(op.ret for op in tl.ops if op.client == client and op.kind == "write" and op.outcome == "ok")
    after = [t for t in oks if t > fault]
    if not after:
        return float("inf")
    before = [t for t in oks if t <= fault]
    points = [before[-1] if before else fault, *after]
    gaps = [b - a for a, b in pairwise(points) if a < until]
    return max(gaps) if gaps else 0.0


def failed_requests(tl: Timeline, client: str) -> tuple[int, int]:
    """(failed or unknown, total) requests of a workload."""
    ops = [op for op in tl.ops if op.client == client]
    return sum(op.outcome != "ok" for op in ops), len(ops)
