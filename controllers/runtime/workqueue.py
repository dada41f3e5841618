"""A deduplicating work queue with per-item exponential retries and delayed adds (client-go's workqueue semantics).

Contracts:
- An item is in the queue at most once; adding an item that is being processed marks it dirty, and ``done``
  re-queues it, so one key is never handled by two workers at once and no change is lost.
- ``add_rate_limited`` delays by the item's failure count (``base_delay_s * 2**failures`` capped at
  ``max_delay_s``: 5 ms doubling to 1000 s by default, as client-go's ItemExponentialFailureRateLimiter);
  ``forget`` resets the count after a success.
- ``add_after`` schedules an add on the injected ``now`` clock; due items are moved in by ``get`` (which sleeps
  until the earliest deadline or a new add). The queue is bounded only by the number of distinct keys.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryConfig:
    base_delay_s: float = 0.005
    max_delay_s: float = 1000.0


class ExponentialRateLimiter:
    """Pure per-item failure counting: ``when(item)`` returns the next delay and counts a failure."""

    def __init__(self, cfg: RetryConfig = RetryConfig()) -> None:
        self.cfg = cfg
        self.failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        n = self.failures.get(item, 0)
        self.failures[item] = n + 1
        if n > 60:  # 2**60 * base is far beyond any cap; avoid float overflow
            return self.cfg.max_delay_s
        return float(min(self.cfg.base_delay_s * (2 ** n), self.cfg.max_delay_s))

    def num_requeues(self, item: Hashable) -> int:
        return self.failures.get(item, 0)

    def forget(self, item: Hashable) -> None:
        self.failures.pop(item, None)


class ShutDown(Exception):
    """``get`` on a queue that was shut down and drained."""


class WorkQueue:
    def __init__(self, retry: RetryConfig = RetryConfig(), now: Callable[[], float] = time.monotonic) -> None:
        self.limiter = ExponentialRateLimiter(retry)
        self.now = now
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._shutdown = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, item: Hashable) -> None:
        if self._shutdown or item in self._dirty:
            return
        self._dirty.add(item)
        if item not in self._processing:
            self._queue.append(item)
            self._wake.set()

    def add_after(self, item: Hashable, delay_s: float) -> None:
        if delay_s <= 0:
            self.add(item)
            return
        heapq.heappush(self._delayed, (self.now() + delay_s, next(self._seq), item))
        self._wake.set()

    def add_rate_limited(self, item: Hashable) -> None:
        self.add_after(item, self.limiter.when(item))

    def forget(self, item: Hashable) -> None:
        self.limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return self.limiter.num_requeues(item)

    def done(self, item: Hashable) -> None:
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake.set()

    def shutdown(self) -> None:
        self._shutdown = True
        self._wake.set()

    def _move_due(self) -> float | None:
        """Add due delayed items; return seconds until the next one (None if none pending)."""
        now = self.now()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, item = heapq.heappop(self._delayed)
            self.add(item)
        return (self._delayed[0][0] - now) if self._delayed else None

    def try_get(self) -> Hashable | None:
        """Non-blocking get (for tests and drains)."""
        self._move_due()
        if not self._queue:
            return None
        item = self._queue.popleft()
        self._dirty.discard(item)
        self._processing.add(item)
        return item

    async def get(self) -> Hashable:
        while True:
            wait_s = self._move_due()
            if self._queue:
                item = self._queue.popleft()
                self._dirty.discard(item)
                self._processing.add(item)
                return item
            if self._shutdown:
                raise ShutDown()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            except TimeoutError:
                pass
