"""etcd's key-range conventions (pure): [key, range_end) with the special forms etcd clients send.

- range_end empty: just `key`;
- range_end == b"\\0": every key >= key (with key == b"\\0" too: every key);
- otherwise the half-open interval [key, range_end) (a prefix query sends range_end = prefix + 1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyRange:
    start: bytes
    end: bytes | None      # None: unbounded above; equal to start + b"\0"... single keys use `single`
    single: bool

    def contains(self, key: bytes) -> bool:
        if self.single:
            return key == self.start
        return key >= self.start and (self.end is None or key < self.end)


def key_range(key: bytes, range_end: bytes) -> KeyRange:
    if not range_end:
        return KeyRange(key, None, True)
    if range_end == b"\0":
        return KeyRange(b"" if key == b"\0" else key, None, False)
    return KeyRange(key, range_end, False)


def overlaps(a: KeyRange, b: KeyRange) -> bool:
    if a.single:
        return b.contains(a.start)
    if b.single:
        return a.contains(b.start)
    a_below_b = a.end is not None and a.end <= b.start
    b_below_a = b.end is not None and b.end <= a.start
    return not (a_below_b or b_below_a)
