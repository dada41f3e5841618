"""Controller expectations (client-go's ControllerExpectations), pure with an injected clock.

After a controller issues N creates (or deletes) for an owner it must not act on that owner again until its
informer has seen them, or it would create duplicates from a stale cache. ``expect`` records the counts;
informer events ``observe_add``/``observe_delete`` lower them; failed writes lower them too. ``satisfied`` is true
when both counts reached zero or the record is older than ``ttl_s`` (5 minutes, as client-go), so a lost event
cannot wedge an owner forever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Record:
    adds: int
    dels: int
    at: float
    deleted_uids: set[str]


class Expectations:
    def __init__(self, now: Callable[[], float], ttl_s: float = 300.0) -> None:
        self.now = now
        self.ttl_s = ttl_s
        self.records: dict[str, _Record] = {}

    def expect(self, key: str, adds: int = 0, deleted_uids: set[str] | None = None) -> None:
        uids = set(deleted_uids or ())
        self.records[key] = _Record(adds, len(uids), self.now(), uids)

    def observe_add(self, key: str) -> None:
        r = self.records.get(key)
        if r is not None and r.adds > 0:
            r.adds -= 1

    def observe_delete(self, key: str, uid: str = "") -> None:
        r = self.records.get(key)
        if r is None:
            return
        if uid:
            if uid in r.deleted_uids:
                r.deleted_uids.discard(uid)
                r.dels -= 1
        elif r.dels > 0:
            r.dels -= 1

    def satisfied(self, key: str) -> bool:
        r = self.records.get(key)
        if r is None:
            return True
        return bool((r.adds <= 0 and r.dels <= 0) or self.now() - r.at > self.ttl_s)

    def forget(self, key: str) -> None:
        self.records.pop(key, None)
