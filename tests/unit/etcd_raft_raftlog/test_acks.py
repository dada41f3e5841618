"""AckMemory: only a repeated success acknowledgement, to the same leader in the same term, soon after the last one,
is redundant; anything that moves the leader's view, a new term, a lost connection or a quiet spell is sent."""

from __future__ import annotations

import pytest

from etcd_raft.raftlog.acks import AckMemory

pytestmark = pytest.mark.unit


def test_nothing_is_redundant_before_the_first_ack() -> None:
    assert not AckMemory(0.05).redundant("L", 3, 10, now=1.0)


def test_repeat_of_the_same_position_soon_after_is_redundant() -> None:
    m = AckMemory(0.05)
    m.sent("L", 3, 10, success=True, reset=False, now=1.0)
    assert m.redundant("L", 3, 10, now=1.01)
    assert m.redundant("L", 3, 9, now=1.01)          # older position: still nothing new
    assert not m.redundant("L", 3, 11, now=1.01)     # a newer position is news
    assert not m.redundant("L", 3, 10, now=1.06)     # quiet for quiet_s: answer (liveness)


def test_other_leader_or_term_is_not_redundant() -> None:
    m = AckMemory(0.05)
    m.sent("L", 3, 10, success=True, reset=False, now=1.0)
    assert not m.redundant("M", 3, 10, now=1.01)
    assert not m.redundant("L", 4, 10, now=1.01)


@pytest.mark.parametrize(("success", "reset", "next_idx"), [(False, False, 10), (True, True, 10), (True, False, None)])
def test_rejections_and_resets_clear_the_memory(success: bool, reset: bool, next_idx: int | None) -> None:
    m = AckMemory(0.05)
    m.sent("L", 3, 10, success=True, reset=False, now=1.0)
    m.sent("L", 3, next_idx, success=success, reset=reset, now=1.01)
    assert not m.redundant("L", 3, 10, now=1.02)


def test_forget_after_a_lost_connection() -> None:
    m = AckMemory(0.05)
    m.sent("L", 3, 10, success=True, reset=False, now=1.0)
    m.forget("L")
    assert not m.redundant("L", 3, 10, now=1.01)
