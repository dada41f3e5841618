"""Watchers over the store's event history (pure; the server drains them from its event loop).

Contracts (etcd's):
- A watcher receives, for each revision >= its start revision, the events of that revision that fall in its key
  range (minus filtered types), as one batch, in revision order, with no gaps and no duplicates.
- start_revision 0 means "from the next revision". A start below the compaction revision cannot be served: such a
  watcher is created canceled, with compact_revision set, so the client knows to re-list.
- Apply never blocks on a watcher: a watcher whose buffer is full stops receiving live events ("unsynced") and
  catches up from the history when drained; if compaction overtakes it first, it is canceled with compact_revision.
- on_ready, if set, is called (from apply, synchronously) whenever a watcher has something to drain, so an async
  server can wake its sender thread-safely.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from etcd_raft.mvcc.changes import Change
from etcd_raft.mvcc.ranges import key_range
from etcd_raft.pb import kv_pb2

if TYPE_CHECKING:
    from etcd_raft.mvcc.store import Store

NOPUT, NODELETE = 0, 1
DEFAULT_BUFFER_REVISIONS = 1024


class Watcher:
    def __init__(self, hub: WatchHub, wid: int, key: bytes, range_end: bytes, next_rev: int, prev_kv: bool,
                 filters: set[int], progress_notify: bool, buffer_revisions: int) -> None:
        self.hub, self.id = hub, wid
        self.key, self.range_end = key, range_end
        self.range = key_range(key, range_end)
        self.next_rev = next_rev              # the next revision this watcher must see
        self.prev_kv, self.filters, self.progress_notify = prev_kv, filters, progress_notify
        self.buffer: deque[tuple[int, list[kv_pb2.Event]]] = deque()
        self.buffer_revisions = buffer_revisions
        self.synced = True
        self.canceled = False
        self.compact_revision = 0
        self.on_ready: Callable[[], None] | None = None

    def _select(self, changes: list[Change]) -> list[kv_pb2.Event]:
        out = []
        for ch in changes:
            if not self.range.contains(ch.kv.key):
                continue
            if (ch.type == kv_pb2.Event.PUT and NOPUT in self.filters) or (
                    ch.type == kv_pb2.Event.DELETE and NODELETE in self.filters):
                continue
            # etcd: a compacted previous version is not returned
            keep_prev = (self.prev_kv and ch.prev_kv is not None
                         and ch.prev_kv.mod_revision >= self.hub.store.compact_revision)
            out.append(ch.event(keep_prev))
        return out

    def _offer(self, rev: int, events: list[Change]) -> bool:
        """Live delivery from apply; False when the watcher must catch up from history instead."""
        if not self.synced or self.canceled or rev != self.next_rev:
            return False
        if len(self.buffer) >= self.buffer_revisions:
            self.synced = False
            return False
        selected = self._select(events)
        if selected:
            self.buffer.append((rev, selected))
        self.next_rev = rev + 1
        return bool(selected)

    @property
    def has_pending(self) -> bool:
        return bool(self.buffer) or (not self.synced and not self.canceled) or (
            self.canceled and self.compact_revision > 0)

    def drain(self, max_revisions: int = 256) -> list[tuple[int, list[kv_pb2.Event]]]:
        """Up to max_revisions batches (revision, events) in order. Catches up an unsynced watcher from history."""
        out: list[tuple[int, list[kv_pb2.Event]]] = []
        while self.buffer and len(out) < max_revisions:
            out.append(self.buffer.popleft())
        if not self.synced and not self.canceled and len(out) < max_revisions:
            store = self.hub.store
            if self.next_rev < store.compact_revision:
                self.canceled, self.compact_revision = True, store.compact_revision
                return out
            for rev, events in store.events_between(self.next_rev, store.revision):
                if len(out) >= max_revisions:
                    break
                selected = self._select(events)
                if selected:
                    out.append((rev, selected))
                self.next_rev = rev + 1
            else:
                self.next_rev = store.revision + 1
                self.synced = True
        return out

    def cancel(self) -> None:
        self.hub.cancel(self)


class WatchHub:
    def __init__(self, store: Store, buffer_revisions: int = DEFAULT_BUFFER_REVISIONS) -> None:
        self.store = store
        self.buffer_revisions = buffer_revisions
        self.watchers: dict[int, Watcher] = {}
        self._ids = itertools.count(1)

    def create(self, key: bytes, range_end: bytes = b"", start_revision: int = 0, prev_kv: bool = False,
               filters: list[int] | tuple[int, ...] = (), progress_notify: bool = False) -> Watcher:
        current = self.store.revision
        start = start_revision if start_revision > 0 else current + 1
        w = Watcher(self, next(self._ids), key, range_end, start, prev_kv, set(filters), progress_notify,
                    self.buffer_revisions)
        if start_revision > 0 and start_revision < self.store.compact_revision:
            w.canceled, w.compact_revision = True, self.store.compact_revision
            return w
        w.synced = start > current
        self.watchers[w.id] = w
        return w

    def cancel(self, w: Watcher) -> None:
        self.watchers.pop(w.id, None)
        w.canceled = True

    def notify(self, rev: int, events: list[Change]) -> None:
        if not self.watchers:
            return
        for w in list(self.watchers.values()):
            delivered = w._offer(rev, events)
            if (delivered or not w.synced) and w.on_ready is not None:
                w.on_ready()

    def on_compact(self, revision: int) -> None:
        for w in list(self.watchers.values()):
            if not w.synced and w.next_rev < revision and not w.buffer:
                w.canceled, w.compact_revision = True, revision
                self.watchers.pop(w.id, None)
                if w.on_ready is not None:
                    w.on_ready()

    def progress_revision(self) -> int:
        return self.store.revision
