"""Linearizability of a key-value history (pure): a Wing-Gong search with memoization, per key (P-compositionality).

A history is a list of client operations, each with its call and return time (one monotonic clock) and outcome:
- put(key, value): "ok", "fail" (definitely not applied: dropped from the history) or "unknown" (timed out: it may
  or may not have taken effect, at any point after its call -- so it may be linearized anywhere after its call, or
  not at all);
- get(key) -> value or None: "ok" only (a failed read tells nothing).
The history is linearizable when, for every key, the operations can be put in one order that respects real time
(an operation that returned before another was called comes first) in which every get returns the latest put.

The search explores, depth first, which pending operation takes effect next: any operation called before the
earliest return among the pending ones. (set of done operations, register value) states already seen are skipped.
A step budget bounds the search; running out gives Verdict "unknown", never a hang.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Op:
    client: str
    kind: str                    # put | get
    key: str
    value: str | None            # put: the value written; get: the value read (None = absent)
    call: float
    ret: float                   # math.inf when the outcome is unknown
    outcome: str                 # ok | fail | unknown


@dataclass
class Verdict:
    ok: bool | None              # None: the search ran out of budget
    keys_checked: int = 0
    operations: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.ok:
            return f"linearizable ({self.operations} operations on {self.keys_checked} keys)"
        if self.ok is None:
            return "unknown (search budget exhausted): " + "; ".join(self.failures)
        return "NOT linearizable: " + "; ".join(self.failures)


def check_history(ops: list[Op], initial: dict[str, str | None] | None = None,
                  budget_per_key: int = 2_000_000) -> Verdict:
    by_key: dict[str, list[Op]] = defaultdict(list)
    for op in ops:
        if op.outcome == "fail" or (op.kind == "get" and op.outcome != "ok"):
            continue                               # no effect, or nothing observed
        by_key[op.key].append(op if op.outcome == "ok" else Op(op.client, op.kind, op.key, op.value, op.call,
                                                                math.inf, "unknown"))
    verdict = Verdict(ok=True)
    for key in sorted(by_key):
        key_ops = sorted(by_key[key], key=lambda o: o.call)
        verdict.keys_checked += 1
        verdict.operations += len(key_ops)
        result = _check_key(key_ops, (initial or {}).get(key), budget_per_key)
        if result is not True:
            verdict.failures.append(_explain(key, key_ops, result))
            if verdict.ok is not False:
                verdict.ok = False if result is False else None
    return verdict


def _check_key(ops: list[Op], initial: str | None, budget: int) -> bool | None:
    n = len(ops)
    must = sum(1 << i for i, op in enumerate(ops) if op.outcome == "ok")   # ops that must take effect
    seen: set[tuple[int, str | None]] = set()
    steps = 0
    stack: list[tuple[int, str | None]] = [(0, initial)]
    while stack:
        done, value = stack.pop()
        if done & must == must:
            return True
        steps += 1
        if steps > budget:
            return None
        pending = [i for i in range(n) if not done >> i & 1]
        horizon = min((ops[i].ret for i in pending), default=math.inf)
        for i in reversed(pending):
            op = ops[i]
            if op.call > horizon:
                continue                        # someone pending returned before this one was called
            bit = 1 << i
            if op.kind == "put":
                nxt = (done | bit, op.value)
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
                if op.outcome == "unknown":    # or it never took effect
                    skip = (done | bit, value)
                    if skip not in seen:
                        seen.add(skip)
                        stack.append(skip)
            elif op.value == value:
                nxt = (done | bit, value)
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    return False


def _explain(key: str, ops: list[Op], result: bool | None) -> str:
    if result is None:
        return f"key {key}: {len(ops)} operations, undecided"
    writes = {op.value for op in ops if op.kind == "put"}
    bad_reads = [op for op in ops if op.kind == "get" and op.value is not None and op.value not in writes]
    if bad_reads:
        op = bad_reads[0]
        return f"key {key}: read {op.value!r} at {op.call:.3f}s that no put wrote"
    return f"key {key}: no order of its {len(ops)} operations explains every read (e.g. a stale read or lost write)"
