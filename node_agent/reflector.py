"""List + watch one collection into a local map, relisting on 410 Gone or a broken stream (client-go's Reflector).

``items`` maps "namespace/name" to the latest object. ``on_change`` is called (no arguments) after the initial
list and after every applied event; consumers recompute from ``items`` (level-triggered, so a missed
intermediate state never matters). Back-off between relists doubles from 0.2 s to 5 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from node_agent.kubelet.apiclient import ApiClient, ApiError

log = logging.getLogger(__name__)


def _key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


class Reflector:
    def __init__(self, api: ApiClient, path: str, on_change: Callable[[], None],
                 params: Mapping[str, str] | None = None, watch_timeout_s: int = 300) -> None:
        self.api = api
        self.path = path
        self.params = dict(params or {})
        self.on_change = on_change
        self.items: dict[str, dict[str, Any]] = {}
        self.synced = asyncio.Event()
        self.watch_timeout_s = watch_timeout_s

    async def run(self) -> None:
        delay = 0.2
        while True:
            try:
                listed = await self.api.get(self.path, self.params)
                self.items = {_key(o): o for o in listed.get("items") or []}
                self.synced.set()
                self.on_change()
                rv = listed["metadata"]["resourceVersion"]
                delay = 0.2
                while True:
                    async for typ, obj in self.api.watch(self.path, {**self.params, "resourceVersion": rv,
                                                                     "timeoutSeconds": str(self.watch_timeout_s)}):
                        rv = (obj.get("metadata") or {}).get("resourceVersion", rv)
                        if typ == "BOOKMARK":
                            continue
                        if typ == "DELETED":
                            self.items.pop(_key(obj), None)
                        else:
                            self.items[_key(obj)] = obj
                        self.on_change()
            except asyncio.CancelledError:
                raise
            except (ApiError, aiohttp.ClientError, OSError, TimeoutError, KeyError, ValueError) as e:
                log.warning("%s: %s; relisting in %.1fs", self.path, e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
