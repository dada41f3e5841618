"""Per-key revision history (pure): every put and delete of a key, ordered by revision.

A key's history is a list of Entry(main, sub, kv) with kv None for a tombstone (a delete). The key exists at
revision r when its last entry with main <= r is not a tombstone. A put after a tombstone starts a new generation:
create_revision = that put's revision, version = 1. Compaction at c keeps, per key, only entries with main > c plus
the last entry with main <= c when it is a live value (so reads at c still work); tombstones at or below c go.
"""

from __future__ import annotations

import bisect

from etcd_raft.pb import kv_pb2


class Entry:
    """One revision of a key (treat as immutable). A plain slotted class: every put makes one, and a frozen
    dataclass cost four times as much to build."""

    __slots__ = ("kv", "main", "sub")

    def __init__(self, main: int, sub: int, kv: kv_pb2.KeyValue | None) -> None:
        self.main, self.sub = main, sub
        self.kv = kv            # None: tombstone

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and (self.main, self.sub, self.kv) == (other.main, other.sub, other.kv)

    def __repr__(self) -> str:
        return f"Entry({self.main}, {self.sub}, {self.kv!r})"


class KeyHistory:
    __slots__ = ("entries", "mains")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.mains: list[int] = []          # parallel to entries, for bisect

    def latest(self) -> kv_pb2.KeyValue | None:
        return self.entries[-1].kv if self.entries else None

    def at(self, rev: int) -> kv_pb2.KeyValue | None:
        i = bisect.bisect_right(self.mains, rev)
        return self.entries[i - 1].kv if i else None

    def append(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.mains.append(entry.main)

    def compact(self, rev: int) -> None:
        i = bisect.bisect_right(self.mains, rev)
        keep_from = i - 1 if i and self.entries[i - 1].kv is not None else i
        if keep_from > 0:
            del self.entries[:keep_from]
            del self.mains[:keep_from]

    def __bool__(self) -> bool:
        return bool(self.entries)
