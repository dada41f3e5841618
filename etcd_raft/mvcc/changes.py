"""One stored event (pure): what a write did to one key, kept as references to the store's own KeyValues.

The store records a Change per key written (type, the new KeyValue -- a tombstone with only key and mod_revision
for a delete -- and the previous KeyValue, or None) and keeps them per revision for watchers. Building etcd's Event
message copies both KeyValues, and that was the costliest step of a put; a Change costs a few references, and the
Event is built only for a watcher that receives it (event()). KeyValues held by a Change are never mutated.
"""

from __future__ import annotations

from etcd_raft.pb import kv_pb2

PUT, DELETE = kv_pb2.Event.PUT, kv_pb2.Event.DELETE


class Change:
    __slots__ = ("kv", "prev_kv", "type")

    def __init__(self, type_: int, kv: kv_pb2.KeyValue, prev_kv: kv_pb2.KeyValue | None) -> None:
        self.type, self.kv, self.prev_kv = type_, kv, prev_kv

    def event(self, with_prev: bool = True) -> kv_pb2.Event:
        """etcd's Event for this change (with the previous KeyValue when asked and known)."""
        ev = kv_pb2.Event(type=self.type, kv=self.kv)  # type: ignore[arg-type]
        if with_prev and self.prev_kv is not None:
            ev.prev_kv.CopyFrom(self.prev_kv)
        return ev

    def to_bytes(self) -> bytes:
        return self.event().SerializeToString()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Change:
        ev = kv_pb2.Event.FromString(raw)
        return cls(ev.type, ev.kv, ev.prev_kv if ev.HasField("prev_kv") else None)
