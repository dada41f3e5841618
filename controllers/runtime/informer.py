"""List + watch informer: keeps a Cache in sync with the apiserver and tells handlers about every change.

Loop: list (all pages) -> ``Cache.replace`` (handlers see the diff) -> watch from the list's resourceVersion,
folding events in and remembering the latest RV (bookmarks too). When the stream ends (server timeout) it
re-watches from that RV; on 410 Gone it relists; on other errors it backs off (``backoff_s`` doubling to
``max_backoff_s``) and relists. ``synced`` is set after the first successful list. Handlers must be cheap
(they only enqueue keys: style rule 4); an exception in a handler is logged, never kills the informer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from controllers.runtime.cache import Cache, Event, IndexFunc
from kemu.rest import Gone, Resource, RestClient

log = logging.getLogger(__name__)
Obj = dict[str, Any]
Handler = Callable[[str, Obj | None, Obj | None], None]


class Informer:
    def __init__(self, client: RestClient, res: Resource, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 indexers: dict[str, IndexFunc] | None = None, watch_timeout_s: int = 300,
                 backoff_s: float = 0.2, max_backoff_s: float = 10.0) -> None:
        self.client = client
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.cache = Cache(indexers)
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()
        self.watch_timeout_s = watch_timeout_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.last_rv = ""
        self.relists = 0

    def add_handler(self, h: Handler) -> None:
        self.handlers.append(h)

    def _emit(self, ev: Event) -> None:
        typ, old, new = ev
        for h in self.handlers:
            try:
                h(typ, old, new)
            except Exception:  # a handler bug must not stop the informer; it is still loud in the log
                log.exception("informer %s handler failed", self.res.resource)

    async def _list(self) -> None:
        items, rv = await self.client.list_all(self.res, self.namespace, self.label_selector, self.field_selector)
        for ev in self.cache.replace(items):
            self._emit(ev)
        self.last_rv = rv
        self.relists += 1
        self.synced.set()

    async def _watch(self) -> None:
        async for typ, obj in self.client.watch(self.res, self.namespace, self.last_rv, self.label_selector,
                                                self.field_selector, timeout_seconds=self.watch_timeout_s):
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv:
                self.last_rv = str(rv)
            ev = self.cache.apply(typ, obj)
            if ev is not None:
                self._emit(ev)

    async def run(self) -> None:
        delay = self.backoff_s
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                await self._watch()
                delay = self.backoff_s  # a clean end of stream: rewatch from last_rv at once
            except Gone:
                need_list = True
            except asyncio.CancelledError:
                raise
            except Exception as e:  # connection refused, apiserver restart, 5xx: back off and relist
                log.warning("informer %s: %s; retrying in %.1fs", self.res.resource, e, delay)
                need_list = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
