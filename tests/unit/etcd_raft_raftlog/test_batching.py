"""GroupCommit: lone proposals go at once, concurrent ones share batches, order and per-proposal results hold,
errors and timeouts settle every waiter once, and an unanswered batch cannot leak its window slot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from etcd_raft.raftlog.batching import GroupCommit

pytestmark = pytest.mark.unit

Done = Callable[[list[object] | None, int], None]


class Boom(Exception):
    pass


class FakeRaft:
    """Records submitted batches; the test decides when (and how) each one is answered."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[bytes], Done]] = []

    def submit(self, commands: list[bytes], done: Done) -> None:
        self.batches.append((list(commands), done))

    def answer(self, i: int, error: int = 0) -> None:
        commands, done = self.batches[i]
        done(None if error else [c.upper() for c in commands], error)


def settle(fut: asyncio.Future[object], result: object, error: int) -> None:
    if error:
        fut.set_exception(Boom(error))
    else:
        fut.set_result(result)


def make(max_inflight: int = 1) -> tuple[GroupCommit, FakeRaft]:
    raft = FakeRaft()
    return GroupCommit(asyncio.get_running_loop(), raft.submit, settle, TimeoutError, max_inflight), raft


async def turn() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_lone_proposal_goes_at_once() -> None:
    gc, raft = make()
    fut = gc.add(b"a", 5)
    await turn()
    assert [b for b, _ in raft.batches] == [[b"a"]]
    raft.answer(0)
    assert await fut == b"A"
    assert gc.inflight == 0


async def test_proposals_wait_for_the_window_and_go_together_in_order() -> None:
    gc, raft = make(max_inflight=1)
    first = gc.add(b"a", 5)
    await turn()
    later = [gc.add(bytes([c]), 5) for c in b"bcd"]
    await turn()
    assert len(raft.batches) == 1          # window full: b, c, d wait
    raft.answer(0)
    await turn()
    assert [b for b, _ in raft.batches] == [[b"a"], [b"b", b"c", b"d"]]
    raft.answer(1)
    assert await first == b"A"
    assert [await f for f in later] == [b"B", b"C", b"D"]


async def test_same_turn_proposals_share_a_batch() -> None:
    gc, raft = make(max_inflight=2)
    futs = [gc.add(b"x%d" % i, 5) for i in range(5)]
    await turn()
    assert [len(b) for b, _ in raft.batches] == [5]
    raft.answer(0)
    assert await asyncio.gather(*futs) == [b"X%d" % i for i in range(5)]


async def test_batch_error_fails_every_waiter() -> None:
    gc, raft = make()
    futs = [gc.add(b"a", 5), gc.add(b"b", 5)]
    await turn()
    raft.answer(0, error=3)
    for f in futs:
        with pytest.raises(Boom):
            await f
    assert gc.inflight == 0


async def test_unanswered_batch_times_out_and_frees_its_slot() -> None:
    gc, raft = make(max_inflight=1)
    stuck = gc.add(b"a", 0.05)
    await turn()
    waiting = gc.add(b"b", 5)
    with pytest.raises(TimeoutError):
        await stuck
    for _ in range(100):                 # the slot comes back after the timeout and b goes out
        if len(raft.batches) == 2:
            break
        await asyncio.sleep(0.01)
    assert [b for b, _ in raft.batches] == [[b"a"], [b"b"]]
    raft.answer(0)                        # a late answer neither double-settles nor double-frees
    raft.answer(1)
    assert await waiting == b"B"
    assert gc.inflight == 0


async def test_caller_that_gave_up_is_left_alone() -> None:
    gc, raft = make()
    fut = gc.add(b"a", 5)
    await turn()
    fut.cancel()
    raft.answer(0)
    assert fut.cancelled()
    assert gc.inflight == 0


async def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        GroupCommit(asyncio.get_running_loop(), FakeRaft().submit, settle, TimeoutError, 0)


def make_lingering(linger_s: float, min_batch: int) -> tuple[GroupCommit, FakeRaft]:
    raft = FakeRaft()
    return GroupCommit(asyncio.get_running_loop(), raft.submit, settle, TimeoutError, 1, linger_s, min_batch), raft


async def test_after_a_big_batch_the_next_one_lingers_and_gathers_more() -> None:
    gc, raft = make_lingering(0.05, 2)
    first = [gc.add(b"a", 5), gc.add(b"b", 5)]
    await turn()
    assert [b for b, _ in raft.batches] == [[b"a", b"b"]]      # nothing before it: at once
    waiting = gc.add(b"c", 5)
    raft.answer(0)
    await turn()
    assert len(raft.batches) == 1                              # the window is free, but c lingers ...
    late = gc.add(b"d", 5)
    for _ in range(100):
        if len(raft.batches) == 2:
            break
        await asyncio.sleep(0.01)
    assert [b for b, _ in raft.batches][1] == [b"c", b"d"]     # ... and d, arriving meanwhile, joins it
    raft.answer(1)
    assert await asyncio.gather(*first, waiting, late) == [b"A", b"B", b"C", b"D"]


async def test_after_a_small_batch_the_next_one_goes_at_once() -> None:
    gc, raft = make_lingering(5.0, 2)       # a linger would outlast the test
    first = gc.add(b"a", 5)
    await turn()
    second = gc.add(b"b", 5)
    raft.answer(0)
    await turn()
    assert [b for b, _ in raft.batches] == [[b"a"], [b"b"]]
    raft.answer(1)
    assert [await first, await second] == [b"A", b"B"]
