"""Watch semantics over the store's watch: initial state, selector transitions, bookmarks, 410 Gone.

- ``resourceVersion`` unset or "0": the current objects are sent first as ADDED, then changes after them.
- a specific RV: changes strictly after it; a compacted RV yields one ERROR event (Status 410 Expired) and ends,
  as kube-apiserver does (the HTTP response itself is 200).
- With selectors, an object that starts matching arrives as ADDED and one that stops matching as DELETED.
- ``allowWatchBookmarks``: the store's progress notifications become BOOKMARK events carrying only
  ``metadata.resourceVersion``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from apiserver import errors
from apiserver.api import Api, parse_rv
from apiserver.requestinfo import truthy
from apiserver.resources import Resource
from apiserver.storage import Expired, StoreUnavailable

Obj = dict[str, Any]


async def events(api: Api, r: Resource, ns: str, query: dict[str, str]) -> AsyncGenerator[tuple[str, Obj], None]:
    label_sel, field_sel = api.selectors(r, query)
    rv = query.get("resourceVersion", "")
    bookmarks = truthy(query.get("allowWatchBookmarks"))
    start = parse_rv(rv)
    if rv in ("", "0"):
        items, list_rv, _, _ = await api.list_objects(r, ns, {k: v for k, v in query.items()
                                                      if k in ("labelSelector", "fieldSelector")})
        for o in items:
            yield "ADDED", o
        start = int(list_rv)
    try:
        async for ev in api.storage.watch(r.list_prefix(ns), start, progress_notify=bookmarks):
            if ev.type == "PROGRESS":
                if bookmarks:
                    yield "BOOKMARK", {"kind": r.kind, "apiVersion": r.group_version,
                                       "metadata": {"resourceVersion": str(ev.revision)}}
                continue
            assert ev.obj is not None
            ev.obj = api.from_storage(r, ev.obj)
            if ev.prev is not None:
                ev.prev = api.from_storage(r, ev.prev)
            now_match = api.matches(r, ev.obj, label_sel, field_sel)
            if ev.type == "DELETED":
                if now_match:
                    yield "DELETED", ev.obj
                continue
            was_match = ev.prev is not None and api.matches(r, ev.prev, label_sel, field_sel)
            if ev.type == "ADDED" or ev.prev is None:
                if now_match:
                    yield "ADDED", ev.obj
            elif now_match and was_match:
                yield "MODIFIED", ev.obj
            elif now_match:
                yield "ADDED", ev.obj
            elif was_match:
                yield "DELETED", ev.obj
    except Expired as e:
        yield "ERROR", errors.gone(f"too old resource version: {start} ({e.compacted})").status()
    except StoreUnavailable as e:
        yield "ERROR", errors.storage_unavailable(str(e)).status()
