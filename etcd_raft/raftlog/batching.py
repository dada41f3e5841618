"""Group commit for proposals: many concurrent proposals share one Raft entry (pure: no Raft, no threads).

A member gives Raft at most `max_inflight` batches at a time. A proposal that arrives while the window is full
waits in the queue; when a batch is answered, everything queued goes as the next batch. So a lone proposal goes
out at once (no added latency), and under many concurrent clients a batch grows to what arrives during one commit
round: one command, one forward to the leader, one journal write and replication round, one wake-up of the event
loop for all the results.

Under load a member lingers: when the window frees and the previous batch held at least `linger_min_batch`
proposals, the next batch goes out `linger_s` later instead of on the next loop turn. The clients answered by the
previous batch send their next requests over the following milliseconds; without the linger the first of them
went alone (or nearly) and the rest waited a whole round, so rounds stayed small and every round costs every
member messages, a journal fsync and several thread wake-ups. A lone proposal, or a trickle of small batches,
never lingers (at most the first batch after a burst does).

Contracts:
- order: proposals are submitted in the order they were added (batches in order, commands in order in a batch);
- every proposal's future is settled exactly once: with its own result from the batch, the batch's error, or by
  its own deadline (ProposalTimeout, from one shared timer armed at the earliest deadline); a future already done
  (its caller gave up) is left alone;
- a batch that is never answered (Raft may never apply an entry this member proposed, e.g. when cut off from the
  leader) frees its slot after the timeout, so the window cannot leak.
Runs on one asyncio loop; `submit` gets a callback that must be called on that loop (the caller bridges threads).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# submit(commands, done): hand one batch to Raft; done(results, error) later, on the loop: results[i] belongs to
# commands[i] (None when the batch failed as a whole) and error is the caller's error code (0 = success).
Submit = Callable[[list[bytes], Callable[[list[object] | None, int], None]], None]
# settle(future, result, error): resolve one waiter from a batch's outcome.
Settle = Callable[["asyncio.Future[object]", object, int], None]


class GroupCommit:
    def __init__(self, loop: asyncio.AbstractEventLoop, submit: Submit, settle: Settle,
                 timeout_error: Callable[[], Exception], max_inflight: int = 2, linger_s: float = 0.0,
                 linger_min_batch: int = 2) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self._loop, self._submit, self._settle = loop, submit, settle
        self._timeout_error = timeout_error
        self.max_inflight = max_inflight
        self.linger_s, self.linger_min_batch = linger_s, linger_min_batch
        self._last_size = 0                # proposals in the previous batch
        self.inflight = 0
        self.batches = 0                   # submitted so far (for tests and stats)
        self._queue: list[tuple[bytes, asyncio.Future[object]]] = []
        self._scheduled = False
        self._deadlines: list[tuple[float, asyncio.Future[object]]] = []   # waiters not yet swept
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_at: float | None = None

    def add(self, command: bytes, timeout_s: float) -> asyncio.Future[object]:
        """Queue one command; the returned future resolves to its result or fails (ProposalTimeout at timeout_s
        or the batch's error)."""
        loop = self._loop
        done: asyncio.Future[object] = loop.create_future()
        self._queue.append((command, done))
        # One timer for all waiters (armed at the earliest deadline), not a timer per proposal: at thousands of
        # proposals per second the per-proposal timer, its done-callback and its cancel were measurable.
        deadline = loop.time() + timeout_s
        self._deadlines.append((deadline, done))
        if self._sweep_at is None or deadline < self._sweep_at:
            self._arm(deadline)
        self._schedule(timeout_s)
        return done

    def _arm(self, when: float) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._sweep_at = when
        self._sweeper = self._loop.call_at(when, self._sweep)

    def _sweep(self) -> None:
        """Fail every waiter whose deadline passed; re-arm for the earliest one still waiting."""
        self._sweeper = self._sweep_at = None
        now = self._loop.time()
        waiting = []
        for deadline, fut in self._deadlines:
            if fut.done():
                continue
            if deadline <= now:
                fut.set_exception(self._timeout_error())
            else:
                waiting.append((deadline, fut))
        self._deadlines = waiting
        if waiting:
            self._arm(min(d for d, _ in waiting))

    def _schedule(self, timeout_s: float) -> None:
        # Flush on the next loop turn, not now: proposals made in this turn join the batch; under load, later.
        if self._queue and not self._scheduled and self.inflight < self.max_inflight:
            self._scheduled = True
            if self.linger_s > 0 and self._last_size >= self.linger_min_batch:
                self._loop.call_later(self.linger_s, self._flush, timeout_s)
            else:
                self._loop.call_soon(self._flush, timeout_s)

    def _flush(self, timeout_s: float) -> None:
        self._scheduled = False
        if not self._queue or self.inflight >= self.max_inflight:
            return
        batch, self._queue = self._queue, []
        self._last_size = len(batch)
        futures = [done for _, done in batch]
        self.inflight += 1
        self.batches += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.inflight -= 1
                self._schedule(timeout_s)

        give_up = self._loop.call_later(timeout_s, release)

        def finish(results: list[object] | None, error: int) -> None:
            give_up.cancel()
            for i, fut in enumerate(futures):
                if not fut.done():
                    self._settle(fut, results[i] if results is not None else None, error)
            release()

        self._submit([command for command, _ in batch], finish)
