"""Event recorder: core/v1 Events with count/firstTimestamp/lastTimestamp aggregation, as client-go's recorder.

Pure part (``EventCorrelator``): an event is identified by (source component, involved object, type, reason,
message); the first occurrence is created as ``<object name>.<unix nanos in hex>``, repeats within the cache
become a patch of ``count`` and ``lastTimestamp`` on that same Event. The cache is an LRU bounded to
``max_keys`` entries (client-go keeps 4096).

I/O part (``EventRecorder``): ``emit`` never blocks and never raises (a full buffer drops the event, as the real
broadcaster does); a background task writes to the apiserver, falling back to create when a patched Event is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kemu.api.meta import format_time
from kemu.rest import EVENTS, TRANSPORT_ERRORS, NotFound, RestClient

log = logging.getLogger(__name__)
Obj = dict[str, Any]


def object_reference(obj: Obj, field_path: str = "") -> Obj:
    meta = obj.get("metadata") or {}
    ref: Obj = {"kind": obj.get("kind", ""), "apiVersion": obj.get("apiVersion", ""), "name": meta.get("name", ""),
                "uid": meta.get("uid", ""), "resourceVersion": meta.get("resourceVersion", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


@dataclass(frozen=True)
class Write:
    action: str  # create | patch
    namespace: str
    name: str
    body: Obj


class EventCorrelator:
    def __init__(self, component: str, host: str = "", max_keys: int = 4096) -> None:
        self.component = component
        self.host = host
        self.max_keys = max_keys
        self.seen: OrderedDict[tuple[Any, ...], tuple[str, int, str]] = OrderedDict()  # key -> (name, count, first)

    def record(self, ref: Obj, type_: str, reason: str, message: str, now: datetime) -> Write:
        ns = ref.get("namespace") or "default"
        key = (self.component, self.host, ref.get("kind"), ns, ref.get("name"), ref.get("uid"),
               ref.get("fieldPath"), type_, reason, message)
        stamp = format_time(now)
        prev = self.seen.get(key)
        if prev is not None:
            name, count, first = prev
            self.seen[key] = (name, count + 1, first)
            self.seen.move_to_end(key)
            return Write("patch", ns, name, {"count": count + 1, "lastTimestamp": stamp, "message": message})
        ts = now if now.tzinfo else now.replace(tzinfo=UTC)
        nanos = int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000
        name = f"{ref.get('name', '')}.{nanos:x}"
        self.seen[key] = (name, 1, stamp)
        while len(self.seen) > self.max_keys:
            self.seen.popitem(last=False)
        source: Obj = {"component": self.component}
        if self.host:
            source["host"] = self.host
        body: Obj = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
                     "involvedObject": ref, "reason": reason, "message": message, "source": source,
                     "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1, "type": type_,
                     "eventTime": None, "reportingComponent": self.component, "reportingInstance": self.host}
        return Write("create", ns, name, body)

    def forget(self, w: Write) -> None:
        for k, (name, _, _) in list(self.seen.items()):
            if name == w.name:
                del self.seen[k]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EventRecorder:
    def __init__(self, client: RestClient, component: str, host: str = "", buffer: int = 1000,
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.client = client
        self.correlator = EventCorrelator(component, host)
        self.now = now
        self.queue: asyncio.Queue[Write] = asyncio.Queue(maxsize=buffer)
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def emit(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        w = self.correlator.record(object_reference(obj), type_, reason, message, self.now())
        try:
            self.queue.put_nowait(w)
        except asyncio.QueueFull:
            self.dropped += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _write(self, w: Write) -> None:
        if w.action == "patch":
            try:
                await self.client.patch(EVENTS, w.name, w.body, w.namespace)
                return
            except NotFound:
                self.correlator.forget(w)
                return
        await self.client.create(EVENTS, w.body, w.namespace)

    async def _drain(self) -> None:
        while True:
            w = await self.queue.get()
            try:
                await self._write(w)
            except TRANSPORT_ERRORS as e:  # events are best effort, as in Kubernetes
                log.info("event %s/%s not written: %s", w.namespace, w.name, e)

    async def flush(self, timeout_s: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.queue.empty() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
