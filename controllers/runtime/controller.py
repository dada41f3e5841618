"""A controller: a work queue of keys, workers that call a reconcile function, retries with backoff.

``reconcile(key) -> float | None``: None means done (the item's failure count is forgotten); a number asks for
another look after that many seconds (timers such as progressDeadlineSeconds); an exception is logged and the key
is retried with the queue's exponential backoff. Handlers of informers only call ``enqueue``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

from controllers.runtime.workqueue import RetryConfig, ShutDown, WorkQueue

log = logging.getLogger(__name__)
Reconcile = Callable[[str], Awaitable[float | None]]


class Controller:
    def __init__(self, name: str, reconcile: Reconcile, workers: int = 2,
                 retry: RetryConfig = RetryConfig()) -> None:
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.queue = WorkQueue(retry)
        self.reconciles = 0
        self.errors = 0

    def enqueue(self, key: Hashable) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: Hashable, delay_s: float) -> None:
        self.queue.add_after(key, delay_s)

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                self.reconciles += 1
                again = await self.reconcile(str(key))
                self.queue.forget(key)
                if again is not None:
                    self.queue.add_after(key, again)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.errors += 1
                n = self.queue.num_requeues(key)
                (log.exception if n > 5 else log.info)("%s: reconcile %s failed (%d): %s", self.name, key, n, e)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    async def run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self.workers)))
