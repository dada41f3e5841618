"""Raft §5.3 on incoming AppendEntries: truncate only at the first conflicting entry, never matching ones."""

from __future__ import annotations

import pytest

from etcd_raft.raftlog.trim import AppendPlan, plan_append

pytestmark = pytest.mark.unit

LOCAL = [(5, 1), (6, 1), (7, 2), (8, 2)]     # the follower holds 5..8 (5 = prevLogIdx)


@pytest.mark.parametrize(("local", "prev", "new", "plan"), [
    # stale message: every entry is already here and the log goes on -> keep everything (pysyncobj would cut 7, 8)
    (LOCAL, (5, 1), [(6, 1)], AppendPlan(6, 1, 1, True)),
    # heartbeat with an old prevLogIdx -> nothing to truncate
    (LOCAL, (5, 1), [], AppendPlan(5, 1, 0, True)),
    # overlap then extension: skip the known prefix, append the rest after 8
    (LOCAL, (5, 1), [(6, 1), (7, 2), (8, 2), (9, 2)], AppendPlan(8, 2, 3, False)),
    # a real conflict at 7 (term 3 vs 2): truncate from 7, as Raft requires
    (LOCAL, (5, 1), [(6, 1), (7, 3)], AppendPlan(6, 1, 1, False)),
    # exact tail: all match and nothing beyond -> nothing held, nothing to do
    (LOCAL, (5, 1), [(6, 1), (7, 2), (8, 2)], AppendPlan(8, 2, 3, False)),
    # prevLogTerm mismatch or missing prev: left to pysyncobj's own rejection
    (LOCAL, (5, 9), [(6, 1)], AppendPlan(5, 9, 0, False)),
    ([], (5, 1), [(6, 1)], AppendPlan(5, 1, 0, False)),
])
def test_plan(local: list[tuple[int, int]], prev: tuple[int, int], new: list[tuple[int, int]],
              plan: AppendPlan) -> None:
    assert plan_append(local, prev[0], prev[1], new) == plan


def _apply(log: list[tuple[int, int]], prev: tuple[int, int], new: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """What the adapter makes pysyncobj do: truncate after the (moved) prev unless held, then append the rest."""
    at = next(i for i, e in enumerate(log) if e[0] == prev[0])
    plan = plan_append(log[at:], prev[0], prev[1], new)
    if plan.hold:
        return log
    cut = next(i for i, e in enumerate(log) if e[0] == plan.prev_idx)
    return log[: cut + 1] + new[plan.skip:]


def test_replaying_overlapping_messages_never_drops_acknowledged_entries() -> None:
    leader = [(i, 1) for i in range(1, 21)]
    follower = [(1, 1)]
    # the leader's messages arrive duplicated and out of order, each carrying a window of entries
    for lo, hi in [(0, 5), (0, 10), (3, 8), (5, 15), (0, 4), (10, 20), (2, 6), (15, 20), (0, 20)]:
        before = follower
        follower = _apply(follower, leader[lo], leader[lo + 1: hi])
        assert follower[: len(before)] == before, (lo, hi)     # nothing the follower held is ever dropped
        assert leader[: len(follower)] == follower
    assert follower == leader
